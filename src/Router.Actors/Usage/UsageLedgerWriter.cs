using System.Collections.Concurrent;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Router.Actors.Usage;

/// <summary>Tuning of the <see cref="UsageLedgerWriter"/>.</summary>
public sealed record UsageLedgerWriterOptions
{
    /// <summary>Records queued before <see cref="UsageLedgerWriter.RecordAsync"/> callers wait (backpressure, never drop).</summary>
    public int BufferSize { get; init; } = 4096;

    /// <summary>Most records in one store transaction.</summary>
    public int MaxBatch { get; init; } = 256;

    /// <summary>Longest a record waits for its batch to fill: the bound on how long an acknowledgement takes when idle.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Tries per batch, the first included, before its records fail.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Backoff before the second try; doubled per try, capped at <see cref="MaxBackoff"/>, full jitter.</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Which store failures are retried; others fail the batch at once.</summary>
    public Func<Exception, bool> IsTransient { get; init; } = StoreFailures.IsTransient;

    /// <summary>Clock for the backoff delays (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>Thrown to a <see cref="UsageLedgerWriter.RecordAsync"/> caller whose record could not be written.</summary>
public sealed class UsageLedgerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Writes ledger rows in batches without losing an acknowledged one: <see cref="RecordAsync"/> completes only after
/// the row's transaction committed, so a request is finished only once its usage is durable. One per host, owned by
/// it: the host calls <see cref="FlushAndStopAsync"/> during coordinated shutdown.
/// </summary>
/// <remarks>
/// The graph is <c>Source.Queue (backpressure) → GroupedWithin(MaxBatch, MaxDelay) → SelectAsync(1, write with
/// retry)</c>. Batches are written one at a time so SQLite's single writer is never contended by ourselves and
/// order of arrival is kept. A batch that still fails after its retries fails its records' tasks (the caller
/// logs) and the stream goes on with the next batch.
/// </remarks>
public sealed class UsageLedgerWriter : IAsyncDisposable
{
    private readonly IUsageStore _store;
    private readonly UsageLedgerWriterOptions _options;
    private readonly ILoggingAdapter _log;
    private readonly ISourceQueueWithComplete<PendingRecord> _queue;
    private readonly Task _completion;

    // Source.Queue with backpressure accepts one offer pending on a full buffer and fails a second one, so offers
    // take turns; the wait is asynchronous, so callers queue up here without holding threads.
    private readonly SemaphoreSlim _offerGate = new(1, 1);

    // Everything accepted but not yet settled; failed in one go if the stream dies (e.g. the actor system stops),
    // so no caller waits forever on a record that will never be written.
    private readonly ConcurrentDictionary<PendingRecord, byte> _unsettled = new();

    private bool _stopping;

    /// <summary>
    /// Runs the graph on a materializer of its own, which lives as long as the actor system. It is never shut down
    /// here: in Akka.Streams 1.5.74 shutting down one materializer of a system shuts down all of them.
    /// </summary>
    public UsageLedgerWriter(ActorSystem system, IUsageStore store, UsageLedgerWriterOptions? options = null)
        : this(ActorMaterializer.Create(system, namePrefix: "usage-ledger"), store, options,
               Logging.GetLogger(system, typeof(UsageLedgerWriter)))
    {
    }

    /// <summary>Runs the graph on the host's materializer, which stays the host's to shut down.</summary>
    public UsageLedgerWriter(IMaterializer materializer, IUsageStore store, UsageLedgerWriterOptions? options = null,
        ILoggingAdapter? log = null)
    {
        ArgumentNullException.ThrowIfNull(materializer);
        ArgumentNullException.ThrowIfNull(store);
        _options = options ?? new UsageLedgerWriterOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.BufferSize, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxBatch, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxAttempts, nameof(options));
        if (_options.MaxDelay <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "MaxDelay must be positive");
        _store = store;
        _log = log ?? NoLogger.Instance;

        // WatchTermination rather than Sink.Ignore's task: the latter never completes when the stream is torn
        // down abruptly (materializer or actor system stopped), which would leave callers waiting forever.
        var (queue, done) = Source.Queue<PendingRecord>(_options.BufferSize, OverflowStrategy.Backpressure)
            .GroupedWithin(_options.MaxBatch, _options.MaxDelay)
            .SelectAsync(1, WriteBatchAsync)
            .WatchTermination(Keep.Both)
            .To(Sink.Ignore<int>())
            .Run(materializer);
        _queue = queue;
        _completion = done.ContinueWith(
            OnStreamTerminated, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Queues <paramref name="record"/> and completes once its row is committed. Waits (asynchronously) while the
    /// queue is full. Throws <see cref="UsageLedgerException"/> when the row could not be written and
    /// <see cref="InvalidOperationException"/> after <see cref="FlushAndStopAsync"/>.
    /// </summary>
    /// <param name="ct">
    /// Stops the caller's waiting only. A record already queued is still written: cancelling cannot take a request's
    /// usage back.
    /// </param>
    public async Task RecordAsync(UsageRecord record, CancellationToken ct = default)
    {
        var acknowledged = await EnqueueAsync(record, ct).ConfigureAwait(false);
        await acknowledged.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues <paramref name="record"/>; completes once the stream accepted it, with the task that completes when
    /// the row is committed. Lets a caller (and tests) tell "accepted" from "durable".
    /// </summary>
    internal async Task<Task> EnqueueAsync(UsageRecord record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        var pending = new PendingRecord(record);

        await _offerGate.WaitAsync(ct).ConfigureAwait(false);
        IQueueOfferResult result;
        try
        {
            if (_stopping) throw new InvalidOperationException("The usage ledger writer is stopped.");
            _unsettled.TryAdd(pending, 0);
            try
            {
                result = await _queue.OfferAsync(pending).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _unsettled.TryRemove(pending, out _);
                throw new UsageLedgerException("The usage ledger stream is not running.", ex);
            }
        }
        finally
        {
            _offerGate.Release();
        }

        if (result is not QueueOfferResult.Enqueued)
        {
            _unsettled.TryRemove(pending, out _);
            throw result is QueueOfferResult.Failure failure
                ? new UsageLedgerException("The usage ledger refused the record.", failure.Cause)
                : new UsageLedgerException($"The usage ledger refused the record ({result.GetType().Name}).");
        }

        return pending.Completion.Task;
    }

    /// <summary>
    /// Stops accepting records, writes everything already accepted, and completes when the stream has drained.
    /// Safe to call more than once.
    /// </summary>
    public async Task FlushAndStopAsync()
    {
        // Taking the gate waits out an offer that is blocked on a full buffer, so it is accepted before completion.
        await _offerGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_stopping)
            {
                _stopping = true;
                _queue.Complete();
            }
        }
        finally
        {
            _offerGate.Release();
        }

        await _completion.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await FlushAndStopAsync().ConfigureAwait(false);

    private async Task<int> WriteBatchAsync(IEnumerable<PendingRecord> batch)
    {
        var pending = batch as IReadOnlyList<PendingRecord> ?? batch.ToList();
        var records = new UsageRecord[pending.Count];
        for (var i = 0; i < records.Length; i++) records[i] = pending[i].Record;

        Exception? failure = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not cancellable on purpose: shutdown waits for the drain, it does not abandon rows.
                await _store.InsertBatchAsync(records, CancellationToken.None).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (attempt < _options.MaxAttempts && IsTransient(ex))
            {
                var delay = Backoff(attempt);
                _log.Warning("Usage ledger batch of {0} failed on try {1}/{2} ({3}: {4}); retrying in {5} ms",
                    records.Length, attempt, _options.MaxAttempts, ex.GetType().Name, ex.Message, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, _options.TimeProvider).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log.Error("Usage ledger batch of {0} failed after {1} tries ({2}: {3}); failing its records",
                    records.Length, attempt, ex.GetType().Name, ex.Message);
                failure = ex;
                break;
            }
        }

        foreach (var p in pending)
        {
            _unsettled.TryRemove(p, out _);
            if (failure is null) p.Completion.TrySetResult();
            else p.Completion.TrySetException(new UsageLedgerException(
                $"Usage record {p.Record.RequestId} was not written to the ledger.", failure));
        }

        return records.Length;
    }

    private bool IsTransient(Exception ex)
    {
        try
        {
            return _options.IsTransient(ex);
        }
        catch
        {
            return false;
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_options.MaxBackoff.Ticks, _options.BaseBackoff.Ticks * (1L << Math.Min(attempt - 1, 30)));
        return TimeSpan.FromTicks(Random.Shared.NextInt64(ceiling + 1));
    }

    private void OnStreamTerminated(Task done)
    {
        var error = done.Exception?.GetBaseException();
        if (error is not null)
            _log.Error("Usage ledger stream stopped ({0}: {1}); failing {2} pending records",
                error.GetType().Name, error.Message, _unsettled.Count);

        foreach (var p in _unsettled.Keys)
        {
            _unsettled.TryRemove(p, out _);
            p.Completion.TrySetException(new UsageLedgerException(
                $"Usage record {p.Record.RequestId} was not written: the ledger stream stopped.", error));
        }
    }

    /// <summary>A record on its way to the store, with the caller's acknowledgement.</summary>
    internal sealed class PendingRecord(UsageRecord record)
    {
        public UsageRecord Record { get; } = record;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

using Akka.Streams;
using Akka.Streams.Dsl;

namespace Router.Node.Ingress;

/// <summary>Sizes of the node's ingress graph.</summary>
/// <param name="QueueSize">Requests that may wait for a free slot; one more is refused at once.</param>
/// <param name="Parallelism">Requests in progress at once on this node (upstream calls and streams included).</param>
public sealed record IngressQueueSettings(int QueueSize, int Parallelism);

/// <summary>
/// Every request enters this per-node Akka.Streams graph: a bounded queue feeding the request's work with bounded
/// parallelism. When the queue is full the request is refused immediately (the caller answers 503 with a
/// Retry-After from the measured drain rate) instead of waiting, so a saturated node never piles up memory or
/// times out clients. The work item covers the whole request, a streamed answer included, so the parallelism
/// bound is a bound on concurrent upstream calls.
/// </summary>
public sealed class IngressQueue : IAsyncDisposable
{
    private readonly ISourceQueueWithComplete<Work> _queue;
    private readonly Task _done;
    private readonly TimeProvider _clock;
    private readonly IngressQueueSettings _settings;
    private long _waiting;
    // Completed (and replaced) each time the last waiting request leaves the queue.
    private TaskCompletionSource _noneWaiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _running;
    private long _shed;
    private long _completed;
    // Drain rate: completions in the last window, for Retry-After.
    private long _windowStart;
    private long _windowCompleted;
    private double _ratePerSecond;

    public IngressQueue(IMaterializer materializer, IngressQueueSettings settings, TimeProvider clock)
    {
        _settings = settings;
        _clock = clock;
        _windowStart = clock.GetTimestamp();
        // WatchTermination, not Sink.Ignore's task: the latter never completes when the actor system stops the
        // stream first (it does, before the container disposes this), and DisposeAsync would wait forever.
        var (queue, done) = Source.Queue<Work>(settings.QueueSize, OverflowStrategy.DropNew)
            .SelectAsyncUnordered(settings.Parallelism, RunAsync)
            .WatchTermination(Keep.Both)
            .To(Sink.Ignore<bool>())
            .Run(materializer);
        _queue = queue;
        _done = done;
    }

    public long Waiting => Interlocked.Read(ref _waiting);

    /// <summary>
    /// Completes at once when no request waits for a slot, else when the last waiting one leaves the queue: how
    /// lower-priority work (batch items) yields to requests without polling.
    /// </summary>
    public Task WhenNoneWaitingAsync(CancellationToken cancellationToken)
    {
        // Read the signal before the count: a drain between the two completes the signal read here.
        var signal = Volatile.Read(ref _noneWaiting);
        return Waiting == 0 ? Task.CompletedTask : signal.Task.WaitAsync(cancellationToken);
    }

    private void LeftQueue()
    {
        if (Interlocked.Decrement(ref _waiting) == 0)
            Interlocked.Exchange(ref _noneWaiting, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
    public long Running => Interlocked.Read(ref _running);
    public long Shed => Interlocked.Read(ref _shed);
    public long Completed => Interlocked.Read(ref _completed);
    public IngressQueueSettings Settings => _settings;

    /// <summary>
    /// Runs <paramref name="work"/> when a slot is free. Returns false at once when the queue is full (the work
    /// is not run). The returned task completes when the work completes; its exceptions propagate.
    /// </summary>
    public async ValueTask<bool> TryRunAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        var item = new Work(work, cancellationToken);
        Interlocked.Increment(ref _waiting);
        IQueueOfferResult offered;
        try
        {
            offered = await _queue.OfferAsync(item).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StreamDetachedException or InvalidOperationException)
        {
            offered = QueueOfferResult.Dropped.Instance;
        }
        if (offered is not QueueOfferResult.Enqueued)
        {
            LeftQueue();
            Interlocked.Increment(ref _shed);
            return false;
        }
        await item.Completion.Task.ConfigureAwait(false);
        return true;
    }

    /// <summary>How long a refused client should wait: the queue's length at the measured drain rate, at least 1 s.</summary>
    public TimeSpan SuggestedRetryAfter()
    {
        var rate = Volatile.Read(ref _ratePerSecond);
        if (rate <= 0) return TimeSpan.FromSeconds(1);
        var seconds = (Waiting + Running) / rate;
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(seconds), 1, 60));
    }

    private async Task<bool> RunAsync(Work item)
    {
        LeftQueue();
        if (item.CancellationToken.IsCancellationRequested)
        {
            item.Completion.TrySetCanceled(item.CancellationToken);
            return false;
        }
        Interlocked.Increment(ref _running);
        try
        {
            await item.Start().ConfigureAwait(false);
            item.Completion.TrySetResult();
        }
        catch (OperationCanceledException oce)
        {
            item.Completion.TrySetCanceled(oce.CancellationToken);
        }
        catch (Exception ex)
        {
            item.Completion.TrySetException(ex);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            Interlocked.Increment(ref _completed);
            CountCompletion();
        }
        return true;
    }

    private void CountCompletion()
    {
        var completed = Interlocked.Increment(ref _windowCompleted);
        var elapsed = _clock.GetElapsedTime(Interlocked.Read(ref _windowStart));
        if (elapsed < TimeSpan.FromSeconds(1)) return;
        // One thread closes the window; others keep counting into the next one.
        var start = Interlocked.Read(ref _windowStart);
        if (Interlocked.CompareExchange(ref _windowStart, _clock.GetTimestamp(), start) != start) return;
        Interlocked.Exchange(ref _windowCompleted, 0);
        Volatile.Write(ref _ratePerSecond, completed / elapsed.TotalSeconds);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        try
        {
            await _done.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Torn down with the actor system (AbruptStageTerminationException): nothing is left to drain.
        }
    }

    private sealed class Work(Func<Task> run, CancellationToken cancellationToken)
    {
        // The caller's context (its request span and logging scope), which the stream's own thread does not carry.
        private readonly ExecutionContext? _context = ExecutionContext.Capture();
        private Task? _started;

        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Runs the work in the context of the request that queued it.</summary>
        public Task Start()
        {
            if (_context is null) return run();
            ExecutionContext.Run(_context, static state => { var w = (Work)state!; w._started = w.Run(); }, this);
            return _started!;
        }

        private Task Run() => run();
    }
}

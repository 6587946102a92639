using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.Sharding;
using Router.Contracts.Batches;
using static Router.Contracts.Batches.BatchCommands;
using static Router.Contracts.Batches.BatchEvents;

namespace Router.Actors.Batches;

/// <summary>
/// One batch job (sharded by batch id, persistence id <c>batch-{id}</c>). It owns the job's progress: which
/// custom_ids are done and their result lines, as events. Items run through an Akka.Streams graph (throttled to
/// the key's request rate, <see cref="BatchJobSettings.Parallelism"/> at a time, each retried after Retry-After
/// when refused) whose results come back with acknowledgement and are persisted in groups, so the journal
/// paces the stream and a crash repeats at most the items in flight and one unwritten group. Any wake-up of an
/// unfinished job (a status request, the resume sweep) continues it from the journal: finished items never run
/// twice, and the output file holds each custom_id once.
/// </summary>
public sealed class BatchJobActor : ReceivePersistentActor, IWithTimers
{
    private const string RetryTimer = "retry";

    private readonly string _batchId;
    private readonly IBatchWork _work;
    private readonly IFileStore _files;
    private readonly BatchJobSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, ItemCompleted> _done = new(StringComparer.Ordinal);
    private IMaterializer? _materializer;

    private BatchCreated? _created;
    private DateTimeOffset? _cancellingAt;
    private DateTimeOffset? _finalizingAt;
    private DateTimeOffset? _inProgressAt;
    private BatchFinished? _finished;
    private int _succeeded;
    private int _failed;
    // The running stream, when there is one; only this actor touches these.
    private UniqueKillSwitch? _killSwitch;
    private CancellationTokenSource? _itemsCancel;
    private bool _running;
    private bool _failedJob;

    public BatchJobActor(string batchId, IBatchWork work, IFileStore files, BatchJobSettings settings, TimeProvider clock)
    {
        _batchId = batchId;
        _work = work;
        _files = files;
        _settings = settings;
        _clock = clock;
        PersistenceId = "batch-" + batchId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not BatchSnapshot s) return;
            _created = s.Created;
            _succeeded = s.Completed;
            _failed = s.Failed - s.Created.Malformed.Count;
            _cancellingAt = s.CancellingAt;
            _finished = new BatchFinished(s.Status, s.OutputFileId, s.ErrorFileId, s.Completed, s.Failed, s.FinishedAt);
        });
        Recover<BatchCreated>(e => _created = e);
        Recover<ItemCompleted>(Apply);
        Recover<BatchCancelled>(e => _cancellingAt = e.At);
        Recover<BatchFinished>(ApplyFinished);
        Recover<RecoveryCompleted>(_ =>
        {
            if (_created is null) Become(Empty);
            else if (_finished is not null) BecomeFinished();
            else BecomeActive();
        });
        Empty();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string batchId, IBatchWork work, IFileStore files, BatchJobSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new BatchJobActor(batchId, work, files, settings, clock));

    // --- Behaviours ---------------------------------------------------------------------------------------

    private void Empty()
    {
        Command<Create>(HandleCreate);
        Command<GetStatus>(_ => Sender.Tell(BatchStatus.NotFound(_batchId)));
        Command<Cancel>(_ => Sender.Tell(BatchStatus.NotFound(_batchId)));
        Command<Resume>(_ =>
        {
            Sender.Tell(new Resumed(_batchId, false, false));
            Context.Parent.Tell(new Passivate(StopEntity.Instance));
        });
        Command<StopEntity>(_ => Context.Stop(Self));
    }

    private void BecomeActive()
    {
        Become(Active);
        _work.JobRunning(_batchId, true);
        _inProgressAt ??= _clock.GetUtcNow();
        LoadInput();
    }

    private void Active()
    {
        Command<Create>(_ => Sender.Tell(Status()));
        Command<GetStatus>(_ => Sender.Tell(Status()));
        Command<Resume>(_ => Sender.Tell(new Resumed(_batchId, true, false)));
        Command<Cancel>(_ =>
        {
            if (_cancellingAt is not null)
            {
                Sender.Tell(Status());
                return;
            }
            var sender = Sender;
            Persist(new BatchCancelled(_clock.GetUtcNow()), e =>
            {
                _cancellingAt = e.At;
                sender.Tell(Status());
                // Stop feeding items and cancel the ones in flight; what already finished is kept.
                _killSwitch?.Shutdown();
                _itemsCancel?.Cancel();
                if (!_running) BeginFinalizing();
            });
        });
        Command<InputLoaded>(OnInputLoaded);
        Command<InputFailed>(f =>
        {
            _log.Warning("Batch {0}: reading the input file failed ({1}); retrying", _batchId, f.Cause.Message);
            Timers.StartSingleTimer(RetryTimer, RetryLoad.Instance, _settings.RetryDelay);
        });
        Command<RetryLoad>(_ => LoadInput());
        Command<StreamInit>(_ => Sender.Tell(StreamAck.Instance));
        Command<ItemsDone>(OnItemsDone);
        Command<StreamCompleted>(_ =>
        {
            _running = false;
            if (AllItemsDone() || _cancellingAt is not null) BeginFinalizing();
            else Timers.StartSingleTimer(RetryTimer, RetryLoad.Instance, _settings.RetryDelay);
        });
        Command<StreamFailed>(f =>
        {
            _running = false;
            _log.Warning("Batch {0}: item stream failed ({1}); restarting it", _batchId, f.Cause.Message);
            Timers.StartSingleTimer(RetryTimer, RetryLoad.Instance, _settings.RetryDelay);
        });
        Command<StopEntity>(_ => StopRunning(stopSelf: true));
    }

    private void Finalizing()
    {
        Command<Create>(_ => Sender.Tell(Status()));
        Command<GetStatus>(_ => Sender.Tell(Status()));
        Command<Cancel>(_ => Sender.Tell(Status()));
        Command<Resume>(_ => Sender.Tell(new Resumed(_batchId, true, false)));
        // Late stream messages after the last item: acknowledge and ignore.
        Command<StreamInit>(_ => Sender.Tell(StreamAck.Instance));
        Command<ItemsDone>(_ => Sender.Tell(StreamAck.Instance));
        Command<StreamCompleted>(_ => _running = false);
        Command<StreamFailed>(_ => _running = false);
        Command<InputLoaded>(_ => { });
        Command<InputFailed>(_ => { });
        Command<RetryLoad>(_ => { });
        Command<FilesWritten>(w => Persist(
            new BatchFinished(w.Status, w.OutputFileId, w.ErrorFileId, _succeeded, _failed + _created!.Malformed.Count, _clock.GetUtcNow()),
            e =>
            {
                ApplyFinished(e);
                BecomeFinished();
                // Summary only: the item events (and their result lines, now in the output file) can go.
                SaveSnapshot(new BatchSnapshot(_created!, e.Status, e.Completed, e.Failed, e.OutputFileId, e.ErrorFileId, _cancellingAt, e.At));
            }));
        Command<FilesFailed>(f =>
        {
            _log.Warning("Batch {0}: writing the output files failed ({1}); retrying", _batchId, f.Cause.Message);
            Timers.StartSingleTimer(RetryTimer, RetryFinalize.Instance, _settings.RetryDelay);
        });
        Command<RetryFinalize>(_ => WriteFiles());
        Command<StopEntity>(_ => StopRunning(stopSelf: true));
    }

    private void BecomeFinished()
    {
        _work.JobRunning(_batchId, false);
        Become(Finished);
        Context.SetReceiveTimeout(_settings.IdleTimeout);
    }

    private void Finished()
    {
        Command<Create>(_ => Sender.Tell(Status()));
        Command<GetStatus>(_ => Sender.Tell(Status()));
        Command<Cancel>(_ => Sender.Tell(Status()));
        Command<Resume>(_ => Sender.Tell(new Resumed(_batchId, true, true)));
        Command<StreamInit>(_ => Sender.Tell(StreamAck.Instance));
        Command<ItemsDone>(_ => Sender.Tell(StreamAck.Instance));
        Command<StreamCompleted>(_ => { });
        Command<StreamFailed>(_ => { });
        Command<InputLoaded>(_ => { });
        Command<InputFailed>(_ => { });
        Command<RetryLoad>(_ => { });
        Command<RetryFinalize>(_ => { });
        Command<FilesWritten>(_ => { });
        Command<FilesFailed>(_ => { });
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning("Batch {0}: snapshot failed ({1}); the events stay", _batchId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => _done.Clear());
        Command<DeleteMessagesFailure>(f => _log.Warning("Batch {0}: deleting item events failed ({1})", _batchId, f.Cause.Message));
        Command<ReceiveTimeout>(_ => Context.Parent.Tell(new Passivate(StopEntity.Instance)));
        Command<StopEntity>(_ => Context.Stop(Self));
    }

    // --- Creating and running -------------------------------------------------------------------------------

    private void HandleCreate(Create m)
    {
        var sender = Sender;
        Persist(new BatchCreated(m.BatchId, m.KeyId, m.KeyHash, m.InputFileId, m.Endpoint, m.CompletionWindow, m.Total, m.Malformed,
            m.Metadata, _clock.GetUtcNow()), e =>
        {
            _created = e;
            _log.Info("Batch {0} created for key {1}: {2} requests, {3} malformed", _batchId, e.KeyId, e.Total, e.Malformed.Count);
            BecomeActive();
            sender.Tell(Status());
        });
    }

    private BatchJobSpec Spec => new(_batchId, _created!.KeyId, _created.KeyHash, _created.Endpoint);

    private int ValidItems => _created!.Total - _created.Malformed.Count;

    private bool AllItemsDone() => _done.Count >= ValidItems;

    private void LoadInput()
    {
        if (_cancellingAt is not null || ValidItems == 0)
        {
            BeginFinalizing();
            return;
        }
        var files = _files;
        var work = _work;
        var spec = Spec;
        var created = _created!;
        LoadAsync().PipeTo(Self, failure: ex => new InputFailed(ex));

        async Task<object> LoadAsync()
        {
            var content = await files.ReadContentAsync(created.InputFileId).ConfigureAwait(false);
            if (content is null) return new InputLoaded(null, null);
            var input = BatchInput.Parse(content, created.Endpoint);
            int? rpm;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                try
                {
                    rpm = await work.RequestsPerMinuteAsync(spec, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    rpm = null; // unknown limit: Retry-After alone paces the job
                }
            }
            return new InputLoaded(input, rpm);
        }
    }

    private void OnInputLoaded(InputLoaded loaded)
    {
        if (_running) return;
        if (loaded.Input is null)
        {
            _log.Warning("Batch {0}: input file {1} no longer exists; the job fails", _batchId, _created!.InputFileId);
            BeginFinalizing(failed: true);
            return;
        }
        var pending = loaded.Input.Items.Where(i => !_done.ContainsKey(i.CustomId)).ToList();
        if (pending.Count == 0)
        {
            BeginFinalizing();
            return;
        }
        _log.Info("Batch {0}: running {1} of {2} items", _batchId, pending.Count, loaded.Input.Items.Count);
        RunItems(pending, loaded.RequestsPerMinute);
    }

    private void RunItems(IReadOnlyList<BatchItem> pending, int? rpm)
    {
        _materializer ??= Context.Materializer();
        _itemsCancel = new CancellationTokenSource();
        var cancel = _itemsCancel.Token;
        var work = _work;
        var spec = Spec;
        var clock = _clock;
        var pacer = new BatchPacer(clock);

        var source = Source.From(pending).ViaMaterialized(KillSwitches.Single<BatchItem>(), Keep.Right);
        if (rpm is int perMinute && perMinute > 0)
        {
            // The key's own rate: a job alone never runs into its key's limit; Retry-After handles the rest.
            source = source.Throttle(perMinute, TimeSpan.FromMinutes(1), Math.Clamp(perMinute / 60, 1, _settings.Parallelism), ThrottleMode.Shaping);
        }
        _killSwitch = source
            .SelectAsyncUnordered(_settings.Parallelism, item => RunItemAsync(work, spec, item, pacer, clock, cancel))
            .Where(done => done is not null)
            .GroupedWithin(_settings.PersistGroupSize, _settings.PersistGroupWindow)
            .Select(group => new ItemsDone(group.Select(d => d!).ToList()))
            .ToMaterialized(Sink.ActorRefWithAck<ItemsDone>(Self, StreamInit.Instance, StreamAck.Instance, StreamCompleted.Instance,
                ex => new StreamFailed(ex)), Keep.Left)
            .Run(_materializer);
        _running = true;
    }

    /// <summary>One item to its end: retried (the whole job paused) while the key or node says "later".</summary>
    private static async Task<ItemCompleted?> RunItemAsync(
        IBatchWork work, BatchJobSpec spec, BatchItem item, BatchPacer pacer, TimeProvider clock, CancellationToken cancel)
    {
        try
        {
            while (true)
            {
                await pacer.WaitAsync(cancel).ConfigureAwait(false);
                var outcome = await work.RunAsync(spec, item, cancel).ConfigureAwait(false);
                switch (outcome)
                {
                    case BatchItemOutcome.Done d:
                        return new ItemCompleted(item.CustomId, item.Index, d.Succeeded, d.Line, clock.GetUtcNow());
                    case BatchItemOutcome.RetryLater r:
                        pacer.PauseFor(r.After);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return null; // cancelled or handed off: not done, so it runs again if the job continues
        }
    }

    private void OnItemsDone(ItemsDone m)
    {
        var sender = Sender;
        var fresh = m.Items.Where(i => !_done.ContainsKey(i.CustomId)).DistinctBy(i => i.CustomId).ToList();
        if (fresh.Count == 0)
        {
            sender.Tell(StreamAck.Instance);
            return;
        }
        var remaining = fresh.Count;
        PersistAll(fresh, e =>
        {
            Apply(e);
            if (--remaining > 0) return;
            // Acknowledged only once written: the journal paces the stream.
            sender.Tell(StreamAck.Instance);
            if (AllItemsDone()) BeginFinalizing();
        });
    }

    private void StopRunning(bool stopSelf)
    {
        _killSwitch?.Shutdown();
        _itemsCancel?.Cancel();
        _work.JobRunning(_batchId, false);
        if (stopSelf) Context.Stop(Self);
    }

    // --- Finishing ----------------------------------------------------------------------------------------

    private void BeginFinalizing(bool failed = false)
    {
        _failedJob |= failed;
        Timers.Cancel(RetryTimer);
        _killSwitch?.Shutdown();
        _finalizingAt ??= _clock.GetUtcNow();
        Become(Finalizing);
        WriteFiles();
    }

    private void WriteFiles()
    {
        var created = _created!;
        var status = _cancellingAt is not null ? BatchJobStatus.Cancelled
            : _failedJob || ValidItems == 0 ? BatchJobStatus.Failed
            : BatchJobStatus.Completed;
        var ordered = _done.Values.OrderBy(d => d.Index).ToList();
        var outputLines = ordered.Where(d => d.Succeeded).Select(d => d.Line).ToList();
        var errorLines = created.Malformed.Select(e => BatchOutput.MalformedLine(_batchId, e))
            .Concat(ordered.Where(d => !d.Succeeded).Select(d => d.Line)).ToList();
        var now = _clock.GetUtcNow();
        var files = _files;
        var batchId = _batchId;
        WriteAsync().PipeTo(Self, failure: ex => new FilesFailed(ex));

        async Task<object> WriteAsync()
        {
            string? outputId = null, errorId = null;
            if (outputLines.Count > 0)
            {
                outputId = BatchOutput.OutputFileId(batchId);
                var bytes = BatchOutput.Join(outputLines);
                await files.PutAsync(new StoredFile(outputId, created.KeyId, "batch_output", $"{batchId}_output.jsonl", bytes.Length, now), bytes)
                    .ConfigureAwait(false);
            }
            if (errorLines.Count > 0)
            {
                errorId = BatchOutput.ErrorFileId(batchId);
                var bytes = BatchOutput.Join(errorLines);
                await files.PutAsync(new StoredFile(errorId, created.KeyId, "batch_output", $"{batchId}_errors.jsonl", bytes.Length, now), bytes)
                    .ConfigureAwait(false);
            }
            return new FilesWritten(status, outputId, errorId);
        }
    }

    // --- State --------------------------------------------------------------------------------------------

    private void Apply(ItemCompleted e)
    {
        if (!_done.TryAdd(e.CustomId, e)) return;
        if (e.Succeeded) _succeeded++;
        else _failed++;
    }

    private void ApplyFinished(BatchFinished e)
    {
        _finished = e;
        _succeeded = e.Completed;
        _failed = e.Failed - (_created?.Malformed.Count ?? 0);
    }

    private BatchStatus Status()
    {
        var c = _created!;
        var status = _finished?.Status
            ?? (_finalizingAt is not null ? (_cancellingAt is not null ? BatchJobStatus.Cancelling : BatchJobStatus.Finalizing)
                : _cancellingAt is not null ? BatchJobStatus.Cancelling
                : _running ? BatchJobStatus.InProgress
                : _done.Count > 0 ? BatchJobStatus.InProgress
                : BatchJobStatus.Validating);
        var f = _finished;
        return new BatchStatus(
            _batchId, true, c.KeyId, status, c.InputFileId, c.Endpoint, c.CompletionWindow, c.Total,
            _succeeded, _failed + c.Malformed.Count, f?.OutputFileId, f?.ErrorFileId, c.At,
            status == BatchJobStatus.Validating ? null : _inProgressAt ?? c.At,
            _finalizingAt,
            f is { Status: BatchJobStatus.Completed } ? f.At : null,
            f is { Status: BatchJobStatus.Failed } ? f.At : null,
            _cancellingAt,
            f is { Status: BatchJobStatus.Cancelled } ? f.At : null,
            c.Metadata);
    }

    protected override void PostStop()
    {
        _itemsCancel?.Cancel();
        _itemsCancel?.Dispose();
        base.PostStop();
    }

    // --- Local messages (never leave this node) -------------------------------------------------------------

    private sealed record InputLoaded(BatchInput? Input, int? RequestsPerMinute);
    private sealed record InputFailed(Exception Cause);
    private sealed record RetryLoad
    {
        public static readonly RetryLoad Instance = new();
    }
    private sealed record ItemsDone(IReadOnlyList<ItemCompleted> Items);
    private sealed record StreamInit
    {
        public static readonly StreamInit Instance = new();
    }
    private sealed record StreamAck
    {
        public static readonly StreamAck Instance = new();
    }
    private sealed record StreamCompleted
    {
        public static readonly StreamCompleted Instance = new();
    }
    private sealed record StreamFailed(Exception Cause);
    private sealed record FilesWritten(BatchJobStatus Status, string? OutputFileId, string? ErrorFileId);
    private sealed record FilesFailed(Exception Cause);
    private sealed record RetryFinalize
    {
        public static readonly RetryFinalize Instance = new();
    }
}

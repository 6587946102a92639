using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.Streams;
using Router.Actors.Sharding;
using Router.Contracts.Batches;
using Router.Contracts.Serialization;
using static Router.Actors.Batches.BatchItemStream;
using static Router.Contracts.Batches.BatchCommands;
using static Router.Contracts.Batches.BatchEvents;

namespace Router.Actors.Batches;

/// <summary>
/// One batch job (sharded by batch id, persistence id <c>batch-{id}</c>): the journal owner of a
/// <see cref="BatchJobState"/>, which holds the rules. The actor does the I/O: it persists what the state decides,
/// reads the input file, runs the items through <see cref="BatchItemStream"/> (whose results come back with
/// acknowledgement and are persisted in groups, so the journal paces the stream and a crash repeats at most the
/// items in flight and one unwritten group), writes the output files, retries storage failures on a timer and
/// answers. One behaviour per <see cref="BatchJobPhase"/>. Any wake-up of an unfinished job (a status request, the
/// resume sweep) continues it from the journal: finished items never run twice, and the output holds each custom_id once.
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
    private BatchJobState _state;
    private IMaterializer? _materializer;
    // The running item stream, when there is one; only this actor touches these.
    private UniqueKillSwitch? _killSwitch;
    private CancellationTokenSource? _itemsCancel;

    public BatchJobActor(string batchId, IBatchWork work, IFileStore files, BatchJobSettings settings, TimeProvider clock)
    {
        _batchId = batchId;
        _work = work;
        _files = files;
        _settings = settings;
        _clock = clock;
        _state = BatchJobState.Empty(batchId);
        PersistenceId = "batch-" + batchId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is BatchSnapshot s) _state = BatchJobState.FromSnapshot(batchId, s);
        });
        Recover<IRouterMessage>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            if (_state.Phase == BatchJobPhase.Empty) Become(Empty);
            else if (_state.Phase == BatchJobPhase.Finished) BecomeFinished();
            else BecomeActive();
        });
        Empty();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string batchId, IBatchWork work, IFileStore files, BatchJobSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new BatchJobActor(batchId, work, files, settings, clock));

    private DateTimeOffset Now => _clock.GetUtcNow();

    // --- Behaviours ---------------------------------------------------------------------------------------

    private void Empty()
    {
        Command<IWithBatchId>(Handle);
        Command<StopEntity>(_ => Context.Stop(Self));
    }

    private void Active()
    {
        Command<IWithBatchId>(Handle);
        Command<InputLoaded>(OnInputLoaded);
        Command<InputFailed>(f => RetryLater(RetryLoad.Instance, "reading the input file", f.Cause));
        Command<RetryLoad>(_ => LoadInput());
        Command<Init>(_ => Sender.Tell(Ack.Instance));
        Command<ItemsDone>(OnItemsDone);
        Command<Completed>(_ =>
        {
            _state = _state.WithItemsRunning(false);
            if (_state.AllItemsDone || _state.CancellingAt is not null) BeginFinalizing();
            else Timers.StartSingleTimer(RetryTimer, RetryLoad.Instance, _settings.RetryDelay);
        });
        Command<Failed>(f =>
        {
            _state = _state.WithItemsRunning(false);
            RetryLater(RetryLoad.Instance, "the item stream", f.Cause);
        });
        Command<StopEntity>(_ => StopRunning());
    }

    private void Finalizing()
    {
        Command<IWithBatchId>(Handle);
        Command<FilesWritten>(w => Persist(_state.Finish(w.Status, w.OutputFileId, w.ErrorFileId, Now), e =>
        {
            _state = _state.Apply(e);
            BecomeFinished();
            // Summary only: the item events (and their result lines, now in the output file) can go.
            SaveSnapshot(_state.ToSnapshot());
        }));
        Command<FilesFailed>(f => RetryLater(RetryFinalize.Instance, "writing the output files", f.Cause));
        Command<RetryFinalize>(_ => WriteFiles());
        IgnoreLateStream();
        Command<StopEntity>(_ => StopRunning());
    }

    private void Finished()
    {
        Command<IWithBatchId>(Handle);
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning("Batch {0}: snapshot failed ({1}); the events stay", _batchId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => _state = _state.WithoutItems());
        Command<DeleteMessagesFailure>(f => _log.Warning("Batch {0}: deleting item events failed ({1})", _batchId, f.Cause.Message));
        Command<ReceiveTimeout>(_ => Context.Parent.Tell(new Passivate(StopEntity.Instance)));
        IgnoreLateStream();
        Command<StopEntity>(_ => Context.Stop(Self));
    }

    /// <summary>After the last item: acknowledge what the stream still sends, ignore late timers and file answers.</summary>
    private void IgnoreLateStream()
    {
        Command<Init>(_ => Sender.Tell(Ack.Instance));
        Command<ItemsDone>(_ => Sender.Tell(Ack.Instance));
        Command<Completed>(_ => _state = _state.WithItemsRunning(false));
        Command<Failed>(_ => _state = _state.WithItemsRunning(false));
        Command<ILateMessage>(_ => { });
    }

    private void BecomeActive()
    {
        Become(Active);
        _work.JobRunning(_batchId, true);
        _state = _state.WithStarted(Now);
        LoadInput();
    }

    private void BecomeFinished()
    {
        _work.JobRunning(_batchId, false);
        Become(Finished);
        Context.SetReceiveTimeout(_settings.IdleTimeout);
    }

    // --- Commands -----------------------------------------------------------------------------------------

    private void Handle(IWithBatchId command)
    {
        var sender = Sender;
        var (reply, events) = _state.Decide(command, Now);
        if (events.Count == 0)
        {
            sender.Tell(reply);
            // Nobody made this job: a resume sweep's wake-up should not keep an empty entity alive.
            if (command is Resume && _state.Phase == BatchJobPhase.Empty) Context.Parent.Tell(new Passivate(StopEntity.Instance));
            return;
        }
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            switch (e)
            {
                case BatchCreated c:
                    _log.Info("Batch {0} created for key {1}: {2} requests, {3} malformed", _batchId, c.KeyId, c.Total, c.Malformed.Count);
                    BecomeActive();
                    break;
                case BatchCancelled:
                    // Stop feeding items and cancel the ones in flight; what already finished is kept.
                    StopItems();
                    if (!_state.ItemsRunning) BeginFinalizing();
                    break;
            }
            sender.Tell(reply ?? _state.Status());
        });
    }

    // --- Running ------------------------------------------------------------------------------------------

    private void LoadInput()
    {
        if (_state.NothingToRun)
        {
            BeginFinalizing();
            return;
        }
        BatchJobFiles.ReadInputAsync(_files, _work, _state.Spec, _state.Created!.InputFileId)
            .PipeTo(Self, success: r => new InputLoaded(r.Input, r.RequestsPerMinute), failure: ex => new InputFailed(ex));
    }

    private void OnInputLoaded(InputLoaded loaded)
    {
        if (_state.ItemsRunning) return;
        if (loaded.Input is null)
        {
            _log.Warning("Batch {0}: input file {1} no longer exists; the job fails", _batchId, _state.Created!.InputFileId);
            BeginFinalizing(inputMissing: true);
            return;
        }
        var pending = _state.Pending(loaded.Input);
        if (pending.Count == 0)
        {
            BeginFinalizing();
            return;
        }
        _log.Info("Batch {0}: running {1} of {2} items", _batchId, pending.Count, loaded.Input.Items.Count);
        _materializer ??= Context.Materializer();
        _itemsCancel = new CancellationTokenSource();
        _killSwitch = BatchItemStream.Run(pending, loaded.RequestsPerMinute, _work, _state.Spec, _settings, _clock, Self, _materializer, _itemsCancel.Token);
        _state = _state.WithItemsRunning(true);
    }

    private void OnItemsDone(ItemsDone m)
    {
        var sender = Sender;
        var fresh = _state.Fresh(m.Items);
        if (fresh.Count == 0)
        {
            sender.Tell(Ack.Instance);
            return;
        }
        var remaining = fresh.Count;
        PersistAll(fresh, e =>
        {
            _state = _state.Apply(e);
            if (--remaining > 0) return;
            // Acknowledged only once written: the journal paces the stream.
            sender.Tell(Ack.Instance);
            if (_state.AllItemsDone) BeginFinalizing();
        });
    }

    private void StopItems()
    {
        _killSwitch?.Shutdown();
        _itemsCancel?.Cancel();
    }

    private void StopRunning()
    {
        StopItems();
        _work.JobRunning(_batchId, false);
        Context.Stop(Self);
    }

    private void RetryLater(ILateMessage retry, string what, Exception cause)
    {
        _log.Warning("Batch {0}: {1} failed ({2}); retrying", _batchId, what, cause.Message);
        Timers.StartSingleTimer(RetryTimer, retry, _settings.RetryDelay);
    }

    // --- Finishing ----------------------------------------------------------------------------------------

    private void BeginFinalizing(bool inputMissing = false)
    {
        Timers.Cancel(RetryTimer);
        _killSwitch?.Shutdown();
        _state = _state.WithFinalizing(Now, inputMissing);
        Become(Finalizing);
        WriteFiles();
    }

    private void WriteFiles()
    {
        var output = _state.Output();
        BatchJobFiles.WriteOutputAsync(_files, _batchId, _state.Created!.KeyId, output, Now)
            .PipeTo(Self, success: ids => new FilesWritten(output.Status, ids.OutputFileId, ids.ErrorFileId), failure: ex => new FilesFailed(ex));
    }

    protected override void PostStop()
    {
        _itemsCancel?.Cancel();
        _itemsCancel?.Dispose();
        base.PostStop();
    }

    // --- Local messages (never leave this node) -------------------------------------------------------------

    /// <summary>Answers and timers that may arrive after their phase ended; later phases ignore them.</summary>
    private interface ILateMessage;

    private sealed record InputLoaded(BatchInput? Input, int? RequestsPerMinute) : ILateMessage;
    private sealed record InputFailed(Exception Cause) : ILateMessage;
    private sealed record RetryLoad : ILateMessage { public static readonly RetryLoad Instance = new(); }
    private sealed record FilesWritten(BatchJobStatus Status, string? OutputFileId, string? ErrorFileId) : ILateMessage;
    private sealed record FilesFailed(Exception Cause) : ILateMessage;
    private sealed record RetryFinalize : ILateMessage { public static readonly RetryFinalize Instance = new(); }
}

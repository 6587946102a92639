using System.Collections.Immutable;
using Router.Contracts.Batches;
using Router.Contracts.Serialization;
using static Router.Contracts.Batches.BatchCommands;
using static Router.Contracts.Batches.BatchEvents;

namespace Router.Actors.Batches;

/// <summary>Where a job is in its life; <see cref="BatchJobActor"/> has one behaviour per phase.</summary>
public enum BatchJobPhase
{
    /// <summary>No job with this id was created.</summary>
    Empty,
    /// <summary>Created and not finalizing: its items run (or wait to run).</summary>
    Active,
    /// <summary>No more items will run; the output files are being written.</summary>
    Finalizing,
    /// <summary>The files are written and <see cref="BatchEvents.BatchFinished"/> is in the journal.</summary>
    Finished,
}

/// <summary>What <see cref="BatchJobState.Decide"/> made of a command.</summary>
/// <param name="Reply">The answer to send at once; null when <paramref name="Events"/> must be written first and the
/// answer is the job's status once they are applied.</param>
/// <param name="Events">Events to persist, in order; <see cref="BatchJobState.Apply"/> each once it is written.</param>
public readonly record struct BatchJobDecision(object? Reply, IReadOnlyList<IRouterMessage> Events)
{
    public static BatchJobDecision Answer(object reply) => new(reply, []);

    public static BatchJobDecision Persist(IRouterMessage e) => new(null, [e]);

    public void Deconstruct(out object? reply, out IReadOnlyList<IRouterMessage> events) => (reply, events) = (Reply, Events);
}

/// <summary>What a finishing job writes: its final status and the lines of its output and error files, in input order.</summary>
public sealed record BatchJobOutput(BatchJobStatus Status, IReadOnlyList<string> OutputLines, IReadOnlyList<string> ErrorLines);

/// <summary>
/// One batch job's state and rules, with no actor and no clock: <see cref="Decide"/> answers a client command and
/// names the events to persist, <see cref="Apply"/> folds a written event in. <see cref="BatchJobActor"/> owns one and
/// does the I/O (journal, input and output files, the item stream, timers, replies).
/// <para>Two kinds of properties: those the journal knows (creation, finished items, cancellation, the finish), which
/// change only through <see cref="Apply"/> and alone make up equality, so replaying the journal gives an equal state;
/// and this incarnation's progress (when it started running, whether its item stream runs, when it began finalizing),
/// which the actor reports through the <c>With…</c> methods and which only shape <see cref="Status"/>.</para>
/// </summary>
public sealed record BatchJobState
{
    private static readonly ImmutableDictionary<string, ItemCompleted> NoItems = ImmutableDictionary.Create<string, ItemCompleted>(StringComparer.Ordinal);

    private BatchJobState(string batchId) => BatchId = batchId;

    public static BatchJobState Empty(string batchId) => new(batchId);

    /// <summary>A finished job as its snapshot holds it: the summary, without the item results (they are in the files).</summary>
    public static BatchJobState FromSnapshot(string batchId, BatchSnapshot s) => new(batchId)
    {
        Created = s.Created,
        Succeeded = s.Completed,
        ItemsFailed = s.Failed - s.Created.Malformed.Count,
        CancellingAt = s.CancellingAt,
        Finished = new BatchFinished(s.Status, s.OutputFileId, s.ErrorFileId, s.Completed, s.Failed, s.FinishedAt),
    };

    public string BatchId { get; }

    // --- What the journal knows ---------------------------------------------------------------------------

    public BatchCreated? Created { get; private init; }

    /// <summary>Finished items by custom_id (emptied once a finished job's item events are deleted).</summary>
    public ImmutableDictionary<string, ItemCompleted> Done { get; private init; } = NoItems;

    public int Succeeded { get; private init; }

    /// <summary>Items that ran and failed; malformed input lines are not items and not counted here.</summary>
    public int ItemsFailed { get; private init; }

    public DateTimeOffset? CancellingAt { get; private init; }

    public BatchFinished? Finished { get; private init; }

    // --- This incarnation's progress ----------------------------------------------------------------------

    public DateTimeOffset? InProgressAt { get; private init; }

    public DateTimeOffset? FinalizingAt { get; private init; }

    /// <summary>The item stream runs now.</summary>
    public bool ItemsRunning { get; private init; }

    /// <summary>The input file is gone: the job ends as failed.</summary>
    public bool InputMissing { get; private init; }

    // --- Derived ------------------------------------------------------------------------------------------

    public BatchJobPhase Phase =>
        Created is null ? BatchJobPhase.Empty
        : Finished is not null ? BatchJobPhase.Finished
        : FinalizingAt is not null ? BatchJobPhase.Finalizing
        : BatchJobPhase.Active;

    /// <summary>Request lines that can run (malformed ones aside).</summary>
    public int ValidItems => Created is null ? 0 : Created.Total - Created.Malformed.Count;

    public bool AllItemsDone => Done.Count >= ValidItems;

    /// <summary>Cancelled or empty: finalize without reading the input.</summary>
    public bool NothingToRun => CancellingAt is not null || ValidItems == 0;

    /// <summary>Whose job this is, for running its items.</summary>
    public BatchJobSpec Spec => Created is { } c
        ? new BatchJobSpec(BatchId, c.KeyId, c.KeyHash, c.Endpoint)
        : throw new InvalidOperationException($"Batch {BatchId} was never created.");

    // --- Rules --------------------------------------------------------------------------------------------

    /// <summary>Answers a client's or the resume sweep's command.</summary>
    public BatchJobDecision Decide(IWithBatchId command, DateTimeOffset now) => command switch
    {
        Create c when Created is null => BatchJobDecision.Persist(new BatchCreated(c.BatchId, c.KeyId, c.KeyHash, c.InputFileId,
            c.Endpoint, c.CompletionWindow, c.Total, c.Malformed, c.Metadata, now)),
        Cancel when Phase == BatchJobPhase.Active && CancellingAt is null => BatchJobDecision.Persist(new BatchCancelled(now)),
        Resume => BatchJobDecision.Answer(new Resumed(BatchId, Created is not null, Finished is not null)),
        Create or Cancel or GetStatus => BatchJobDecision.Answer(Status()),
        _ => throw new ArgumentException($"A batch job has no command {command.GetType().Name}.", nameof(command)),
    };

    /// <summary>The items of a finished group not recorded yet, each custom_id once: a repeat after a crash counts once.</summary>
    public IReadOnlyList<ItemCompleted> Fresh(IEnumerable<ItemCompleted> items) =>
        items.Where(i => !Done.ContainsKey(i.CustomId)).DistinctBy(i => i.CustomId, StringComparer.Ordinal).ToList();

    /// <summary>The input's items still to run.</summary>
    public IReadOnlyList<BatchItem> Pending(BatchInput input) => input.Items.Where(i => !Done.ContainsKey(i.CustomId)).ToList();

    /// <summary>What the output files hold and the status the job ends with.</summary>
    public BatchJobOutput Output()
    {
        var created = Created ?? throw new InvalidOperationException($"Batch {BatchId} was never created.");
        var status = CancellingAt is not null ? BatchJobStatus.Cancelled
            : InputMissing || ValidItems == 0 ? BatchJobStatus.Failed
            : BatchJobStatus.Completed;
        var ordered = Done.Values.OrderBy(d => d.Index).ToList();
        var outputLines = ordered.Where(d => d.Succeeded).Select(d => d.Line).ToList();
        var errorLines = created.Malformed.Select(e => BatchOutput.MalformedLine(BatchId, e))
            .Concat(ordered.Where(d => !d.Succeeded).Select(d => d.Line)).ToList();
        return new BatchJobOutput(status, outputLines, errorLines);
    }

    /// <summary>The files are written: the event that ends the job, with its exact counts.</summary>
    public BatchFinished Finish(BatchJobStatus status, string? outputFileId, string? errorFileId, DateTimeOffset now) =>
        new(status, outputFileId, errorFileId, Succeeded, ItemsFailed + (Created?.Malformed.Count ?? 0), now);

    public BatchSnapshot ToSnapshot()
    {
        var (c, f) = (Created, Finished) is ({ } created, { } finished)
            ? (created, finished)
            : throw new InvalidOperationException($"Batch {BatchId} is not finished; only a finished job is snapshotted.");
        return new BatchSnapshot(c, f.Status, f.Completed, f.Failed, f.OutputFileId, f.ErrorFileId, CancellingAt, f.At);
    }

    public BatchJobState Apply(IRouterMessage e) => e switch
    {
        BatchCreated c => this with { Created = c },
        ItemCompleted i when Done.ContainsKey(i.CustomId) => this,
        ItemCompleted i => this with
        {
            Done = Done.Add(i.CustomId, i),
            Succeeded = Succeeded + (i.Succeeded ? 1 : 0),
            ItemsFailed = ItemsFailed + (i.Succeeded ? 0 : 1),
        },
        BatchCancelled x => this with { CancellingAt = x.At },
        BatchFinished f => this with { Finished = f, Succeeded = f.Completed, ItemsFailed = f.Failed - (Created?.Malformed.Count ?? 0) },
        _ => throw new ArgumentException($"A batch job has no event {e.GetType().Name}.", nameof(e)),
    };

    /// <summary>The job's item events are deleted (their lines are in the files): only the counts stay.</summary>
    public BatchJobState WithoutItems() => this with { Done = NoItems };

    public BatchJobState WithStarted(DateTimeOffset now) => this with { InProgressAt = InProgressAt ?? now };

    public BatchJobState WithItemsRunning(bool running) => this with { ItemsRunning = running };

    public BatchJobState WithFinalizing(DateTimeOffset now, bool inputMissing = false) =>
        this with { FinalizingAt = FinalizingAt ?? now, InputMissing = InputMissing || inputMissing };

    /// <summary>The job as clients see it.</summary>
    public BatchStatus Status()
    {
        if (Created is not { } c) return BatchStatus.NotFound(BatchId);
        var f = Finished;
        var status = f?.Status
            ?? (FinalizingAt is not null ? (CancellingAt is not null ? BatchJobStatus.Cancelling : BatchJobStatus.Finalizing)
                : CancellingAt is not null ? BatchJobStatus.Cancelling
                : ItemsRunning || Done.Count > 0 ? BatchJobStatus.InProgress
                : BatchJobStatus.Validating);
        return new BatchStatus(
            BatchId, true, c.KeyId, status, c.InputFileId, c.Endpoint, c.CompletionWindow, c.Total,
            Succeeded, ItemsFailed + c.Malformed.Count, f?.OutputFileId, f?.ErrorFileId, c.At,
            status == BatchJobStatus.Validating ? null : InProgressAt ?? c.At,
            FinalizingAt,
            f is { Status: BatchJobStatus.Completed } ? f.At : null,
            f is { Status: BatchJobStatus.Failed } ? f.At : null,
            CancellingAt,
            f is { Status: BatchJobStatus.Cancelled } ? f.At : null,
            c.Metadata);
    }

    // Equality is the journal's part only (see the summary).
    public bool Equals(BatchJobState? other) =>
        other is not null
        && BatchId == other.BatchId
        && Equals(Created, other.Created)
        && Succeeded == other.Succeeded
        && ItemsFailed == other.ItemsFailed
        && CancellingAt == other.CancellingAt
        && Equals(Finished, other.Finished)
        && Done.Count == other.Done.Count
        && Done.All(kv => other.Done.TryGetValue(kv.Key, out var item) && item == kv.Value);

    public override int GetHashCode() => HashCode.Combine(BatchId, Created, Succeeded, ItemsFailed, CancellingAt, Finished, Done.Count);
}

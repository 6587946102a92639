using System.Text;
using Router.Actors.Batches;
using Router.Contracts.Batches;
using Router.Contracts.Serialization;
using static Router.Contracts.Batches.BatchCommands;
using static Router.Contracts.Batches.BatchEvents;

namespace Router.Actors.Tests.Batches;

/// <summary>
/// A batch job's rules without an ActorSystem: the test is the actor. It writes each decided event to a list (the
/// "journal") before applying it, and reports the job's progress (started, items running, finalizing) as
/// <see cref="BatchJobActor"/> does.
/// </summary>
public sealed class BatchJobStateTests
{
    private const string Id = "batch_test";
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly BatchLineError[] TwoMalformed =
    [
        new(2, null, "invalid_json", "Line 2 is not JSON."),
        new(5, "dup", "duplicate_custom_id", "custom_id 'dup' is used twice."),
    ];

    private readonly List<IRouterMessage> _journal = [];
    private BatchJobState _state = BatchJobState.Empty(Id);
    private DateTimeOffset _now = Start;

    private static Create CreateCommand(int total, IReadOnlyList<BatchLineError>? malformed = null) =>
        new(Id, "key-1", "hash-1", "file-in", "/v1/chat/completions", "24h", total, malformed ?? [], null);

    private static ItemCompleted Item(string customId, int index, bool succeeded = true) =>
        new(customId, index, succeeded, $"{{\"custom_id\":\"{customId}\"}}", Start);

    // What the actor does with a decision: write its events, then apply each; the reply, or the status after them.
    private object Send(IWithBatchId command)
    {
        var (reply, events) = _state.Decide(command, _now);
        Write(events);
        return reply ?? _state.Status();
    }

    private void Write(IEnumerable<IRouterMessage> events)
    {
        foreach (var e in events)
        {
            _journal.Add(e);
            _state = _state.Apply(e);
        }
    }

    private void Created(int total, IReadOnlyList<BatchLineError>? malformed = null)
    {
        Send(CreateCommand(total, malformed));
        _state = _state.WithStarted(_now);
    }

    private void Finish(string? outputFileId = "out", string? errorFileId = null)
    {
        var output = _state.Output();
        Write([_state.Finish(output.Status, outputFileId, errorFileId, _now)]);
    }

    [Fact]
    public void An_unknown_job_is_not_found_for_every_command_and_persists_nothing()
    {
        Assert.False(((BatchStatus)Send(new GetStatus(Id))).Exists);
        Assert.False(((BatchStatus)Send(new Cancel(Id))).Exists);
        Assert.Equal(new Resumed(Id, false, false), Send(new Resume(Id)));
        Assert.Empty(_journal);
        Assert.Equal(BatchJobPhase.Empty, _state.Phase);
    }

    [Fact]
    public void Create_is_persisted_once_and_the_job_is_validating_until_items_run()
    {
        var decision = _state.Decide(CreateCommand(10, TwoMalformed), Start);

        var created = Assert.IsType<BatchCreated>(Assert.Single(decision.Events));
        Assert.Null(decision.Reply);
        Assert.Equal(("key-1", "hash-1", 10, Start), (created.KeyId, created.KeyHash, created.Total, created.At));
        Write(decision.Events);
        _state = _state.WithStarted(Start.AddSeconds(1));
        Assert.Equal(BatchJobPhase.Active, _state.Phase);
        Assert.Equal(8, _state.ValidItems);
        var status = _state.Status();
        Assert.Equal(BatchJobStatus.Validating, status.Status);
        Assert.Null(status.InProgressAt);
        Assert.Equal(2, status.Failed); // the malformed lines count as failed from the start

        // Creating again (a retried HTTP call) answers the job as it is and writes nothing.
        var again = _state.Decide(CreateCommand(99), Start.AddMinutes(1));
        Assert.Empty(again.Events);
        Assert.Equal(10, Assert.IsType<BatchStatus>(again.Reply).Total);

        _state = _state.WithItemsRunning(true);
        Assert.Equal(BatchJobStatus.InProgress, _state.Status().Status);
        Assert.Equal(Start.AddSeconds(1), _state.Status().InProgressAt);
        Assert.Equal(new Resumed(Id, true, false), Send(new Resume(Id)));
    }

    [Fact]
    public void Counts_are_exact_and_an_item_repeated_after_a_crash_counts_once()
    {
        Created(5, TwoMalformed); // 3 valid items
        var group = _state.Fresh([Item("a", 0), Item("b", 1, succeeded: false), Item("a", 0)]);
        Assert.Equal(["a", "b"], group.Select(i => i.CustomId));
        Write(group);

        // The stream ran "a" again after a restart: it is not fresh, and applying it anyway changes nothing.
        Assert.Equal(["c"], _state.Fresh([Item("a", 0), Item("c", 2)]).Select(i => i.CustomId));
        var before = _state;
        Assert.Equal(before, _state.Apply(Item("a", 0, succeeded: false)));
        Assert.Equal((1, 1), (_state.Succeeded, _state.ItemsFailed));
        Assert.False(_state.AllItemsDone);
        Assert.Equal(BatchJobStatus.InProgress, _state.Status().Status);

        Write(_state.Fresh([Item("c", 2)]));
        Assert.True(_state.AllItemsDone);
        var status = _state.Status();
        Assert.Equal((2, 3), (status.Completed, status.Failed)); // 1 failed item + 2 malformed lines
    }

    [Fact]
    public void Pending_leaves_out_the_items_already_done()
    {
        var input = BatchInput.Parse(Encoding.UTF8.GetBytes(string.Join("\n", new[] { "a", "b", "c" }.Select(Line))), "/v1/chat/completions");
        Created(3);
        Write([Item("b", 1)]);

        Assert.Equal(["a", "c"], _state.Pending(input).Select(i => i.CustomId));

        static string Line(string id) => $$$"""{"custom_id":"{{{id}}}","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}""";
    }

    [Fact]
    public void Completing_writes_results_in_input_order_and_malformed_lines_first_among_errors()
    {
        Created(5, TwoMalformed);
        Write([Item("c", 2), Item("a", 0), Item("b", 1, succeeded: false)]);
        _state = _state.WithFinalizing(_now);
        Assert.Equal(BatchJobPhase.Finalizing, _state.Phase);
        Assert.Equal(BatchJobStatus.Finalizing, _state.Status().Status);

        var output = _state.Output();

        Assert.Equal(BatchJobStatus.Completed, output.Status);
        Assert.Equal([Item("a", 0).Line, Item("c", 2).Line], output.OutputLines);
        Assert.Equal(3, output.ErrorLines.Count);
        Assert.Contains("\"invalid_json\"", output.ErrorLines[0]);
        Assert.Contains("\"duplicate_custom_id\"", output.ErrorLines[1]);
        Assert.Equal(Item("b", 1).Line, output.ErrorLines[2]);
    }

    [Fact]
    public void A_completed_job_is_terminal_with_its_files_and_exact_counts()
    {
        Created(4, TwoMalformed);
        Write([Item("a", 0), Item("b", 1, succeeded: false)]);
        _state = _state.WithFinalizing(_now);
        _now = Start.AddMinutes(3);

        Finish("file-out", "file-err");

        Assert.Equal(BatchJobPhase.Finished, _state.Phase);
        var finished = Assert.IsType<BatchFinished>(_journal[^1]);
        Assert.Equal((BatchJobStatus.Completed, 1, 3, _now), (finished.Status, finished.Completed, finished.Failed, finished.At));
        var status = _state.Status();
        Assert.Equal((BatchJobStatus.Completed, "file-out", "file-err"), (status.Status, status.OutputFileId, status.ErrorFileId));
        Assert.Equal(_now, status.CompletedAt);
        Assert.Null(status.FailedAt);
        Assert.Null(status.CancelledAt);

        // Terminal: cancel and create change nothing; the sweep is told to stop waking it.
        Assert.Equal(BatchJobStatus.Completed, ((BatchStatus)Send(new Cancel(Id))).Status);
        Assert.Equal(BatchJobStatus.Completed, ((BatchStatus)Send(CreateCommand(4))).Status);
        Assert.Equal(new Resumed(Id, true, true), Send(new Resume(Id)));
        Assert.Equal(4, _journal.Count);
    }

    [Fact]
    public void Cancelling_is_persisted_once_keeps_finished_items_and_ends_cancelled()
    {
        Created(3);
        Write([Item("a", 0)]);
        _now = Start.AddMinutes(1);

        var cancelling = (BatchStatus)Send(new Cancel(Id));

        Assert.IsType<BatchCancelled>(_journal[^1]);
        Assert.Equal((BatchJobStatus.Cancelling, _now), (cancelling.Status, cancelling.CancellingAt));
        Assert.True(_state.NothingToRun); // a restart while cancelling goes straight to finalizing
        Send(new Cancel(Id));
        Assert.Single(_journal, e => e is BatchCancelled);

        _state = _state.WithFinalizing(_now);
        Assert.Equal(BatchJobStatus.Cancelling, _state.Status().Status);
        var output = _state.Output();
        Assert.Equal(BatchJobStatus.Cancelled, output.Status);
        Assert.Single(output.OutputLines);
        _now = Start.AddMinutes(2);
        Finish();

        var status = _state.Status();
        Assert.Equal((BatchJobStatus.Cancelled, 1, 0), (status.Status, status.Completed, status.Failed));
        Assert.Equal((Start.AddMinutes(1), _now), (status.CancellingAt, status.CancelledAt));
        Assert.Null(status.CompletedAt);
    }

    [Fact]
    public void A_job_that_is_finalizing_is_no_longer_cancelled()
    {
        Created(1);
        Write([Item("a", 0)]);
        _state = _state.WithFinalizing(_now);

        var reply = (BatchStatus)Send(new Cancel(Id));

        Assert.Equal(BatchJobStatus.Finalizing, reply.Status);
        Assert.DoesNotContain(_journal, e => e is BatchCancelled);
        Assert.Equal(BatchJobStatus.Completed, _state.Output().Status);
    }

    [Fact]
    public void A_missing_input_file_or_no_valid_line_fails_the_job()
    {
        Created(2);
        _state = _state.WithFinalizing(_now, inputMissing: true);
        Assert.Equal(BatchJobStatus.Failed, _state.Output().Status);
        Finish(outputFileId: null);
        Assert.Equal(BatchJobStatus.Failed, _state.Status().Status);
        Assert.Equal(_now, _state.Status().FailedAt);

        var allBad = BatchJobState.Empty(Id);
        allBad = allBad.Apply(allBad.Decide(CreateCommand(2, TwoMalformed), Start).Events[0]);
        Assert.True(allBad.NothingToRun);
        var output = allBad.WithFinalizing(Start).Output();
        Assert.Equal(BatchJobStatus.Failed, output.Status);
        Assert.Empty(output.OutputLines);
        Assert.Equal(2, output.ErrorLines.Count);
    }

    [Fact]
    public void Replaying_the_journal_gives_the_live_state_and_the_snapshot_keeps_the_summary()
    {
        Created(4, TwoMalformed);
        Write([Item("a", 0), Item("b", 1, succeeded: false)]);
        Send(new Cancel(Id));
        _state = _state.WithFinalizing(_now);
        Finish("out", "err");

        var replayed = _journal.Aggregate(BatchJobState.Empty(Id), (s, e) => s.Apply(e));
        Assert.Equal(_state, replayed);
        // When finalizing began is this incarnation's knowledge, not the journal's.
        var live = _state.Status() with { FinalizingAt = null };
        Assert.Equal(live, replayed.Status());

        // Once snapshotted the item events are deleted: the recovered job answers exactly as before.
        var recovered = BatchJobState.FromSnapshot(Id, _state.ToSnapshot());
        Assert.Equal(_state.WithoutItems(), recovered);
        Assert.Equal(live, recovered.Status());
        Assert.Equal(BatchJobPhase.Finished, recovered.Phase);
    }
}

using Akka.Actor;
using Akka.Streams;
using Router.Node.Ingress;
using Router.Node.Batches;
using Router.Node.Configuration;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Batches;

/// <summary>Batch items take only capacity nobody else asks for, and are let in by signals, not by polling.</summary>
public sealed class BatchGateTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly ActorSystem _system = ActorSystem.Create("batch-gate-test");
    private IngressQueue _ingress = null!;

    public Task InitializeAsync()
    {
        // One interactive request at a time, so a second one waits in the queue for as long as the test holds the first.
        _ingress = new IngressQueue(_system.Materializer(), new IngressQueueSettings(QueueSize: 4, Parallelism: 1), TimeProvider.System);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _ingress.DisposeAsync();
        await _system.Terminate();
    }

    private static BatchGate Gate(IngressQueue ingress, int nodeParallelism) =>
        new(new RouterOptions { Batches = { NodeParallelism = nodeParallelism } }, ingress);

    [Fact]
    public async Task An_item_waits_while_an_interactive_request_waits_and_enters_when_it_leaves_the_queue()
    {
        var gate = Gate(_ingress, 4);
        var (release, requests) = await OneRequestWaitingAsync();

        // One request waits for the only slot (the held one has it): no batch item may start.
        var entering = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(entering.IsCompleted);
        Assert.Equal(1, _ingress.Waiting);

        // The held request ends and the waiting one leaves the queue: that is the item's signal.
        release.SetResult();
        using (await entering.WaitAsync(Patience))
        {
            Assert.Equal(new[] { true, true }, await Task.WhenAll(requests).WaitAsync(Patience));
        }
    }

    [Fact]
    public async Task An_item_cancelled_while_yielding_to_interactive_traffic_gives_its_slot_back()
    {
        var gate = Gate(_ingress, 1);
        var (release, requests) = await OneRequestWaitingAsync();
        using var cancel = new CancellationTokenSource();

        var entering = gate.EnterAsync(cancel.Token).AsTask();
        Assert.False(entering.IsCompleted);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => entering);

        release.SetResult();
        await Task.WhenAll(requests).WaitAsync(Patience);
        // The node's only batch slot is free again.
        using var turn = await gate.EnterAsync(CancellationToken.None).AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task The_node_budget_lets_one_more_item_in_exactly_when_a_turn_is_given_back()
    {
        var gate = Gate(_ingress, 2);
        var a = await gate.EnterAsync(CancellationToken.None);
        using var b = await gate.EnterAsync(CancellationToken.None);

        var third = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);

        a.Dispose();
        using var c = await third.WaitAsync(Patience);
    }

    /// <summary>One interactive request running (held until the returned source is completed) and one waiting behind it.</summary>
    private async Task<(TaskCompletionSource Release, Task<bool>[] Requests)> OneRequestWaitingAsync()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = _ingress.TryRunAsync(() => release.Task, CancellationToken.None).AsTask();
        var queued = _ingress.TryRunAsync(() => Task.CompletedTask, CancellationToken.None).AsTask();
        var deadline = DateTime.UtcNow + Patience;
        // Offers reach the queue's stream asynchronously: wait until the first runs and the second waits.
        while (_ingress.Running != 1 || _ingress.Waiting != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, $"running {_ingress.Running}, waiting {_ingress.Waiting}");
            await Task.Delay(10);
        }
        return (release, [held, queued]);
    }
}

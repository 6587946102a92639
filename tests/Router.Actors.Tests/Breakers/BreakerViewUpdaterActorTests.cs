using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Breakers;
using Router.Contracts.Breakers;
using Xunit.Abstractions;

namespace Router.Actors.Tests.Breakers;

public sealed class BreakerViewUpdaterActorTests : SingleNodeClusterTestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _clock = new();
    private readonly BreakerView _view = new();

    public BreakerViewUpdaterActorTests(ITestOutputHelper output) : base(output)
    {
        Sys.ActorOf(BreakerViewUpdater.Props(_view, _clock));
    }

    private long NowTicks => _clock.GetElapsedTime(0).Ticks;

    private void Publish(BreakerEvents.StateChanged changed) => Mediator.Tell(new Publish(BreakerEvents.Topic, changed));

    /// <summary>
    /// Publishes until the updater has applied it (its subscription is registered asynchronously), then waits for
    /// one more publication, so no repeat still in flight can land after the test moves on.
    /// </summary>
    private void PublishUntil(BreakerEvents.StateChanged changed, Action applied)
    {
        AwaitAssert(() =>
        {
            Publish(changed);
            applied();
        }, Wait, TimeSpan.FromMilliseconds(50));

        var barrier = "barrier-" + Guid.NewGuid().ToString("N");
        Publish(new BreakerEvents.StateChanged(barrier, "Open", 60_000, null, 0));
        AwaitAssert(() => Assert.False(_view.IsAvailable(barrier, NowTicks)), Wait);
    }

    [Fact]
    public void A_published_open_makes_the_deployment_unavailable_until_a_published_close()
    {
        PublishUntil(new BreakerEvents.StateChanged("d1", "Open", 60_000, null, 0),
            () => Assert.False(_view.IsAvailable("d1", NowTicks)));

        Publish(new BreakerEvents.StateChanged("d1", "Closed", null, null, 0));

        AwaitAssert(() => Assert.True(_view.IsAvailable("d1", NowTicks)), Wait);
    }

    [Fact]
    public void The_remaining_open_time_is_rebuilt_on_the_local_clock()
    {
        PublishUntil(new BreakerEvents.StateChanged("d1", "Open", 30_000, null, 0),
            () => Assert.False(_view.IsAvailable("d1", NowTicks)));

        _clock.Advance(TimeSpan.FromMilliseconds(29_999));
        Assert.False(_view.IsAvailable("d1", NowTicks, out var availableAt));
        // FakeTimeProvider's GetElapsedTime goes through a double: at its default date that is exact to ~13 µs only.
        Assert.InRange(availableAt!.Value - NowTicks, TimeSpan.FromMilliseconds(0.9).Ticks, TimeSpan.FromMilliseconds(1.1).Ticks);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(_view.IsAvailable("d1", NowTicks));
    }

    [Fact]
    public void An_unknown_status_is_ignored_rather_than_guessed()
    {
        PublishUntil(new BreakerEvents.StateChanged("d1", "Open", 60_000, null, 0),
            () => Assert.False(_view.IsAvailable("d1", NowTicks)));

        Publish(new BreakerEvents.StateChanged("d1", "Melting", null, null, 0));
        Publish(new BreakerEvents.StateChanged("d1", "7", null, null, 0));
        // Published after the odd ones: once it is applied, they have been handled.
        Publish(new BreakerEvents.StateChanged("d2", "Open", 60_000, null, 0));
        AwaitAssert(() => Assert.False(_view.IsAvailable("d2", NowTicks)), Wait);

        Assert.True(_view.TryGet("d1", out var d1));
        Assert.Equal(BreakerStatus.Open, d1.State);
    }
}

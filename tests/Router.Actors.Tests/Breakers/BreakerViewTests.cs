using Router.Actors.Breakers;

namespace Router.Actors.Tests.Breakers;

public sealed class BreakerViewTests
{
    private static readonly long Second = TimeSpan.TicksPerSecond;

    [Fact]
    public void Unknown_deployment_is_available()
    {
        var view = new BreakerView();

        Assert.True(view.IsAvailable("never-heard-of", 0));
    }

    [Fact]
    public void Open_deployment_is_unavailable_until_due_and_says_when()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, 10 * Second));

        Assert.False(view.IsAvailable("d1", 9 * Second, out var at));
        Assert.Equal(10 * Second, at);
        Assert.True(view.IsAvailable("d1", 10 * Second, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void Half_open_and_closed_deployments_are_available()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("half", BreakerStatus.HalfOpen, null));
        view.Apply(new BreakerSnapshot("closed", BreakerStatus.Closed, null));

        Assert.True(view.IsAvailable("half", 0));
        Assert.True(view.IsAvailable("closed", 0));
    }

    [Fact]
    public void A_later_snapshot_replaces_the_earlier_one()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, 100 * Second));
        Assert.False(view.IsAvailable("d1", Second));

        view.Apply(new BreakerSnapshot("d1", BreakerStatus.Closed, null));

        Assert.True(view.IsAvailable("d1", Second));
        Assert.True(view.TryGet("d1", out var held));
        Assert.Equal(BreakerStatus.Closed, held.State);
    }

    [Fact]
    public void Deployments_are_independent()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, 100 * Second));

        Assert.False(view.IsAvailable("d1", 0));
        Assert.True(view.IsAvailable("d2", 0));
    }

    [Fact]
    public void Removed_deployment_reads_available_again()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, 100 * Second));

        Assert.True(view.Remove("d1"));

        Assert.True(view.IsAvailable("d1", 0));
    }

    [Fact]
    public void Lists_all_snapshots_ordered_by_deployment()
    {
        var view = new BreakerView();
        view.Apply(new BreakerSnapshot("b", BreakerStatus.Closed, null));
        view.Apply(new BreakerSnapshot("a", BreakerStatus.Open, 5));

        Assert.Equal(["a", "b"], view.All().Select(s => s.DeploymentId));
    }

    [Fact]
    public void Snapshot_crosses_clocks_as_a_remaining_duration()
    {
        // The owner's clock reads 1000 s, this node's reads 7 s: only the remaining time means anything here.
        var remote = new BreakerSnapshot("d1", BreakerStatus.Open, 1_030 * Second);
        var remaining = remote.RemainingOpen(1_000 * Second);
        Assert.Equal(TimeSpan.FromSeconds(30), remaining);

        var local = BreakerSnapshot.FromRemaining("d1", BreakerStatus.Open, remaining, 7 * Second);
        var view = new BreakerView();
        view.Apply(local);

        Assert.Equal(37 * Second, local.HalfOpenAtTicks);
        Assert.False(view.IsAvailable("d1", 36 * Second));
        Assert.True(view.IsAvailable("d1", 37 * Second));
    }

    [Fact]
    public void Remaining_open_is_null_unless_open_and_never_negative()
    {
        Assert.Null(new BreakerSnapshot("d", BreakerStatus.HalfOpen, null).RemainingOpen(0));
        Assert.Equal(TimeSpan.Zero, new BreakerSnapshot("d", BreakerStatus.Open, 5).RemainingOpen(10));
        Assert.Null(BreakerSnapshot.FromRemaining("d", BreakerStatus.Closed, TimeSpan.FromSeconds(3), 0).HalfOpenAtTicks);
    }
}

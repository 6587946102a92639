using Router.Actors.Breakers;

namespace Router.Actors.Tests.Breakers;

public sealed class CircuitBreakerStateTests
{
    private static readonly long Second = TimeSpan.TicksPerSecond;
    private static readonly BreakerSettings Settings = new(FailureThreshold: 3, OpenDuration: TimeSpan.FromSeconds(30), HalfOpenProbes: 2);

    private static CircuitBreakerState NewBreaker() => new(Settings);

    private static CircuitBreakerState OpenedAt(long now)
    {
        var breaker = NewBreaker();
        for (var i = 0; i < Settings.FailureThreshold; i++)
        {
            breaker.OnFailure(now);
        }

        Assert.Equal(BreakerStatus.Open, breaker.State);
        return breaker;
    }

    [Fact]
    public void Starts_closed_and_admits_everything()
    {
        var breaker = NewBreaker();

        Assert.Equal(BreakerStatus.Closed, breaker.State);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(breaker.TryAcquire(i));
        }

        Assert.Null(breaker.OpenedAtTicks);
        Assert.Null(breaker.HalfOpenAtTicks);
    }

    [Fact]
    public void Opens_after_threshold_consecutive_failures_and_reports_the_transition()
    {
        var breaker = NewBreaker();

        Assert.Null(breaker.OnFailure(10));
        Assert.Null(breaker.OnFailure(20));
        var transition = breaker.OnFailure(30);

        Assert.Equal(new BreakerTransition(BreakerStatus.Closed, BreakerStatus.Open, 30, 30 + 30 * Second), transition);
        Assert.Equal(BreakerStatus.Open, breaker.State);
        Assert.Equal(30, breaker.OpenedAtTicks);
        Assert.Equal(30 + 30 * Second, breaker.HalfOpenAtTicks);
        Assert.Equal(30, breaker.LastFailureTicks);
    }

    [Fact]
    public void A_success_resets_the_consecutive_failure_count()
    {
        var breaker = NewBreaker();
        breaker.OnFailure(1);
        breaker.OnFailure(2);

        Assert.Null(breaker.OnSuccess(3));
        Assert.Equal(0, breaker.ConsecutiveFailures);
        Assert.Null(breaker.OnFailure(4));
        Assert.Null(breaker.OnFailure(5));

        Assert.Equal(BreakerStatus.Closed, breaker.State);
        Assert.Equal(2, breaker.ConsecutiveFailures);
    }

    [Fact]
    public void Refuses_while_open_until_the_open_period_ends()
    {
        var breaker = OpenedAt(0);

        Assert.False(breaker.TryAcquire(1));
        Assert.False(breaker.TryAcquire(30 * Second - 1, out var transition));
        Assert.Null(transition);
        Assert.Equal(BreakerStatus.Open, breaker.State);
    }

    [Fact]
    public void Turns_half_open_lazily_on_the_first_call_after_the_open_period()
    {
        var breaker = OpenedAt(0);

        Assert.Equal(BreakerStatus.Open, breaker.State);
        Assert.Equal(BreakerStatus.HalfOpen, breaker.StateAt(30 * Second));
        Assert.Equal(BreakerStatus.Open, breaker.State); // StateAt only looks

        Assert.True(breaker.TryAcquire(31 * Second, out var transition));
        Assert.Equal(new BreakerTransition(BreakerStatus.Open, BreakerStatus.HalfOpen, 31 * Second, null), transition);
        Assert.Equal(BreakerStatus.HalfOpen, breaker.State);
        Assert.Null(breaker.HalfOpenAtTicks);
    }

    [Fact]
    public void Advance_moves_to_half_open_only_when_due()
    {
        var breaker = OpenedAt(0);

        Assert.Null(breaker.Advance(30 * Second - 1));
        var transition = breaker.Advance(30 * Second);

        Assert.NotNull(transition);
        Assert.Equal(BreakerStatus.HalfOpen, transition.To);
        Assert.Null(breaker.Advance(40 * Second));
    }

    [Fact]
    public void Half_open_admits_at_most_the_configured_probes_concurrently()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;

        Assert.True(breaker.TryAcquire(due));
        Assert.True(breaker.TryAcquire(due + 1));
        Assert.False(breaker.TryAcquire(due + 2));
        Assert.False(breaker.TryAcquire(due + 3));
        Assert.Equal(2, breaker.ProbesInFlight);
    }

    [Fact]
    public void An_abandoned_probe_returns_its_permit()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        breaker.TryAcquire(due);
        Assert.False(breaker.TryAcquire(due));

        breaker.OnAbandoned(due + 1);

        Assert.Equal(BreakerStatus.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquire(due + 2));
        Assert.False(breaker.TryAcquire(due + 3));
    }

    [Fact]
    public void The_first_successful_probe_closes_the_breaker()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        breaker.TryAcquire(due);

        var transition = breaker.OnSuccess(due + Second);

        Assert.Equal(new BreakerTransition(BreakerStatus.HalfOpen, BreakerStatus.Closed, due + Second, null), transition);
        Assert.Equal(BreakerStatus.Closed, breaker.State);
        Assert.Equal(0, breaker.ProbesInFlight);
        Assert.Null(breaker.OpenedAtTicks);
        Assert.True(breaker.TryAcquire(due + 2 * Second));
    }

    [Fact]
    public void After_closing_a_late_probe_failure_counts_as_an_ordinary_failure()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        breaker.TryAcquire(due);
        breaker.OnSuccess(due + 1);

        Assert.Null(breaker.OnFailure(due + 2));

        Assert.Equal(BreakerStatus.Closed, breaker.State);
        Assert.Equal(1, breaker.ConsecutiveFailures);
    }

    [Fact]
    public void A_failed_probe_reopens_for_a_fresh_open_period()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        var failedAt = due + 5 * Second;

        var transition = breaker.OnFailure(failedAt);

        Assert.Equal(new BreakerTransition(BreakerStatus.HalfOpen, BreakerStatus.Open, failedAt, failedAt + 30 * Second), transition);
        Assert.Equal(BreakerStatus.Open, breaker.State);
        Assert.Equal(failedAt, breaker.OpenedAtTicks);
        Assert.False(breaker.TryAcquire(failedAt + 29 * Second));
        Assert.True(breaker.TryAcquire(failedAt + 30 * Second));
        Assert.Equal(BreakerStatus.HalfOpen, breaker.State);
    }

    [Fact]
    public void Reopened_breaker_starts_a_new_half_open_with_a_full_set_of_permits()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        breaker.TryAcquire(due);
        breaker.OnFailure(due + 1);

        var nextDue = due + 1 + 30 * Second;
        Assert.True(breaker.TryAcquire(nextDue));
        Assert.True(breaker.TryAcquire(nextDue));
        Assert.False(breaker.TryAcquire(nextDue));
    }

    [Fact]
    public void Outcomes_while_open_neither_close_nor_extend_the_open_period()
    {
        var breaker = OpenedAt(0);

        Assert.Null(breaker.OnSuccess(Second));
        Assert.Null(breaker.OnFailure(2 * Second));

        Assert.Equal(BreakerStatus.Open, breaker.State);
        Assert.Equal(0, breaker.OpenedAtTicks);
        Assert.Equal(2 * Second, breaker.LastFailureTicks);
        Assert.True(breaker.TryAcquire(30 * Second));
    }

    [Fact]
    public void Outcomes_while_half_open_without_a_probe_in_flight_are_ignored()
    {
        var breaker = OpenedAt(0);
        breaker.Advance(30 * Second);

        Assert.Null(breaker.OnSuccess(31 * Second));
        Assert.Null(breaker.OnFailure(32 * Second));

        Assert.Equal(BreakerStatus.HalfOpen, breaker.State);
    }

    [Fact]
    public void A_probe_never_reported_is_reclaimed_after_the_open_duration()
    {
        var breaker = OpenedAt(0);
        var due = 30 * Second;
        breaker.TryAcquire(due);
        breaker.TryAcquire(due + Second);
        Assert.False(breaker.TryAcquire(due + 29 * Second));

        // The first probe is now 30 s old: presumed lost, its permit comes back; the second is still fresh.
        Assert.True(breaker.TryAcquire(due + 30 * Second));
        Assert.False(breaker.TryAcquire(due + 30 * Second));
        Assert.Equal(2, breaker.ProbesInFlight);
    }

    [Fact]
    public void Snapshot_carries_the_due_time_while_open()
    {
        var breaker = OpenedAt(100);

        Assert.Equal(new BreakerSnapshot("d1", BreakerStatus.Open, 100 + 30 * Second), breaker.Snapshot("d1"));
        breaker.Advance(100 + 30 * Second);
        Assert.Equal(new BreakerSnapshot("d1", BreakerStatus.HalfOpen, null), breaker.Snapshot("d1"));
    }

    [Theory]
    [InlineData(0, 30, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(1, 30, 0)]
    public void Rejects_settings_that_could_never_open_or_recover(int threshold, int openSeconds, int probes) =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new CircuitBreakerState(new BreakerSettings(threshold, TimeSpan.FromSeconds(openSeconds), probes)));
}

using Router.Actors.Dispatch;
using Router.Actors.Upstreams;

namespace Router.Actors.Tests.Dispatch;

public sealed class RetryPolicyTests
{
    private static readonly RetrySettings Settings = new(
        MaxAttempts: 5, BaseDelay: TimeSpan.FromMilliseconds(200), MaxDelay: TimeSpan.FromSeconds(5), Deadline: TimeSpan.FromSeconds(60));

    private static readonly RetryPolicy Policy = new(Settings);
    private static readonly Func<double> NoJitter = () => 0;
    private static readonly Func<double> FullJitter = () => 1;

    private static readonly Alternatives Everything = new(OtherKey: true, NextDeployment: true, LargerContext: true);
    private static readonly Alternatives OnlyNextDeployment = new(OtherKey: false, NextDeployment: true, LargerContext: false);

    private static RetryDecision Decide(
        UpstreamFailureKind kind, Alternatives alternatives, int attempts = 1, bool streamStarted = false,
        TimeSpan elapsed = default, TimeSpan? retryAfter = null, Func<double>? jitter = null) =>
        Policy.Decide(kind, attempts, streamStarted, elapsed, alternatives, retryAfter, jitter ?? FullJitter);

    // --- backoff

    [Theory]
    [InlineData(0, 200)]
    [InlineData(1, 400)]
    [InlineData(2, 800)]
    [InlineData(4, 3200)]
    [InlineData(5, 5000)]
    [InlineData(30, 5000)]
    [InlineData(1000, 5000)]
    public void Full_jitter_at_one_reaches_the_capped_exponential_ceiling(int attempt, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Policy.NextDelay(attempt, null, FullJitter));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    public void Jitter_at_zero_means_no_wait(int attempt) =>
        Assert.Equal(TimeSpan.Zero, Policy.NextDelay(attempt, null, NoJitter));

    [Fact]
    public void Jitter_scales_uniformly_inside_the_ceiling() =>
        Assert.Equal(TimeSpan.FromMilliseconds(200), Policy.NextDelay(2, null, () => 0.25));

    [Theory]
    [InlineData(-0.5, 0)]
    [InlineData(7, 800)]
    [InlineData(double.NaN, 0)]
    public void Jitter_outside_zero_to_one_is_clamped(double jitter, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Policy.NextDelay(2, null, () => jitter));

    [Fact]
    public void Never_sooner_than_retry_after()
    {
        var retryAfter = TimeSpan.FromSeconds(3);

        Assert.Equal(retryAfter, Policy.NextDelay(0, retryAfter, NoJitter));
        Assert.Equal(retryAfter, Policy.NextDelay(0, retryAfter, FullJitter));
    }

    [Fact]
    public void Retry_after_beyond_the_max_delay_is_still_honoured() =>
        Assert.Equal(TimeSpan.FromSeconds(30), Policy.NextDelay(0, TimeSpan.FromSeconds(30), FullJitter));

    [Fact]
    public void A_backoff_longer_than_retry_after_is_kept() =>
        Assert.Equal(TimeSpan.FromSeconds(5), Policy.NextDelay(10, TimeSpan.FromMilliseconds(10), FullJitter));

    [Fact]
    public void Every_random_delay_stays_within_bounds()
    {
        var random = new Random(1234);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var ceiling = TimeSpan.FromTicks(Math.Min(Settings.MaxDelay.Ticks, Settings.BaseDelay.Ticks << attempt));
            for (var i = 0; i < 200; i++)
            {
                var delay = Policy.NextDelay(attempt, null, random);
                Assert.InRange(delay, TimeSpan.Zero, ceiling);
            }
        }
    }

    // --- the decision table

    [Fact]
    public void Never_retries_once_the_stream_started()
    {
        foreach (var kind in Enum.GetValues<UpstreamFailureKind>())
        {
            var decision = Decide(kind, Everything, streamStarted: true);
            Assert.Equal(RetryAction.GiveUp, decision.Action);
            Assert.Equal("stream-started", decision.Reason);
        }
    }

    [Fact]
    public void Stops_at_max_attempts()
    {
        Assert.True(Decide(UpstreamFailureKind.ServerError, Everything, attempts: 4).ShouldRetry);

        var decision = Decide(UpstreamFailureKind.ServerError, Everything, attempts: 5);

        Assert.Equal(RetryDecision.GiveUp("max-attempts"), decision);
    }

    [Fact]
    public void Rate_limited_tries_another_key_of_the_same_deployment_first_without_waiting()
    {
        var decision = Decide(UpstreamFailureKind.RateLimited, Everything, retryAfter: TimeSpan.FromSeconds(20));

        Assert.Equal(new RetryDecision(RetryAction.RetrySameDeploymentOtherKey, TimeSpan.Zero, "rate-limited"), decision);
    }

    [Fact]
    public void Rate_limited_without_another_key_moves_to_the_next_deployment() =>
        Assert.Equal(RetryAction.NextDeployment, Decide(UpstreamFailureKind.RateLimited, OnlyNextDeployment).Action);

    [Fact]
    public void Rate_limited_with_nothing_else_waits_for_retry_after_on_the_same_deployment()
    {
        var decision = Decide(UpstreamFailureKind.RateLimited, Alternatives.None, retryAfter: TimeSpan.FromSeconds(8), jitter: NoJitter);

        Assert.Equal(new RetryDecision(RetryAction.RetrySameDeployment, TimeSpan.FromSeconds(8), "rate-limited"), decision);
    }

    [Fact]
    public void Provider_auth_failure_tries_another_key_then_the_next_deployment_then_gives_up()
    {
        Assert.Equal(RetryAction.RetrySameDeploymentOtherKey, Decide(UpstreamFailureKind.AuthFailed, Everything).Action);
        Assert.Equal(RetryAction.NextDeployment, Decide(UpstreamFailureKind.AuthFailed, OnlyNextDeployment).Action);
        Assert.Equal(RetryDecision.GiveUp("provider-auth"), Decide(UpstreamFailureKind.AuthFailed, Alternatives.None));
    }

    [Theory]
    [InlineData(UpstreamFailureKind.ServerError, "server-error")]
    [InlineData(UpstreamFailureKind.Overloaded, "overloaded")]
    [InlineData(UpstreamFailureKind.Timeout, "timeout")]
    [InlineData(UpstreamFailureKind.ConnectFailure, "connect-failure")]
    [InlineData(UpstreamFailureKind.Reset, "reset")]
    [InlineData(UpstreamFailureKind.InvalidResponse, "invalid-response")]
    public void Deployment_failures_move_to_the_next_deployment_at_once(UpstreamFailureKind kind, string reason) =>
        Assert.Equal(new RetryDecision(RetryAction.NextDeployment, TimeSpan.Zero, reason),
            Decide(kind, Everything, retryAfter: TimeSpan.FromSeconds(3)));

    [Theory]
    [InlineData(UpstreamFailureKind.ServerError)]
    [InlineData(UpstreamFailureKind.Overloaded)]
    [InlineData(UpstreamFailureKind.Timeout)]
    [InlineData(UpstreamFailureKind.ConnectFailure)]
    [InlineData(UpstreamFailureKind.Reset)]
    [InlineData(UpstreamFailureKind.InvalidResponse)]
    public void Deployment_failures_with_no_other_deployment_retry_the_same_one_after_backoff(UpstreamFailureKind kind)
    {
        var decision = Decide(kind, new Alternatives(OtherKey: true, NextDeployment: false, LargerContext: false), attempts: 3);

        Assert.Equal(RetryAction.RetrySameDeployment, decision.Action);
        Assert.Equal(TimeSpan.FromMilliseconds(800), decision.Delay); // third attempt failed: ceiling 200 ms · 2²
    }

    [Fact]
    public void Backoff_on_the_same_deployment_honours_retry_after()
    {
        var decision = Decide(UpstreamFailureKind.Overloaded, Alternatives.None, retryAfter: TimeSpan.FromSeconds(2), jitter: NoJitter);

        Assert.Equal(TimeSpan.FromSeconds(2), decision.Delay);
    }

    [Fact]
    public void Context_length_exceeded_falls_back_to_a_larger_context_or_gives_up()
    {
        Assert.Equal(new RetryDecision(RetryAction.FallbackLargerContext, TimeSpan.Zero, "context-length"),
            Decide(UpstreamFailureKind.ContextLengthExceeded, Everything));
        Assert.Equal(RetryDecision.GiveUp("context-length"),
            Decide(UpstreamFailureKind.ContextLengthExceeded, OnlyNextDeployment));
    }

    [Fact]
    public void Not_found_tries_the_next_deployment_or_gives_up()
    {
        Assert.Equal(RetryAction.NextDeployment, Decide(UpstreamFailureKind.NotFound, OnlyNextDeployment).Action);
        Assert.Equal(RetryDecision.GiveUp("not-found"),
            Decide(UpstreamFailureKind.NotFound, new Alternatives(OtherKey: true, NextDeployment: false, LargerContext: false)));
    }

    [Fact]
    public void Bad_request_gives_up_whatever_is_left() =>
        Assert.Equal(RetryDecision.GiveUp("bad-request"), Decide(UpstreamFailureKind.BadRequest, Everything));

    [Fact]
    public void Every_failure_kind_has_a_rule()
    {
        foreach (var kind in Enum.GetValues<UpstreamFailureKind>())
        {
            Assert.NotEqual("unknown", Decide(kind, Everything).Reason);
        }
    }

    [Fact]
    public void Gives_up_when_the_deadline_has_passed_even_for_an_immediate_switch() =>
        Assert.Equal(RetryDecision.GiveUp("deadline"),
            Decide(UpstreamFailureKind.ServerError, Everything, elapsed: TimeSpan.FromSeconds(60)));

    [Fact]
    public void Gives_up_when_the_backoff_would_end_past_the_deadline()
    {
        var elapsed = TimeSpan.FromSeconds(55);

        Assert.Equal(RetryAction.RetrySameDeployment,
            Decide(UpstreamFailureKind.RateLimited, Alternatives.None, elapsed: elapsed, retryAfter: TimeSpan.FromSeconds(4)).Action);
        Assert.Equal(RetryDecision.GiveUp("deadline"),
            Decide(UpstreamFailureKind.RateLimited, Alternatives.None, elapsed: elapsed, retryAfter: TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Rejects_settings_that_allow_no_attempt() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(Settings with { MaxAttempts = 0 }));
}

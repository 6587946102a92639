using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;

namespace Router.Actors.Tests.RateLimiting;

public sealed class KeyRateLimiterTests
{
    private const long T0 = 5_000_000;

    private static long At(TimeSpan offset) => T0 + offset.Ticks;

    [Fact]
    public void Admits_up_to_rpm_then_refuses_for_requests_with_retry_after()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 3, Tpm: null, MaxConcurrent: null), T0);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.Admit(T0, 10).Admitted);
        }

        var refused = limiter.Admit(T0, 10);
        Assert.False(refused.Admitted);
        Assert.Equal(LimitKind.Requests, refused.RefusedBy);
        Assert.Equal(TimeSpan.FromSeconds(20), refused.RetryAfter);
        Assert.Equal(new RateLimitStatus(3, 0, 60_000), refused.Requests);
        Assert.Null(refused.Tokens);
    }

    [Fact]
    public void Admission_reports_limit_remaining_and_reset_for_both_limits()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(60, 6000, null), T0);

        var admitted = limiter.Admit(T0, 600);

        Assert.True(admitted.Admitted);
        Assert.Null(admitted.RefusedBy);
        Assert.Equal(new RateLimitStatus(60, 59, 1_000), admitted.Requests);
        Assert.Equal(new RateLimitStatus(6000, 5400, 6_000), admitted.Tokens);
    }

    [Fact]
    public void A_refusal_for_tokens_takes_no_request()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 2, Tpm: 100, MaxConcurrent: null), T0);
        Assert.True(limiter.Admit(T0, 90).Admitted);

        var refused = limiter.Admit(T0, 50);

        Assert.Equal(LimitKind.Tokens, refused.RefusedBy);
        Assert.Equal(TimeSpan.FromSeconds(24), refused.RetryAfter); // 40 missing at 100/min
        Assert.Equal(1, refused.Requests!.Remaining);
        Assert.Equal(10, refused.Tokens!.Remaining);
        Assert.True(limiter.Admit(T0, 10).Admitted);
    }

    [Fact]
    public void A_refusal_for_requests_takes_no_tokens_and_no_slot()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 1, Tpm: 100, MaxConcurrent: 5), T0);
        limiter.Admit(T0, 10);

        var refused = limiter.Admit(T0, 10);

        Assert.Equal(LimitKind.Requests, refused.RefusedBy);
        Assert.Equal(90, refused.Tokens!.Remaining);
        Assert.Equal(1, limiter.InFlight);
    }

    [Fact]
    public void When_several_limits_refuse_the_longest_wait_is_reported()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 1, Tpm: 60, MaxConcurrent: 1), T0);
        limiter.Admit(T0, 60);

        var refused = limiter.Admit(T0, 60);

        // Requests: 60 s; tokens: 60 s (tie goes to requests); concurrency: 1 s hint.
        Assert.Equal(LimitKind.Requests, refused.RefusedBy);
        Assert.Equal(TimeSpan.FromMinutes(1), refused.RetryAfter);

        limiter.Complete(T0, 60, 60);
        var later = At(TimeSpan.FromSeconds(59));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.Admit(later, 60).RetryAfter);
    }

    [Fact]
    public void An_estimate_above_tpm_never_fits_and_gives_no_retry_after()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 10, Tpm: 1000, MaxConcurrent: null), T0);

        var refused = limiter.Admit(T0, 1001);

        Assert.False(refused.Admitted);
        Assert.Equal(LimitKind.NeverFits, refused.RefusedBy);
        Assert.Null(refused.RetryAfter);
        Assert.Equal(10, refused.Requests!.Remaining);
        Assert.Equal(1000, refused.Tokens!.Remaining);
        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public void Concurrency_limit_refuses_until_a_request_completes()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, null, MaxConcurrent: 2), T0);
        limiter.Admit(T0, 0);
        limiter.Admit(T0, 0);

        var refused = limiter.Admit(T0, 0);
        Assert.Equal(LimitKind.Concurrency, refused.RefusedBy);
        Assert.Equal(KeyRateLimiter.ConcurrencyRetryAfter, refused.RetryAfter);

        limiter.Complete(T0, 0, 0);

        Assert.Equal(1, limiter.InFlight);
        Assert.True(limiter.Admit(T0, 0).Admitted);
    }

    [Fact]
    public void Abort_after_a_client_disconnect_frees_the_slot_and_refunds_the_estimate()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 10, Tpm: 1000, MaxConcurrent: 1), T0);
        limiter.Admit(T0, 400);

        limiter.Abort(T0, 400);

        Assert.Equal(0, limiter.InFlight);
        Assert.Equal(1000, limiter.TokenStatus(T0)!.Remaining);
        Assert.Equal(9, limiter.RequestStatus(T0)!.Remaining); // the request still counts
        Assert.True(limiter.Admit(T0, 1000).Admitted);
    }

    [Fact]
    public void Abort_after_partial_usage_keeps_what_was_used()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, Tpm: 1000, null), T0);
        limiter.Admit(T0, 400);

        limiter.Abort(T0, 400, tokensUsed: 150);

        Assert.Equal(850, limiter.TokenStatus(T0)!.Remaining);
    }

    [Fact]
    public void Completion_below_the_estimate_refunds_the_difference()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, Tpm: 1000, MaxConcurrent: 3), T0);
        limiter.Admit(T0, 500);

        limiter.Complete(T0, 500, 120);

        Assert.Equal(880, limiter.TokenStatus(T0)!.Remaining);
        Assert.Equal(0, limiter.InFlight);
    }

    [Fact]
    public void Completion_above_the_estimate_creates_debt_that_delays_later_admissions()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, Tpm: 600, null), T0);
        limiter.Admit(T0, 100);

        limiter.Complete(T0, 100, 900); // 300 over capacity: 30 s of refill at 10 per second

        var refused = limiter.Admit(T0, 0);
        Assert.Equal(LimitKind.Tokens, refused.RefusedBy);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);
        Assert.Equal(0, refused.Tokens!.Remaining);
        Assert.True(limiter.Admit(At(TimeSpan.FromSeconds(30)), 0).Admitted);
    }

    [Fact]
    public void Reconcile_settles_tokens_without_freeing_a_slot()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, Tpm: 1000, MaxConcurrent: 1), T0);
        limiter.Admit(T0, 100);

        limiter.Reconcile(T0, 100, 300);

        Assert.Equal(700, limiter.TokenStatus(T0)!.Remaining);
        Assert.Equal(1, limiter.InFlight);
    }

    [Fact]
    public void Releasing_more_than_was_admitted_does_not_go_negative()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(null, null, MaxConcurrent: 1), T0);

        limiter.Complete(T0, 0, 0);
        limiter.Abort(T0, 0);

        Assert.Equal(0, limiter.InFlight);
        Assert.True(limiter.Admit(T0, 0).Admitted);
        Assert.False(limiter.Admit(T0, 0).Admitted);
    }

    [Fact]
    public void An_unlimited_key_admits_everything_and_reports_no_limits()
    {
        var limiter = new KeyRateLimiter(KeyLimits.Unlimited, T0);

        for (var i = 0; i < 10_000; i++)
        {
            var decision = limiter.Admit(T0, 1_000_000);
            Assert.True(decision.Admitted);
            Assert.Null(decision.Requests);
            Assert.Null(decision.Tokens);
        }
    }

    [Fact]
    public void Reconfigure_keeps_levels_clamped_and_starts_new_limits_full()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 100, Tpm: null, MaxConcurrent: null), T0);
        for (var i = 0; i < 30; i++)
        {
            limiter.Admit(T0, 0);
        }

        limiter.Reconfigure(new KeyLimits(Rpm: 50, Tpm: 1000, MaxConcurrent: 1), T0);
        Assert.Equal(new RateLimitStatus(50, 50, 0), limiter.RequestStatus(T0));
        Assert.Equal(1000, limiter.TokenStatus(T0)!.Remaining);
        // 30 requests still in flight exceed the new concurrency limit.
        Assert.Equal(LimitKind.Concurrency, limiter.Admit(T0, 0).RefusedBy);

        limiter.Reconfigure(new KeyLimits(Rpm: 10, Tpm: null, MaxConcurrent: null), T0);
        Assert.Equal(10, limiter.RequestStatus(T0)!.Remaining);
        Assert.Null(limiter.TokenStatus(T0));

        limiter.Reconfigure(new KeyLimits(Rpm: 100, Tpm: null, MaxConcurrent: null), T0);
        Assert.Equal(10, limiter.RequestStatus(T0)!.Remaining); // raising keeps the level
    }

    [Fact]
    public void Export_and_restore_keep_levels_and_in_flight_count()
    {
        var limiter = new KeyRateLimiter(new KeyLimits(Rpm: 10, Tpm: 1000, MaxConcurrent: 2), T0);
        limiter.Admit(T0, 300);
        limiter.Admit(T0, 300);

        var restored = KeyRateLimiter.Restore(limiter.Limits, limiter.Export(T0), T0);

        Assert.Equal(2, restored.InFlight);
        Assert.Equal(8, restored.RequestStatus(T0)!.Remaining);
        Assert.Equal(400, restored.TokenStatus(T0)!.Remaining);
        Assert.Equal(LimitKind.Concurrency, restored.Admit(T0, 0).RefusedBy);
    }

    [Theory]
    [InlineData(0, null, null)]
    [InlineData(null, -1, null)]
    [InlineData(null, null, 0)]
    public void Non_positive_limits_are_rejected(int? rpm, int? tpm, int? maxConcurrent)
    {
        var limits = new KeyLimits(rpm, tpm, maxConcurrent);

        Assert.NotNull(limits.Validate());
        Assert.Throws<ArgumentException>(() => new KeyRateLimiter(limits, T0));
    }
}

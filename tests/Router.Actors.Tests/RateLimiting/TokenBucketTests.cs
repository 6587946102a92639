using Router.Actors.RateLimiting;

namespace Router.Actors.Tests.RateLimiting;

public sealed class TokenBucketTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private const long T0 = 1_000_000;

    private static long At(TimeSpan offset) => T0 + offset.Ticks;

    [Fact]
    public void Starts_full_and_allows_a_burst_up_to_capacity()
    {
        var bucket = new TokenBucket(60, Minute, T0);

        for (var i = 59; i >= 0; i--)
        {
            var decision = bucket.TryTake(T0, 1);
            Assert.True(decision.Taken);
            Assert.Equal(i, decision.Remaining);
        }

        Assert.False(bucket.TryTake(T0, 1).Taken);
    }

    [Fact]
    public void Refuses_when_bucket_empty_and_reports_retry_after()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 60);

        var refused = bucket.TryTake(T0, 1);

        Assert.False(refused.Taken);
        Assert.Equal(0, refused.Remaining);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);
    }

    [Fact]
    public void Retry_after_is_exact_one_tick_earlier_is_refused_and_at_it_is_admitted()
    {
        var bucket = new TokenBucket(7, Minute, T0); // 60/7 s per unit: not a whole number of ticks
        bucket.TryTake(T0, 7);
        var start = At(TimeSpan.FromMilliseconds(1234));

        var retryAfter = bucket.TryTake(start, 3).RetryAfter;

        Assert.Equal((3 * Minute.Ticks + 6) / 7, retryAfter.Ticks + TimeSpan.FromMilliseconds(1234).Ticks);
        Assert.False(bucket.TryTake(start + retryAfter.Ticks - 1, 3).Taken);
        Assert.True(bucket.TryTake(start + retryAfter.Ticks, 3).Taken);
    }

    [Fact]
    public void Refills_continuously_in_proportion_to_elapsed_time()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 60);

        Assert.Equal(0, bucket.Available(At(TimeSpan.FromMilliseconds(999))));
        Assert.Equal(1, bucket.Available(At(TimeSpan.FromMilliseconds(1500))));
        Assert.Equal(30, bucket.Available(At(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public void Partial_refill_is_kept_across_takes()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 60);

        // 1.5 units refilled; taking one leaves half a unit, so the next is due 0.5 s later, not 1 s.
        Assert.True(bucket.TryTake(At(TimeSpan.FromMilliseconds(1500)), 1).Taken);
        Assert.Equal(TimeSpan.FromMilliseconds(500), bucket.TryTake(At(TimeSpan.FromMilliseconds(1500)), 1).RetryAfter);
    }

    [Fact]
    public void Never_refills_above_capacity()
    {
        var bucket = new TokenBucket(10, Minute, T0);
        bucket.TryTake(T0, 1);

        Assert.Equal(10, bucket.Available(At(TimeSpan.FromHours(5))));
        Assert.True(bucket.TryTake(At(TimeSpan.FromHours(5)), 10).Taken);
        Assert.False(bucket.TryTake(At(TimeSpan.FromHours(5)), 1).Taken);
    }

    [Fact]
    public void A_refused_take_takes_nothing()
    {
        var bucket = new TokenBucket(10, Minute, T0);
        bucket.TryTake(T0, 8);

        Assert.False(bucket.TryTake(T0, 3).Taken);
        Assert.Equal(2, bucket.Available(T0));
    }

    [Fact]
    public void Cost_above_capacity_never_fits_and_says_so()
    {
        var bucket = new TokenBucket(100, Minute, T0);

        var decision = bucket.TryTake(T0, 101);

        Assert.False(decision.Taken);
        Assert.True(bucket.NeverFits(101));
        Assert.Equal(TimeSpan.MaxValue, decision.RetryAfter);
        Assert.Equal(100, bucket.Available(T0));
    }

    [Fact]
    public void Charge_can_go_into_debt_which_delays_later_takes()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 60);

        bucket.Charge(T0, 30);

        Assert.Equal(-30, bucket.Available(T0));
        // 30 of debt plus 1 unit needed: 31 s at one per second, even for a zero cost the debt must go first.
        Assert.Equal(TimeSpan.FromSeconds(31), bucket.TryTake(T0, 1).RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(30), bucket.TryTake(T0, 0).RetryAfter);
        Assert.True(bucket.TryTake(At(TimeSpan.FromSeconds(31)), 1).Taken);
    }

    [Fact]
    public void Charge_with_a_debt_limit_forgives_usage_beyond_it()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 50);

        bucket.Charge(T0, 100, maxDebt: 60);

        Assert.Equal(-60, bucket.Available(T0));
        Assert.Equal(TimeSpan.FromSeconds(61), bucket.TryTake(T0, 1).RetryAfter);
    }

    [Fact]
    public void Charge_within_the_debt_limit_is_charged_in_full()
    {
        var bucket = new TokenBucket(60, Minute, T0);

        bucket.Charge(T0, 90, maxDebt: 60);

        Assert.Equal(-30, bucket.Available(T0));
    }

    [Fact]
    public void Compare_levels_counts_fractions_of_a_unit()
    {
        var a = new TokenBucket(60, Minute, T0);
        var b = new TokenBucket(60, Minute, T0);
        a.TryTake(T0, 1);
        b.TryTake(At(TimeSpan.FromMilliseconds(500)), 1);

        // At 0.75 s a holds 59.75 and b 59.25: the same whole units, yet a holds more.
        var now = At(TimeSpan.FromMilliseconds(750));
        Assert.Equal(59, a.Available(now));
        Assert.Equal(59, b.Available(now));
        Assert.True(TokenBucket.CompareLevels(a, b, now) > 0);
        Assert.True(TokenBucket.CompareLevels(b, a, now) < 0);
        Assert.Equal(0, TokenBucket.CompareLevels(a, a, now));
    }

    [Fact]
    public void Compare_levels_weighs_buckets_of_different_periods_by_units_held()
    {
        var perMinute = new TokenBucket(10, Minute, T0);
        var perHour = new TokenBucket(20, TimeSpan.FromHours(1), T0);

        Assert.True(TokenBucket.CompareLevels(perHour, perMinute, T0) > 0); // 20 units against 10
        perHour.TryTake(T0, 10);
        Assert.Equal(0, TokenBucket.CompareLevels(perHour, perMinute, T0));
    }

    [Fact]
    public void Refund_gives_back_but_never_above_capacity()
    {
        var bucket = new TokenBucket(100, Minute, T0);
        bucket.TryTake(T0, 50);

        bucket.Refund(T0, 20);
        Assert.Equal(70, bucket.Available(T0));

        bucket.Refund(T0, 500);
        Assert.Equal(100, bucket.Available(T0));
    }

    [Fact]
    public void Time_until_full_reports_the_reset()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        Assert.Equal(TimeSpan.Zero, bucket.TimeUntilFull(T0));

        bucket.TryTake(T0, 6);

        Assert.Equal(TimeSpan.FromSeconds(6), bucket.TimeUntilFull(T0));
        Assert.Equal(TimeSpan.FromSeconds(4), bucket.TimeUntilFull(At(TimeSpan.FromSeconds(2))));
    }

    [Fact]
    public void Reconfigure_clamps_the_level_to_a_lower_capacity_and_keeps_it_under_a_higher_one()
    {
        var bucket = new TokenBucket(100, Minute, T0);
        bucket.TryTake(T0, 40);

        bucket.Reconfigure(50, T0);
        Assert.Equal(50, bucket.Available(T0));

        bucket.Reconfigure(1000, T0);
        Assert.Equal(50, bucket.Available(T0));
        Assert.Equal(1000, bucket.Capacity);
        // The new rate applies from now: 1000/min refills 500 in 30 s.
        Assert.Equal(550, bucket.Available(At(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public void Export_and_restore_keep_the_level_and_the_partial_refill()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.TryTake(T0, 60);
        var now = At(TimeSpan.FromMilliseconds(2500)); // 2.5 units refilled

        var state = bucket.Export(now);
        var restored = TokenBucket.Restore(60, Minute, state);

        Assert.Equal(2, state.Level);
        Assert.Equal(2, restored.Available(now));
        Assert.Equal(bucket.TryTake(now, 3).RetryAfter, restored.TryTake(now, 3).RetryAfter);
    }

    [Fact]
    public void Restore_of_a_debt_keeps_the_debt()
    {
        var bucket = new TokenBucket(60, Minute, T0);
        bucket.Charge(T0, 100);

        var restored = TokenBucket.Restore(60, Minute, bucket.Export(T0));

        Assert.Equal(-40, restored.Available(T0));
    }

    [Fact]
    public void A_clock_going_backwards_adds_nothing()
    {
        var bucket = new TokenBucket(60, Minute, At(TimeSpan.FromSeconds(10)));
        bucket.TryTake(At(TimeSpan.FromSeconds(10)), 60);

        Assert.Equal(0, bucket.Available(T0));
        Assert.Equal(1, bucket.Available(At(TimeSpan.FromSeconds(11))));
    }

    [Fact]
    public void Large_capacity_over_a_long_period_does_not_overflow()
    {
        var bucket = new TokenBucket(2_000_000_000, TimeSpan.FromDays(30), T0);
        bucket.TryTake(T0, 2_000_000_000);

        Assert.Equal(1_000_000_000, bucket.Available(At(TimeSpan.FromDays(15))));
    }
}

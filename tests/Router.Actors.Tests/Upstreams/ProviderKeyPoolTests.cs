using Router.Actors.Upstreams;

namespace Router.Actors.Tests.Upstreams;

public sealed class ProviderKeyPoolTests
{
    private static readonly long Second = TimeSpan.TicksPerSecond;
    private static readonly long Minute = TimeSpan.TicksPerMinute;

    private static ProviderKeyPool Pool(params ProviderKeySpec[] keys) => new("openai", keys);

    private static ProviderKeyPool TwoKeys() => Pool(new ProviderKeySpec("a"), new ProviderKeySpec("b"));

    [Fact]
    public void Leases_a_key_and_counts_it_in_flight_until_released()
    {
        var pool = Pool(new ProviderKeySpec("a"));

        var lease = pool.TryAcquire(0, 10);

        Assert.NotNull(lease);
        Assert.Equal("a", lease.KeyId);
        Assert.Equal("openai", lease.Provider);
        Assert.Equal(1, pool.InFlight("a"));
        pool.Release(lease, 1);
        Assert.Equal(0, pool.InFlight("a"));
    }

    [Fact]
    public void Releasing_twice_does_not_undercount()
    {
        var pool = Pool(new ProviderKeySpec("a"));
        var first = pool.TryAcquire(0, 0)!;
        _ = pool.TryAcquire(0, 0)!;

        pool.Release(first, 1);
        pool.Release(first, 1);

        Assert.Equal(1, pool.InFlight("a"));
    }

    [Fact]
    public void Picks_the_key_with_fewest_requests_in_flight()
    {
        var pool = Pool(new ProviderKeySpec("a"), new ProviderKeySpec("b"), new ProviderKeySpec("c"));

        var keys = Enumerable.Range(0, 6).Select(_ => pool.TryAcquire(0, 0)!.KeyId).ToArray();

        Assert.Equal(["a", "b", "c", "a", "b", "c"], keys);
    }

    [Fact]
    public void A_released_key_is_preferred_again()
    {
        var pool = TwoKeys();
        _ = pool.TryAcquire(0, 0)!;
        var b = pool.TryAcquire(0, 0)!;

        pool.Release(b, 1);

        Assert.Equal("b", pool.TryAcquire(2, 0)!.KeyId);
    }

    [Fact]
    public void Among_equally_busy_keys_picks_the_one_with_most_rpm_left()
    {
        var pool = Pool(new ProviderKeySpec("small", Rpm: 10), new ProviderKeySpec("big", Rpm: 100));

        Assert.Equal("big", pool.TryAcquire(0, 0)!.KeyId);
    }

    [Fact]
    public void A_key_without_rpm_limit_counts_as_having_the_most_left()
    {
        var pool = Pool(new ProviderKeySpec("limited", Rpm: 1_000_000), new ProviderKeySpec("unlimited"));

        Assert.Equal("unlimited", pool.TryAcquire(0, 0)!.KeyId);
    }

    [Fact]
    public void Spends_rpm_so_the_fuller_key_wins_once_in_flight_is_equal()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 10), new ProviderKeySpec("b", Rpm: 10));
        pool.Release(pool.TryAcquire(0, 0)!, 0); // a spent one, nothing in flight

        Assert.Equal("b", pool.TryAcquire(0, 0)!.KeyId);
    }

    [Fact]
    public void Skips_excluded_keys()
    {
        var pool = TwoKeys();

        var lease = pool.TryAcquire(0, 0, new HashSet<string> { "a" });

        Assert.Equal("b", lease!.KeyId);
    }

    [Fact]
    public void Returns_null_without_retry_time_when_every_key_is_excluded()
    {
        var pool = TwoKeys();

        var lease = pool.TryAcquire(0, 0, new HashSet<string> { "a", "b" }, out var retryAt);

        Assert.Null(lease);
        Assert.Null(retryAt);
    }

    [Fact]
    public void Refuses_a_key_whose_rpm_is_spent_and_says_when_it_refills()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 2));
        Assert.Equal("a", pool.TryAcquire(0, 0)?.KeyId);
        Assert.Equal("a", pool.TryAcquire(0, 0)?.KeyId);

        var lease = pool.TryAcquire(0, 0, null, out var retryAt);

        Assert.Null(lease);
        Assert.Equal(30 * Second, retryAt); // 2 per minute: one request back every 30 s
        Assert.Null(pool.TryAcquire(30 * Second - 1, 0));
        Assert.Equal("a", pool.TryAcquire(retryAt!.Value, 0)?.KeyId);
    }

    [Fact]
    public void Refuses_a_key_without_enough_tpm_and_refunds_an_overestimate_on_release()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));
        var lease = pool.TryAcquire(0, 800)!;

        Assert.Null(pool.TryAcquire(0, 300, null, out var retryAt));
        Assert.Equal(6 * Second, retryAt); // 100 short at 1000 per minute

        pool.Release(lease, 0, actualTokens: 100); // 700 refunded: 900 left
        Assert.Equal("a", pool.TryAcquire(0, 300)?.KeyId);
    }

    [Fact]
    public void An_underestimate_is_charged_on_release()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));
        var lease = pool.TryAcquire(0, 100)!;

        pool.Release(lease, 0, actualTokens: 1000); // the whole minute's budget used

        Assert.Null(pool.TryAcquire(0, 1, null, out var retryAt));
        Assert.True(retryAt > 0);
    }

    [Fact]
    public void A_refund_after_the_budget_refilled_never_lifts_it_above_the_limit()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));
        var lease = pool.TryAcquire(0, 300)!;

        pool.Release(lease, Minute, actualTokens: 0); // full again; the 300 refund must not add to it

        Assert.Equal("a", pool.TryAcquire(Minute, 1000)?.KeyId);
        Assert.Null(pool.TryAcquire(Minute, 1));
    }

    [Fact]
    public void A_request_larger_than_the_whole_tpm_goes_through_once_the_budget_is_full()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));

        var lease = pool.TryAcquire(0, 5000);

        Assert.NotNull(lease);
        Assert.Equal(1000, lease.ChargedTokens);
        Assert.Null(pool.TryAcquire(0, 5000, null, out var retryAt));
        Assert.Equal(Minute, retryAt);
    }

    [Fact]
    public void Cools_a_rate_limited_key_for_the_given_retry_after_then_uses_it_again()
    {
        var pool = Pool(new ProviderKeySpec("a"));

        var status = pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(7));

        Assert.Equal(new ProviderKeyStatus("openai", "a", 7 * Second, false), status);
        Assert.Null(pool.TryAcquire(7 * Second - 1, 0, null, out var retryAt));
        Assert.Equal(7 * Second, retryAt);
        Assert.Equal("a", pool.TryAcquire(7 * Second, 0)?.KeyId);
    }

    [Fact]
    public void Moves_to_another_key_while_one_cools_down()
    {
        var pool = TwoKeys();
        pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(5));

        Assert.Equal("b", pool.TryAcquire(1, 0)!.KeyId);
        Assert.Equal("b", pool.TryAcquire(2, 0)!.KeyId);
    }

    [Fact]
    public void Honours_a_retry_after_longer_than_the_default_cap()
    {
        var pool = Pool(new ProviderKeySpec("a"));

        pool.ReportRateLimited("a", 0, TimeSpan.FromMinutes(10));

        Assert.Null(pool.TryAcquire(9 * Minute, 0));
        Assert.Equal("a", pool.TryAcquire(10 * Minute, 0)?.KeyId);
    }

    [Fact]
    public void Without_retry_after_cools_down_one_second_doubling_per_repeat_up_to_a_minute()
    {
        var pool = Pool(new ProviderKeySpec("a"));
        var now = 0L;
        var cooldowns = new List<TimeSpan>();
        for (var i = 0; i < 9; i++)
        {
            var status = pool.ReportRateLimited("a", now, null)!;
            cooldowns.Add(TimeSpan.FromTicks(status.CooldownUntilTicks!.Value - now));
            now = status.CooldownUntilTicks!.Value;
        }

        Assert.Equal(new double[] { 1, 2, 4, 8, 16, 32, 60, 60, 60 }, cooldowns.Select(c => c.TotalSeconds));
    }

    [Fact]
    public void A_success_restarts_the_default_cooldown_sequence()
    {
        var pool = Pool(new ProviderKeySpec("a"));
        pool.ReportRateLimited("a", 0, null);
        pool.ReportRateLimited("a", Second, null);

        pool.ReportSuccess("a");
        var status = pool.ReportRateLimited("a", 10 * Second, null);

        Assert.Equal(11 * Second, status!.CooldownUntilTicks);
    }

    [Fact]
    public void A_shorter_429_never_shortens_a_running_cooldown()
    {
        var pool = Pool(new ProviderKeySpec("a"));
        pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(30));

        var status = pool.ReportRateLimited("a", Second, TimeSpan.FromSeconds(2));

        Assert.Null(status);
        Assert.Null(pool.TryAcquire(29 * Second, 0));
    }

    [Fact]
    public void When_every_key_cools_down_reports_the_earliest_time_one_is_usable()
    {
        var pool = Pool(new ProviderKeySpec("a"), new ProviderKeySpec("b"), new ProviderKeySpec("c"));
        pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(20));
        pool.ReportRateLimited("b", 0, TimeSpan.FromSeconds(5));
        pool.ReportAuthFailure("c");

        Assert.Null(pool.TryAcquire(Second, 0, null, out var retryAt));

        Assert.Equal(5 * Second, retryAt);
        Assert.Equal("b", pool.TryAcquire(5 * Second, 0)!.KeyId);
    }

    [Fact]
    public void Earliest_time_ignores_excluded_keys()
    {
        var pool = TwoKeys();
        pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(1));
        pool.ReportRateLimited("b", 0, TimeSpan.FromSeconds(9));

        Assert.Null(pool.TryAcquire(0, 0, new HashSet<string> { "a" }, out var retryAt));

        Assert.Equal(9 * Second, retryAt);
    }

    [Fact]
    public void Skips_a_disabled_key_for_good()
    {
        var pool = TwoKeys();

        var status = pool.ReportAuthFailure("a");

        Assert.Equal(new ProviderKeyStatus("openai", "a", null, true), status);
        Assert.Null(pool.ReportAuthFailure("a")); // nothing new to publish
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("b", pool.TryAcquire(i * Minute, 0)!.KeyId);
        }
    }

    [Fact]
    public void All_keys_disabled_means_no_lease_and_no_retry_time()
    {
        var pool = TwoKeys();
        pool.ReportAuthFailure("a");
        pool.ReportAuthFailure("b");

        Assert.Null(pool.TryAcquire(0, 0, null, out var retryAt));
        Assert.Null(retryAt);
    }

    [Fact]
    public void Remote_cooldown_is_applied_on_the_local_clock_and_only_lengthens()
    {
        var pool = TwoKeys();

        Assert.True(pool.ApplyRemote("a", TimeSpan.FromSeconds(10), disabled: false, nowTicks: 100 * Second));
        Assert.Equal("b", pool.TryAcquire(109 * Second, 0)!.KeyId);
        Assert.False(pool.ApplyRemote("a", TimeSpan.FromSeconds(1), disabled: false, nowTicks: 100 * Second));

        var statuses = pool.Snapshot(105 * Second);
        Assert.Equal(110 * Second, statuses.Single(s => s.KeyId == "a").CooldownUntilTicks);
    }

    [Fact]
    public void Remote_disable_and_re_enable_are_taken_as_given()
    {
        var pool = Pool(new ProviderKeySpec("a"));

        Assert.True(pool.ApplyRemote("a", cooldownRemaining: null, disabled: true, nowTicks: 0));
        Assert.Null(pool.TryAcquire(0, 0));
        Assert.True(pool.ApplyRemote("a", cooldownRemaining: null, disabled: false, nowTicks: 0));
        Assert.Equal("a", pool.TryAcquire(0, 0)?.KeyId);
    }

    [Fact]
    public void Remote_wall_clock_cooldown_is_converted_to_a_local_wait()
    {
        var pool = Pool(new ProviderKeySpec("a"));
        var wallNow = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        pool.ApplyRemote("a", wallNow.AddSeconds(4), disabled: false, wallNow, nowTicks: 50 * Second);

        Assert.Null(pool.TryAcquire(54 * Second - 1, 0));
        Assert.Equal("a", pool.TryAcquire(54 * Second, 0)?.KeyId);
    }

    [Fact]
    public void Unknown_key_ids_are_ignored()
    {
        var pool = Pool(new ProviderKeySpec("a"));

        Assert.Null(pool.ReportRateLimited("zzz", 0, null));
        Assert.Null(pool.ReportAuthFailure("zzz"));
        Assert.False(pool.ApplyRemote("zzz", TimeSpan.FromSeconds(1), true, 0));
        pool.ReportSuccess("zzz");

        Assert.Equal("a", pool.TryAcquire(0, 0)?.KeyId);
    }

    [Fact]
    public void Snapshot_lists_every_key_in_configuration_order_with_expired_cooldowns_cleared()
    {
        var pool = Pool(new ProviderKeySpec("a"), new ProviderKeySpec("b"), new ProviderKeySpec("c"));
        pool.ReportRateLimited("a", 0, TimeSpan.FromSeconds(1));
        pool.ReportRateLimited("b", 0, TimeSpan.FromSeconds(60));
        pool.ReportAuthFailure("c");

        var statuses = pool.Snapshot(10 * Second);

        Assert.Equal(
            [
                new ProviderKeyStatus("openai", "a", null, false),
                new ProviderKeyStatus("openai", "b", 60 * Second, false),
                new ProviderKeyStatus("openai", "c", null, true),
            ],
            statuses);
        Assert.Equal(TimeSpan.FromSeconds(50), statuses[1].CooldownRemaining(10 * Second));
        Assert.Null(statuses[0].CooldownRemaining(10 * Second));
    }

    [Fact]
    public void Rejects_duplicate_key_ids()
    {
        Assert.Throws<ArgumentException>(() => Pool(new ProviderKeySpec("a"), new ProviderKeySpec("a")));
    }

    [Fact]
    public void Concurrent_acquire_and_release_leave_nothing_in_flight()
    {
        var pool = Pool(new ProviderKeySpec("a"), new ProviderKeySpec("b"), new ProviderKeySpec("c"));

        Parallel.For(0, 10_000, i =>
        {
            var lease = pool.TryAcquire(i, 1);
            Assert.NotNull(lease);
            pool.Release(lease, i);
        });

        Assert.All(pool.KeyIds, id => Assert.Equal(0, pool.InFlight(id)));
    }

    [Fact]
    public void Concurrent_acquires_never_exceed_a_key_budget()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 100), new ProviderKeySpec("b", Rpm: 50));
        var granted = 0;

        Parallel.For(0, 1_000, _ =>
        {
            if (pool.TryAcquire(0, 0) is not null)
            {
                Interlocked.Increment(ref granted);
            }
        });

        Assert.Equal(150, granted);
    }
}

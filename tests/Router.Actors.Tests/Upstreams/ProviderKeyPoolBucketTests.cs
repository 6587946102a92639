using Microsoft.Extensions.Time.Testing;
using Router.Actors.Upstreams;

namespace Router.Actors.Tests.Upstreams;

/// <summary>
/// The pool's per-key RPM and TPM limits, driven by a fake clock as the dispatcher drives them
/// (<see cref="TimeProvider.GetTimestamp"/> ticks): what the keys' own token buckets promise a caller.
/// </summary>
public sealed class ProviderKeyPoolBucketTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));

    private long Now => _time.GetTimestamp();

    private static ProviderKeyPool Pool(params ProviderKeySpec[] keys) => new("openai", keys);

    [Fact]
    public void Rpm_gives_one_request_back_per_interval_and_retrying_at_the_given_time_succeeds()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 60));
        for (var i = 0; i < 60; i++)
        {
            Assert.NotNull(pool.TryAcquire(Now, 0));
        }

        Assert.Null(pool.TryAcquire(Now, 0, null, out var retryAt));
        Assert.Equal(Now + TimeSpan.TicksPerSecond, retryAt);

        _time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
        Assert.Null(pool.TryAcquire(Now, 0));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(retryAt, Now);
        Assert.NotNull(pool.TryAcquire(Now, 0));
        Assert.Null(pool.TryAcquire(Now, 0));
    }

    [Fact]
    public void Buckets_start_full_at_the_first_request_however_long_after_the_pool_was_made()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 2, Tpm: 1000));
        _time.Advance(TimeSpan.FromHours(3));

        Assert.NotNull(pool.TryAcquire(Now, 600));
        Assert.NotNull(pool.TryAcquire(Now, 400));
        Assert.Null(pool.TryAcquire(Now, 1, null, out var retryAt));
        Assert.Equal(Now + 30 * TimeSpan.TicksPerSecond, retryAt); // RPM 2: one back after 30 s (TPM needs 60 ms)
    }

    [Fact]
    public void Tpm_keeps_a_partial_refill_between_requests()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 600)); // 10 tokens a second
        Assert.NotNull(pool.TryAcquire(Now, 600));

        _time.Advance(TimeSpan.FromMilliseconds(550));

        Assert.NotNull(pool.TryAcquire(Now, 5)); // 5.5 refilled
        Assert.Null(pool.TryAcquire(Now, 1, null, out var retryAt)); // 0.5 left
        Assert.Equal(Now + TimeSpan.FromMilliseconds(50).Ticks, retryAt);
    }

    [Fact]
    public void An_underestimate_leaves_at_most_one_minute_of_tokens_in_debt()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));
        var lease = pool.TryAcquire(Now, 100)!;

        pool.Release(lease, Now, actualTokens: 5000); // 4900 more than charged: the bucket bottoms out at -1000

        Assert.Null(pool.TryAcquire(Now, 1, null, out var retryAt));
        Assert.Equal(Now + TimeSpan.FromMilliseconds(60_060).Ticks, retryAt); // 1001 tokens at 1000 a minute
        _time.Advance(TimeSpan.FromMilliseconds(60_060));
        Assert.NotNull(pool.TryAcquire(Now, 1));
    }

    [Fact]
    public void An_overestimate_is_refunded_at_the_release_time()
    {
        var pool = Pool(new ProviderKeySpec("a", Tpm: 1000));
        var lease = pool.TryAcquire(Now, 1000)!;
        _time.Advance(TimeSpan.FromSeconds(6)); // 100 refilled

        pool.Release(lease, Now, actualTokens: 400); // 600 back: 700 now

        Assert.NotNull(pool.TryAcquire(Now, 700));
        Assert.Null(pool.TryAcquire(Now, 1));
    }

    [Fact]
    public void Among_equally_busy_keys_a_fraction_of_a_request_left_decides()
    {
        var pool = Pool(new ProviderKeySpec("a", Rpm: 60), new ProviderKeySpec("b", Rpm: 60));
        pool.Release(pool.TryAcquire(Now, 0, new HashSet<string> { "a" })!, Now); // b: 59
        _time.Advance(TimeSpan.FromMilliseconds(500));
        var first = pool.TryAcquire(Now, 0)!; // a (60) over b (59.5)
        pool.Release(first, Now);
        _time.Advance(TimeSpan.FromMilliseconds(250));

        var lease = pool.TryAcquire(Now, 0)!; // a holds 59.25, b 59.75: the same whole requests

        Assert.Equal("a", first.KeyId);
        Assert.Equal("b", lease.KeyId);
    }
}

using Router.Actors.Routing;
using Router.Actors.Usage;
using Router.Contracts.Chat;

namespace Router.Actors.Tests.Usage;

public sealed class PricingTests
{
    [Fact]
    public void A_million_input_tokens_cost_exactly_the_input_price() =>
        Assert.Equal(0.60m, Pricing.Cost(new TokenUsage(1_000_000, 0), 0.60m, 2.40m));

    [Fact]
    public void Mixed_usage_is_priced_exactly()
    {
        // (1234 × 0.6 + 567 × 2.4) / 1e6 = (740.4 + 1360.8) / 1e6
        Assert.Equal(0.0021012m, Pricing.Cost(new TokenUsage(1234, 567), 0.6m, 2.4m));
    }

    [Fact]
    public void One_token_at_a_fractional_price_keeps_every_digit() =>
        Assert.Equal(0.0000000375m, Pricing.Cost(new TokenUsage(1, 0), 0.0375m, 0m));

    [Fact]
    public void Sums_of_many_small_costs_do_not_drift()
    {
        var total = Enumerable.Range(0, 1_000_000).Aggregate(0m, (sum, _) => sum + Pricing.Cost(new TokenUsage(1, 0), 0.1m, 0m));
        Assert.Equal(0.1m, total);
    }

    [Fact]
    public void Zero_usage_costs_nothing() => Assert.Equal(0m, Pricing.Cost(new TokenUsage(0, 0), 3m, 15m));

    [Fact]
    public void Rounds_beyond_ten_decimals_half_away_from_zero()
    {
        // 1 token at 0.00005 / MTok = 5e-11 → 1e-10; at 0.00004 → 0.
        Assert.Equal(0.0000000001m, Pricing.Cost(new TokenUsage(1, 0), 0.00005m, 0m));
        Assert.Equal(0m, Pricing.Cost(new TokenUsage(1, 0), 0.00004m, 0m));
    }

    [Fact]
    public void Prices_with_a_deployments_rates()
    {
        var deployment = new Deployment("d1", "gpt-4o-mini", "openai", "gpt-4o-mini", 0.15m, 0.60m, 128_000);
        Assert.Equal(0.00045m, Pricing.Cost(new TokenUsage(1000, 500), deployment));
    }

    [Fact]
    public void Refuses_negative_tokens_or_prices()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.Cost(new TokenUsage(-1, 0), 1m, 1m));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.Cost(new TokenUsage(0, -1), 1m, 1m));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.Cost(new TokenUsage(1, 1), -1m, 1m));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pricing.Cost(new TokenUsage(1, 1), 1m, -1m));
    }

    private static Deployment Cached(decimal? cachedPrice, decimal? writePrice) =>
        new("d", "m", "p", "up", 3m, 15m, 200_000) { CachedInputPerMTok = cachedPrice, CacheWriteInputPerMTok = writePrice };

    [Fact]
    public void Cache_reads_and_writes_are_priced_apart_from_plain_input()
    {
        // 1,000,000 prompt tokens: 600,000 read from the cache at 0.30, 100,000 written at 3.75, 300,000 plain at 3; 10,000 out at 15.
        var usage = new TokenUsage(1_000_000, 10_000) { CachedInputTokens = 600_000, CacheWriteInputTokens = 100_000 };

        Assert.Equal(0.18m + 0.375m + 0.9m + 0.15m, Pricing.Cost(usage, Cached(0.30m, 3.75m)));
    }

    [Fact]
    public void Cache_prices_default_to_the_input_price()
    {
        var usage = new TokenUsage(1_000_000, 0) { CachedInputTokens = 600_000, CacheWriteInputTokens = 100_000 };

        Assert.Equal(3m, Pricing.Cost(usage, Cached(null, null)));
        Assert.Equal(Pricing.Cost(new TokenUsage(1_000_000, 0), 3m, 15m), Pricing.Cost(usage, Cached(null, null)));
    }

    [Fact]
    public void Reasoning_tokens_are_output_tokens_and_cost_nothing_extra()
    {
        var usage = new TokenUsage(0, 1_000) { ReasoningTokens = 800 };

        Assert.Equal(0.015m, Pricing.Cost(usage, Cached(0.3m, 3.75m)));
    }
}

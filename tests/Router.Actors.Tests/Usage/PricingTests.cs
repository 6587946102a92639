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
}

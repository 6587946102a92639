using Router.Actors.Routing;
using Router.Contracts.Chat;

namespace Router.Actors.Usage;

/// <summary>
/// Turns token usage into dollars with decimal arithmetic, so budgets and ledger sums never drift the way
/// binary floating point would over millions of small requests.
/// </summary>
public static class Pricing
{
    /// <summary>
    /// Costs are rounded to this many decimal places (1e-10 USD), half away from zero. Any price given with at most
    /// four decimals per million tokens (every public price list today) yields a cost that is exact at this scale,
    /// so nothing is lost in practice; a fixed scale lets the ledger store costs as exact integers / numeric(20,10)
    /// and sum them exactly.
    /// </summary>
    public const int CostDecimals = 10;

    private const decimal TokensPerPriceUnit = 1_000_000m;

    /// <summary>Cost in USD of <paramref name="usage"/> at the given prices per million input and output tokens.</summary>
    public static decimal Cost(TokenUsage usage, decimal inputPerMTok, decimal outputPerMTok)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(usage.InputTokens, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(usage.OutputTokens, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(inputPerMTok);
        ArgumentOutOfRangeException.ThrowIfNegative(outputPerMTok);

        var raw = (usage.InputTokens * inputPerMTok + usage.OutputTokens * outputPerMTok) / TokensPerPriceUnit;
        return Round(raw);
    }

    /// <summary>
    /// Cost in USD of <paramref name="usage"/> at a deployment's prices: uncached prompt tokens at the input price,
    /// cache reads at <see cref="Deployment.CachedInputPerMTok"/>, cache writes at
    /// <see cref="Deployment.CacheWriteInputPerMTok"/> (each the input price when not configured), output at the output price.
    /// </summary>
    public static decimal Cost(TokenUsage usage, Deployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (usage.CachedInputTokens == 0 && usage.CacheWriteInputTokens == 0)
            return Cost(usage, deployment.InputPerMTok, deployment.OutputPerMTok);
        ArgumentOutOfRangeException.ThrowIfNegative(usage.CachedInputTokens, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(usage.CacheWriteInputTokens, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(usage.OutputTokens, nameof(usage));
        var input = deployment.InputPerMTok;
        var raw = (usage.UncachedInputTokens * input
                   + usage.CachedInputTokens * (deployment.CachedInputPerMTok ?? input)
                   + usage.CacheWriteInputTokens * (deployment.CacheWriteInputPerMTok ?? input)
                   + usage.OutputTokens * deployment.OutputPerMTok) / TokensPerPriceUnit;
        return Round(raw);
    }

    /// <summary>Brings any USD amount to the ledger's scale (<see cref="CostDecimals"/>).</summary>
    public static decimal Round(decimal usd) => decimal.Round(usd, CostDecimals, MidpointRounding.AwayFromZero);
}

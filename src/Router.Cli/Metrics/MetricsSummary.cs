namespace Router.Cli.Metrics;

/// <summary>Tokens and cost one model used since the node started.</summary>
public sealed record ModelUsage(string Model, double InputTokens, double OutputTokens, double CostUsd);

/// <summary>A breaker that is not closed: <c>open</c> or <c>half-open</c>.</summary>
public sealed record BreakerSummary(string Deployment, string State);

/// <summary>
/// What <c>routerctl metrics</c> shows for one node, from two scrapes <see cref="IntervalSeconds"/> apart: rates and
/// percentiles cover the interval (the difference of the two scrapes' counters and buckets); tokens and cost are the
/// totals since the node started; gauges are the second scrape's values.
/// </summary>
public sealed record MetricsSummary(
    double IntervalSeconds,
    double RequestsPerSecond,
    IReadOnlyDictionary<string, double> RequestsPerSecondByOutcome,
    double? DurationP50,
    double? DurationP99,
    double? OverheadP50,
    double? OverheadP99,
    IReadOnlyList<ModelUsage> Models,
    IReadOnlyList<BreakerSummary> Breakers,
    double QueueDepth,
    double InFlight)
{
    public static MetricsSummary From(PrometheusText before, PrometheusText after, double intervalSeconds)
    {
        if (intervalSeconds <= 0) throw new ArgumentOutOfRangeException(nameof(intervalSeconds), "the interval must be positive");
        var requests = Delta(before, after, RouterSeries.Requests);
        var byOutcome = requests
            .GroupBy(s => s.Label(RouterSeries.Outcome), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.Value) / intervalSeconds, StringComparer.Ordinal);
        var duration = Delta(before, after, RouterSeries.Bucket(RouterSeries.RequestDuration));
        var overhead = Delta(before, after, RouterSeries.Bucket(RouterSeries.OverheadDuration));
        return new MetricsSummary(
            intervalSeconds,
            requests.Sum(s => s.Value) / intervalSeconds,
            byOutcome,
            HistogramQuantile.Of(0.50, duration),
            HistogramQuantile.Of(0.99, duration),
            HistogramQuantile.Of(0.50, overhead),
            HistogramQuantile.Of(0.99, overhead),
            ModelsOf(after),
            BreakersOf(after),
            after.Named(RouterSeries.IngressQueueDepth).Sum(s => s.Value),
            after.Named(RouterSeries.Inflight).Sum(s => s.Value));
    }

    /// <summary>
    /// Each series of <paramref name="name"/> in <paramref name="after"/> minus the same series in
    /// <paramref name="before"/>; a series that went down was reset (the node restarted), so its whole value counts.
    /// </summary>
    public static IReadOnlyList<PromSample> Delta(PrometheusText before, PrometheusText after, string name)
    {
        var earlier = before.Named(name).GroupBy(Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        return after.Named(name).Select(s =>
        {
            var was = earlier.TryGetValue(Key(s), out var v) ? v : 0;
            return s with { Value = s.Value >= was ? s.Value - was : s.Value };
        }).ToList();
    }

    private static string Key(PromSample s) =>
        string.Join('\u0001', s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "\u0002" + l.Value));

    private static List<ModelUsage> ModelsOf(PrometheusText scrape)
    {
        var tokens = scrape.Named(RouterSeries.Sum(RouterSeries.TokenUsage)).ToList();
        var cost = scrape.Named(RouterSeries.Cost).ToList();
        return tokens.Concat(cost).Select(s => s.Label(RouterSeries.RequestModel)).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(model => new ModelUsage(
                model,
                tokens.Where(s => s.Label(RouterSeries.RequestModel) == model && s.Label(RouterSeries.TokenType) == "input").Sum(s => s.Value),
                tokens.Where(s => s.Label(RouterSeries.RequestModel) == model && s.Label(RouterSeries.TokenType) == "output").Sum(s => s.Value),
                cost.Where(s => s.Label(RouterSeries.RequestModel) == model).Sum(s => s.Value)))
            .ToList();
    }

    private static List<BreakerSummary> BreakersOf(PrometheusText scrape) =>
        scrape.Named(RouterSeries.BreakerState)
            .Where(s => s.Value >= RouterSeries.BreakerHalfOpen)
            .Select(s => new BreakerSummary(s.Label(RouterSeries.Deployment), s.Value >= RouterSeries.BreakerOpen ? "open" : "half-open"))
            .OrderBy(b => b.Deployment, StringComparer.Ordinal)
            .ToList();
}

/// <summary>
/// A quantile from cumulative histogram buckets, the way PromQL's <c>histogram_quantile</c> computes it: the buckets of
/// every label set are added up per <c>le</c>, the bucket holding the rank is found, and the value is interpolated
/// linearly inside it; a rank in the <c>+Inf</c> bucket answers the highest finite bound.
/// </summary>
public static class HistogramQuantile
{
    /// <summary>The <paramref name="q"/> quantile of <paramref name="buckets"/> (<c>_bucket</c> samples), or null when they hold no observation.</summary>
    public static double? Of(double q, IEnumerable<PromSample> buckets)
    {
        var merged = buckets
            .GroupBy(b => PrometheusText.ParseValue(b.Label(RouterSeries.Le)))
            .Select(g => (Upper: g.Key, Count: g.Sum(b => b.Value)))
            .OrderBy(b => b.Upper)
            .ToList();
        if (merged.Count == 0 || !double.IsPositiveInfinity(merged[^1].Upper)) return null;
        var total = merged[^1].Count;
        if (total <= 0) return null;
        var rank = q * total;
        var b = merged.FindIndex(x => x.Count >= rank);
        if (b == merged.Count - 1) return merged.Count >= 2 ? merged[^2].Upper : null;
        if (b == 0 && merged[0].Upper <= 0) return merged[0].Upper;
        var lower = b == 0 ? 0 : merged[b - 1].Upper;
        var countBefore = b == 0 ? 0 : merged[b - 1].Count;
        var inBucket = merged[b].Count - countBefore;
        return inBucket <= 0 ? merged[b].Upper : lower + (merged[b].Upper - lower) * ((rank - countBefore) / inBucket);
    }
}

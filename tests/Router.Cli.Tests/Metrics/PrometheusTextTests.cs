using Router.Cli.Metrics;

namespace Router.Cli.Tests.Metrics;

public sealed class PrometheusTextTests
{
    [Fact]
    public void Parses_names_labels_with_escapes_values_and_ignores_comments_and_timestamps()
    {
        var text = PrometheusText.Parse(
            "# HELP x_total help text\n# TYPE x_total counter\n" +
            "x_total{a=\"plain\",b=\"say \\\"hi\\\"\",c=\"back\\\\slash\",d=\"two\\nlines\"} 12.5 1764924000000\r\n" +
            "\n" +
            "up 1\n" +
            "h_bucket{le=\"+Inf\"} 3e2\n" +
            "g{x=\"1\",} -Inf\n");

        Assert.Equal(["x_total", "up", "h_bucket", "g"], text.Samples.Select(s => s.Name));
        var x = text.Samples[0];
        Assert.Equal(12.5, x.Value);
        Assert.Equal("plain", x.Label("a"));
        Assert.Equal("say \"hi\"", x.Label("b"));
        Assert.Equal("back\\slash", x.Label("c"));
        Assert.Equal("two\nlines", x.Label("d"));
        Assert.Equal("", x.Label("missing"));
        Assert.Empty(text.Samples[1].Labels);
        Assert.Equal(1, text.Samples[1].Value);
        Assert.Equal("+Inf", text.Samples[2].Label("le"));
        Assert.Equal(300, text.Samples[2].Value);
        Assert.Equal(double.NegativeInfinity, text.Samples[3].Value);
    }

    [Theory]
    [InlineData("x{a=\"1\" 2", "line 2")]
    [InlineData("x{a=1} 2", "label without a quoted value")]
    [InlineData("x abc", "'abc' is not a number")]
    [InlineData("x", "expected a value")]
    public void A_malformed_line_is_refused_naming_the_line(string line, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x gauge\n" + line + "\n"));
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void Two_scrapes_give_rates_by_outcome_percentiles_tokens_cost_breakers_and_gauges()
    {
        var s = MetricsSummary.From(PrometheusText.Parse(RecordedScrapes.First), PrometheusText.Parse(RecordedScrapes.Second), 0.5);

        Assert.Equal(26, s.RequestsPerSecond, 9);
        Assert.Equal(["ok", "rate_limited", "shed"], s.RequestsPerSecondByOutcome.Keys);
        Assert.Equal(20, s.RequestsPerSecondByOutcome["ok"], 9);
        Assert.Equal(4, s.RequestsPerSecondByOutcome["rate_limited"], 9);
        Assert.Equal(2, s.RequestsPerSecondByOutcome["shed"], 9);
        Assert.Equal(0.2125, s.DurationP50!.Value, 9);
        Assert.Equal(0.95, s.DurationP99!.Value, 9);
        Assert.Equal(0.001 + 0.004 * 5 / 6, s.OverheadP50!.Value, 9);
        Assert.Equal(0.01, s.OverheadP99!.Value, 9);
        Assert.Equal(
            [new ModelUsage("m-large", 300, 50, 0.00125), new ModelUsage("m-small", 1200, 800, 0.00066)],
            s.Models.Select(m => m with { CostUsd = Math.Round(m.CostUsd, 9) }));
        Assert.Equal([new BreakerSummary("broken/sim-broken", "open"), new BreakerSummary("m-large/sim", "half-open")], s.Breakers);
        Assert.Equal(4, s.QueueDepth);
        Assert.Equal(7, s.InFlight);
    }

    [Fact]
    public void A_counter_that_went_down_was_reset_and_counts_whole()
    {
        var before = PrometheusText.Parse("router_requests_total{router_outcome=\"ok\"} 100\n");
        var after = PrometheusText.Parse("router_requests_total{router_outcome=\"ok\"} 6\n");
        Assert.Equal(3, MetricsSummary.From(before, after, 2).RequestsPerSecond);
    }

    [Fact]
    public void No_request_in_the_interval_has_no_percentile()
    {
        var scrape = PrometheusText.Parse(RecordedScrapes.Second);
        var s = MetricsSummary.From(scrape, scrape, 1);
        Assert.Equal(0, s.RequestsPerSecond);
        Assert.Null(s.DurationP50);
        Assert.Null(s.OverheadP99);
    }

    [Fact]
    public void Quantile_interpolates_inside_the_first_bucket_from_zero()
    {
        var buckets = PrometheusText.Parse("h_bucket{le=\"2\"} 4\nh_bucket{le=\"4\"} 4\nh_bucket{le=\"+Inf\"} 4\n").Samples;
        Assert.Equal(1, HistogramQuantile.Of(0.5, buckets));
        Assert.Equal(2, HistogramQuantile.Of(1, buckets));
    }
}

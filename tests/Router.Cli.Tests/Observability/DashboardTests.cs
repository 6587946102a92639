using System.Text.Json.Nodes;
using Router.Cli.Metrics;

namespace Router.Cli.Tests.Observability;

public sealed class DashboardTests
{
    private readonly JsonObject _dashboard = DashboardQueries.Load();

    [Fact]
    public void Is_a_grafana_dashboard_with_a_prometheus_datasource_variable_and_built_in_panels_only()
    {
        Assert.InRange((int)_dashboard["schemaVersion"]!, 36, 41);
        Assert.False(string.IsNullOrEmpty((string?)_dashboard["uid"]));
        var variables = _dashboard["templating"]!["list"]!.AsArray();
        var ds = Assert.Single(variables, v => (string?)v!["type"] == "datasource")!;
        Assert.Equal("datasource", (string?)ds["name"]);
        Assert.Equal("prometheus", (string?)ds["query"]);
        var builtIn = new[] { "timeseries", "stat", "bargauge", "state-timeline", "gauge", "table" };
        Assert.All(DashboardQueries.Panels(_dashboard), p =>
        {
            Assert.Contains((string?)p["type"], builtIn);
            Assert.Equal("${datasource}", (string?)p["datasource"]!["uid"]);
        });
        // The node selector lists the nodes that serve requests.
        var instance = Assert.Single(variables, v => (string?)v!["name"] == "instance")!;
        Assert.Equal($"label_values({RouterSeries.Requests}, instance)", (string?)instance["definition"]);
    }

    [Fact]
    public void Every_panel_has_a_query_and_every_query_reads_only_series_a_node_exports()
    {
        foreach (var panel in DashboardQueries.Panels(_dashboard))
        {
            var targets = panel["targets"] as JsonArray;
            Assert.True(targets is { Count: > 0 }, $"panel '{panel["title"]}' has no query");
            Assert.All(targets!, t => Assert.False(string.IsNullOrWhiteSpace((string?)t!["expr"]), $"panel '{panel["title"]}' has an empty query"));
        }
        foreach (var (panel, expr) in DashboardQueries.Exprs(_dashboard))
        {
            var names = DashboardQueries.MetricNames(expr);
            Assert.True(names.Count > 0, $"panel '{panel}': no metric in {expr}");
            var unknown = names.Where(n => !RouterSeries.All.Contains(n)).ToList();
            Assert.True(unknown.Count == 0, $"panel '{panel}' reads {string.Join(", ", unknown)}, which no node exports: {expr}");
        }
    }

    [Fact]
    public void The_dashboard_covers_the_issues_views()
    {
        var read = DashboardQueries.Exprs(_dashboard).SelectMany(e => DashboardQueries.MetricNames(e.Expr)).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            RouterSeries.Requests, RouterSeries.Bucket(RouterSeries.RequestDuration), RouterSeries.Bucket(RouterSeries.OverheadDuration),
            RouterSeries.Sum(RouterSeries.TokenUsage), RouterSeries.Cost, RouterSeries.BreakerState, RouterSeries.IngressQueueDepth,
            RouterSeries.Inflight, RouterSeries.ClusterMembers,
        }, read);
        var exprs = DashboardQueries.Exprs(_dashboard).Select(e => e.Expr).ToList();
        foreach (var q in new[] { "0.5", "0.95", "0.99" })
        {
            Assert.Contains(exprs, e => e.StartsWith($"histogram_quantile({q}, ", StringComparison.Ordinal) && e.Contains(RouterSeries.Bucket(RouterSeries.RequestDuration)));
            Assert.Contains(exprs, e => e.StartsWith($"histogram_quantile({q}, ", StringComparison.Ordinal) && e.Contains(RouterSeries.Bucket(RouterSeries.OverheadDuration)));
        }
    }

    [Theory]
    [InlineData("histogram_quantile(0.99, sum by (le, router_deployment) (rate(gen_ai_client_operation_duration_seconds_bucket{instance=~\"$instance\"}[$__rate_interval])))",
        "gen_ai_client_operation_duration_seconds_bucket")]
    [InlineData("sum(rate(a_total{x!=\"ok\",y=~\"b|c\"}[5m])) / on(instance) group_left(z) sum without (q) (b_gauge) * 3600 + 1e3",
        "a_total,b_gauge")]
    [InlineData("max by (router_deployment) (router_breaker_state) > bool 1 or vector(0)", "router_breaker_state")]
    [InlineData("increase(x_total[$__range] offset 1h) and label_replace(y, \"dst\", \"$1\", \"src\", \"(.*)\")", "x_total,y")]
    public void Extracts_metric_names_from_promql(string expr, string expected) =>
        Assert.Equal(expected.Split(',').Order(), DashboardQueries.MetricNames(expr).Order());
}

using System.Text.Json.Nodes;
using Router.Cli.Metrics;
using Router.Cli.Tests.Infrastructure;

namespace Router.Cli.Tests.Metrics;

[Collection(CliNodeCollection.Name)]
public sealed class MetricsCommandTests(CliNode node)
{
    [Fact]
    public async Task Json_summary_of_one_node_from_two_scrapes_over_a_real_socket()
    {
        await using var server = await FakeMetricsServer.StartAsync(RecordedScrapes.First, RecordedScrapes.Second);

        var result = await CliNode.Raw("metrics", "--url", server.Url.ToString(), "--interval", "0.5", "--json");

        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        Assert.Equal(2, server.Hits);
        var n = Assert.Single(result.Json()["nodes"]!.AsArray())!;
        Assert.Equal(server.Url.ToString(), (string?)n["url"]);
        Assert.Null(n["error"]);
        Assert.Equal(26, (double)n["requestsPerSecond"]!, 9);
        var outcomes = n["requestsPerSecondByOutcome"]!.AsObject();
        Assert.Equal(["ok", "rate_limited", "shed"], outcomes.Select(o => o.Key));
        Assert.Equal([20.0, 4.0, 2.0], outcomes.Select(o => (double)o.Value!));
        Assert.Equal(0.2125, (double)n["durationSeconds"]!["p50"]!, 9);
        Assert.Equal(0.95, (double)n["durationSeconds"]!["p99"]!);
        Assert.Equal(0.004333333, (double)n["overheadSeconds"]!["p50"]!);
        Assert.Equal(0.01, (double)n["overheadSeconds"]!["p99"]!, 9);
        var models = n["models"]!.AsArray();
        Assert.Equal(["m-large", "m-small"], models.Select(m => (string)m!["model"]!));
        Assert.Equal(1200, (double)models[1]!["inputTokens"]!);
        Assert.Equal(800, (double)models[1]!["outputTokens"]!);
        Assert.Equal(0.00066m, Math.Round((decimal)models[1]!["costUsd"]!, 9));
        Assert.Equal(0.00125m, (decimal)models[0]!["costUsd"]!);
        Assert.Equal(["broken/sim-broken:open", "m-large/sim:half-open"],
            n["breakers"]!.AsArray().Select(b => $"{(string)b!["deployment"]!}:{(string)b["state"]!}"));
        Assert.Equal(4, (double)n["queueDepth"]!);
        Assert.Equal(7, (double)n["inFlight"]!);
    }

    [Fact]
    public async Task Table_names_the_node_rates_percentiles_breakers_and_models()
    {
        await using var server = await FakeMetricsServer.StartAsync(RecordedScrapes.First, RecordedScrapes.Second);

        var result = await CliNode.Raw("metrics", "--url", $"127.0.0.1:{server.Port}", "--interval", "0.5");

        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var row = result.Out.Split('\n').Single(l => l.Contains($"127.0.0.1:{server.Port}") && l.Contains("26"));
        Assert.Contains("ok 20, rate_limited 4, shed 2", row);
        Assert.Contains("212.5 ms", row);
        Assert.Contains("950 ms", row);
        Assert.Contains("4.3 ms", row);
        Assert.Contains("10 ms", row);
        Assert.Contains("broken/sim-broken (open), m-large/sim (half-open)", row);
        var small = result.Out.Split('\n').Single(l => l.Contains("m-small"));
        Assert.Contains("1200", small);
        Assert.Contains("800", small);
        Assert.Contains("$0.00066", small);
        Assert.Contains("rates and percentiles over 0.5 s", result.Out);
    }

    [Fact]
    public async Task All_asks_the_cluster_for_its_members_and_scrapes_each_on_the_http_port()
    {
        // The one live member is akka.tcp://router@127.0.0.1:…; its /metrics is looked for on --http-port.
        await using var server = await FakeMetricsServer.StartAsync(RecordedScrapes.First, RecordedScrapes.Second);

        var result = await node.Ctl("metrics", "--all", "--http-port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "0.5", "--json");

        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var n = Assert.Single(result.Json()["nodes"]!.AsArray())!;
        Assert.Equal($"http://127.0.0.1:{server.Port}/metrics", (string?)n["url"]);
        Assert.Equal(26, (double)n["requestsPerSecond"]!, 9);
    }

    [Fact]
    public async Task Without_a_url_the_node_of_host_is_scraped_on_the_http_port()
    {
        await using var server = await FakeMetricsServer.StartAsync(RecordedScrapes.First, RecordedScrapes.Second);

        var result = await CliNode.Raw("--host", "127.0.0.1:1", "metrics", "--http-port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "0.5", "--json");

        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var n = Assert.Single(result.Json()["nodes"]!.AsArray())!;
        Assert.Equal($"http://127.0.0.1:{server.Port}/metrics", (string?)n["url"]);
        Assert.Equal(2, server.Hits);
    }

    [Fact]
    public async Task Urls_scrapes_every_node_and_a_dead_one_is_reported_with_exit_3()
    {
        await using var server = await FakeMetricsServer.StartAsync(RecordedScrapes.First, RecordedScrapes.Second);
        var dead = $"127.0.0.1:{CliNode.ClosedPort()}";

        var result = await CliNode.Raw("metrics", "--urls", $"{server.Url},{dead}", "--interval", "0.5", "--json");

        Assert.True(result.Exit == RouterCtl.Unreachable, result.ToString());
        var nodes = result.Json()["nodes"]!.AsArray();
        Assert.Equal(2, nodes.Count);
        Assert.Equal(26, (double)nodes[0]!["requestsPerSecond"]!, 9);
        Assert.Null(nodes[1]!["requestsPerSecond"]);
        Assert.StartsWith($"cannot reach http://{dead}/metrics", (string?)nodes[1]!["error"]);
        Assert.Contains($"routerctl: {dead}: cannot reach", result.Err);
    }

    [Fact]
    public async Task A_page_that_is_not_prometheus_text_is_reported()
    {
        await using var server = await FakeMetricsServer.StartAsync("<html>hello</html>", "<html>hello</html>");
        var result = await CliNode.Raw("metrics", "--url", server.Url.ToString(), "--interval", "0.1");
        Assert.True(result.Exit == RouterCtl.Unreachable, result.ToString());
        Assert.Contains("is not Prometheus text: line 1", result.Err);
        Assert.Equal(1, server.Hits);
    }

    [Theory]
    [InlineData("--interval", "0")]
    [InlineData("--http-port", "70000")]
    [InlineData("--url", "ftp://x/metrics")]
    public async Task Bad_options_exit_2(string option, string value)
    {
        var result = await CliNode.Raw("metrics", option, value);
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
    }

    [Fact]
    public async Task Url_and_all_together_exit_2()
    {
        var result = await CliNode.Raw("metrics", "--url", "127.0.0.1:8080", "--all");
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
        Assert.Contains("one of --url, --urls and --all", result.Err);
    }

    [Theory]
    [InlineData("10.0.0.5:8080", "http://10.0.0.5:8080/metrics")]
    [InlineData("http://router-0.router:8080", "http://router-0.router:8080/metrics")]
    [InlineData("https://r.example/custom/metrics", "https://r.example/custom/metrics")]
    public void Metrics_urls(string text, string expected) => Assert.Equal(expected, MetricsTargets.MetricsUrl(text)!.ToString());

    [Fact]
    public void A_member_maps_to_its_host_on_the_http_port() =>
        Assert.Equal("http://router-1.router-headless:8080/metrics",
            MetricsTargets.MemberMetricsUrl("akka.tcp://router@router-1.router-headless:4053", 8080)!.ToString());
}

using System.Net;
using Router.Cli.Tests.Infrastructure;

namespace Router.Cli.Tests;

[Collection(CliNodeCollection.Name)]
public sealed class InspectionCommandTests(CliNode node)
{
    [Fact]
    public async Task Routes_show_aliases_deployments_prices_and_fallbacks()
    {
        var result = await node.Ctl("routes", "--json");
        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var routes = result.Json()["routes"]!.AsArray();
        Assert.Equal(["m-small", "m-large", CliNode.BrokenModel], routes.Select(r => (string)r!["model"]!));
        var small = routes[0]!;
        Assert.Equal(["fast"], small["aliases"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(["m-large"], small["fallbacks"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("simple", (string?)small["tier"]);
        Assert.Equal(16000, (int?)small["contextWindow"]);
        var d = Assert.Single(small["deployments"]!.AsArray())!;
        Assert.Equal("m-small/sim", (string?)d["id"]);
        Assert.Equal("sim", (string?)d["provider"]);
        Assert.Equal("sim-small-v1", (string?)d["upstreamModel"]);
        Assert.Equal(0.15m, (decimal?)d["inputPerMTok"]);
        Assert.Equal(0.60m, (decimal?)d["outputPerMTok"]);

        var table = await node.Ctl("routes");
        Assert.Contains("sim-large-v1", table.Out);
        Assert.Contains("10.00", table.Out);
    }

    [Fact]
    public async Task Breakers_show_every_deployment_and_an_open_breaker_with_its_last_failure_and_time_to_half_open()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        // Two failed attempts open the broken deployment's breaker (threshold 2, open for 10 minutes); outcomes are
        // told to the breaker, so keep sending until its owner reports it open.
        var json = await CliNode.EventuallyAsync(
            async () =>
            {
                Assert.NotEqual(HttpStatusCode.OK, (await node.ChatAsync(CliNode.BrokenModel)).StatusCode);
                return (await node.Ctl("breakers", "--json")).Json();
            },
            j => j["breakers"]!.AsArray().Any(b => (string?)b!["deployment"] == CliNode.BrokenDeployment && (string?)b["state"] == "Open"),
            "the broken deployment's breaker to open");

        var breakers = json["breakers"]!.AsArray();
        Assert.Equal([CliNode.BrokenDeployment, "m-large/sim", "m-small/sim"], breakers.Select(b => (string)b!["deployment"]!));
        var open = breakers[0]!;
        Assert.Equal(CliNode.BrokenModel, (string?)open["model"]);
        Assert.Equal("sim-broken", (string?)open["provider"]);
        // The failures were the ones this test just caused.
        Assert.InRange(At(open["lastFailure"]), before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.InRange((long)open["halfOpenInMs"]!, 1, 600_000);
        var healthy = breakers[2]!;
        Assert.Equal("Closed", (string?)healthy["state"]);
        Assert.Null(healthy["halfOpenInMs"]);
        Assert.Null(healthy["error"]);

        var table = await node.Ctl("breakers");
        Assert.True(table.Exit == RouterCtl.Ok, table.ToString());
        Assert.Contains("Open", table.Out);
        Assert.Contains("Closed", table.Out);
    }

    [Fact]
    public async Task Usage_after_requests_counts_them_by_model_and_filters_by_key()
    {
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await node.ChatAsync("smart")).StatusCode);

        // The ledger is written in batches after the responses: wait until all three rows are in.
        var json = await CliNode.EventuallyAsync(
            async () => (await node.Ctl("usage", "--model", "smart", "--since", "1h", "--group-by", "model", "--json")).Json(),
            j => j["data"]!.AsArray().Sum(r => (long)r!["requests"]!) >= 3,
            "three usage rows for model smart");
        Assert.Equal("model", (string?)json["groupBy"]);
        // --since 1h: from one hour before the node answered.
        Assert.InRange(At(json["from"]), DateTimeOffset.UtcNow.AddHours(-1).AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(-1).AddSeconds(1));
        var row = Assert.Single(json["data"]!.AsArray())!;
        Assert.Equal("smart", (string?)row["group"]);
        Assert.Equal(3, (long)row["requests"]!);
        Assert.True((long)row["outputTokens"]! > 0);
        Assert.True((decimal)row["costUsd"]! > 0);
        Assert.Equal(0, (long)row["errors"]!);

        var demoId = (string)(await node.Ctl("keys", "list", "--json")).Json()["keys"]!.AsArray().Single(k => (string?)k!["name"] == "demo")!["id"]!;
        var byKey = (await node.Ctl("usage", "--key", demoId, "--model", "smart", "--group-by", "key", "--json")).Json();
        Assert.Equal(demoId, (string?)Assert.Single(byKey["data"]!.AsArray())!["group"]);
        var none = (await node.Ctl("usage", "--key", "ffffffffffffffff", "--model", "smart", "--group-by", "key", "--json")).Json();
        Assert.Empty(none["data"]!.AsArray());

        var table = await node.Ctl("usage", "--model", "smart", "--group-by", "model");
        Assert.Contains("smart", table.Out);
        Assert.Contains("REQUESTS", table.Out);
    }

    [Fact]
    public async Task Usage_with_a_since_that_is_no_time_is_bad_usage()
    {
        var result = await node.Ctl("usage", "--since", "yesterday");
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
        Assert.Equal("routerctl: from must be an ISO-8601 time or a look-back like 1h, 7d", result.Err.TrimEnd('\n', '\r'));
    }

    private static DateTimeOffset At(System.Text.Json.Nodes.JsonNode? time) =>
        DateTimeOffset.Parse((string)time!, System.Globalization.CultureInfo.InvariantCulture);
}

using Router.Cli.Tests.Infrastructure;

namespace Router.Cli.Tests;

[Collection(CliNodeCollection.Name)]
public sealed class ShardingCommandTests(CliNode node)
{
    [Fact]
    public async Task Sharding_regions_shows_apikey_and_model_breaker_with_the_seeded_key_entity()
    {
        var table = await node.Ctl("sharding", "regions");
        Assert.True(table.Exit == RouterCtl.Ok, table.ToString());
        Assert.Contains("apikey", table.Out);
        Assert.Contains("model-breaker", table.Out);

        var regions = (await node.Ctl("sharding", "regions", "--json")).Json()["regions"]!.AsArray();
        Assert.Equal(["apikey", "batch", "model-breaker"], regions.Select(r => (string)r!["typeName"]!).Order());
        var apikey = regions.Single(r => (string)r!["typeName"]! == "apikey")!;
        Assert.Equal(1, (int)apikey["nodes"]!);
        // The configured demo key is seeded at start-up, so its entity lives on this (only) node.
        Assert.True((int)apikey["entities"]! >= 1, apikey.ToJsonString());
        Assert.Equal((int)apikey["entities"]!, (int)apikey["localEntities"]!);
        Assert.Equal((int)apikey["shards"]!, (int)apikey["localShards"]!);
        Assert.Null(apikey["error"]);
    }

    [Fact]
    public async Task Sharding_stats_for_one_type_lists_its_shards_on_this_node()
    {
        var result = await node.Ctl("sharding", "stats", "apikey", "--json");
        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var type = Assert.Single(result.Json()["types"]!.AsArray())!;
        Assert.Equal("apikey", (string?)type["typeName"]);
        var n = Assert.Single(type["nodes"]!.AsArray())!;
        Assert.StartsWith("akka.tcp://router@", (string?)n["address"]);
        var details = n["shardDetails"]!.AsArray();
        Assert.Equal((int)n["shards"]!, details.Count);
        Assert.Equal((int)n["entities"]!, details.Sum(d => (int)d!["entities"]!));
        Assert.True((int)n["entities"]! >= 1);

        var all = await node.Ctl("sharding", "stats");
        Assert.True(all.Exit == RouterCtl.Ok, all.ToString());
        Assert.Contains("model-breaker", all.Out);
    }

    [Fact]
    public async Task Sharding_stats_of_an_unknown_type_is_refused_with_exit_1()
    {
        var result = await node.Ctl("sharding", "stats", "no-such-type");
        Assert.True(result.Exit == RouterCtl.Refused, result.ToString());
        Assert.Contains("no shard region 'no-such-type'", result.Err);
    }
}

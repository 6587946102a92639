using Router.Cli.Tests.Infrastructure;

namespace Router.Cli.Tests;

[Collection(CliNodeCollection.Name)]
public sealed class ClusterCommandTests(CliNode node)
{
    [Fact]
    public async Task Cluster_show_lists_the_single_up_member_as_self_and_leader()
    {
        var table = await node.Ctl("cluster", "show");
        Assert.True(table.Exit == RouterCtl.Ok, table.ToString());
        Assert.Contains("(self)", table.Out);
        Assert.Contains("Up", table.Out);
        Assert.Contains("1 member(s), 0 unreachable; leader: akka.tcp://router@", table.Out);

        var json = (await node.Ctl("cluster", "show", "--json")).Json();
        var member = Assert.Single(json["members"]!.AsArray())!;
        var self = (string)json["self"]!;
        Assert.StartsWith("akka.tcp://router@127.0.0.1:", self);
        Assert.Equal(self, (string?)json["leader"]);
        Assert.Equal(self, (string?)member["address"]);
        Assert.Equal("Up", (string?)member["status"]);
        Assert.True((bool)member["reachable"]!);
        Assert.True((bool)member["leader"]!);
        Assert.True((bool)member["self"]!);
        // The node watched itself come up, so it knows since when.
        var upSince = DateTimeOffset.Parse((string)member["upSince"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(upSince, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow);
        Assert.Empty(json["unreachable"]!.AsArray());
    }

    [Fact]
    public async Task Cluster_leader_prints_the_leaders_address()
    {
        var plain = await node.Ctl("cluster", "leader");
        Assert.True(plain.Exit == RouterCtl.Ok, plain.ToString());
        var json = (await node.Ctl("--json", "cluster", "leader")).Json();
        Assert.Equal((string?)json["self"], plain.Out.Trim());
        Assert.Equal((string?)json["self"], (string?)json["leader"]);
    }

    [Fact]
    public async Task Leave_and_down_of_an_address_that_is_not_a_member_are_refused_with_exit_1()
    {
        foreach (var op in new[] { "leave", "down" })
        {
            var result = await node.Ctl("cluster", op, "akka.tcp://router@127.0.0.1:1");
            Assert.True(result.Exit == RouterCtl.Refused, result.ToString());
            Assert.Equal("routerctl: akka.tcp://router@127.0.0.1:1 is not a member of this cluster", result.Err.Trim());
            Assert.Empty(result.Out);
        }
    }

    [Fact]
    public async Task Leave_of_something_that_is_not_an_address_is_bad_usage()
    {
        var result = await node.Ctl("cluster", "leave", "router-0");
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
        Assert.Contains("is not a member address", result.Err);
    }

    [Fact]
    public async Task Down_unreachable_with_every_member_reachable_downs_nobody()
    {
        var result = await node.Ctl("cluster", "down-unreachable", "--json");
        Assert.True(result.Exit == RouterCtl.Ok, result.ToString());
        var json = result.Json();
        Assert.Empty(json["addresses"]!.AsArray());
        Assert.Equal("no unreachable members", (string?)json["message"]);
        Assert.Single((await node.Ctl("cluster", "show", "--json")).Json()["members"]!.AsArray());
    }
}

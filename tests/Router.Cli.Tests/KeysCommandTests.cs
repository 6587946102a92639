using System.Net;
using Router.Cli.Tests.Infrastructure;

namespace Router.Cli.Tests;

[Collection(CliNodeCollection.Name)]
public sealed class KeysCommandTests(CliNode node)
{
    [Fact]
    public async Task Create_list_show_revoke_round_trip_and_the_key_works_only_until_revoked()
    {
        // 1. Create: the secret is printed once, with the limits asked for.
        var created = await node.Ctl("keys", "create", "--name", "ci-bot", "--rpm", "1", "--tpm", "5000",
            "--budget", "2.5", "--period", "day", "--models", "fast,smart", "--json");
        Assert.True(created.Exit == RouterCtl.Ok, created.ToString());
        var c = created.Json();
        var id = (string)c["id"]!;
        var secret = (string)c["key"]!;
        Assert.StartsWith("sk-router-", secret);
        Assert.Equal("ci-bot", (string?)c["name"]);
        Assert.Equal("admin", (string?)c["source"]);
        Assert.Equal(1, (int?)c["limits"]!["rpm"]);
        Assert.Equal(5000, (int?)c["limits"]!["tpm"]);
        Assert.Null(c["limits"]!["maxConcurrent"]);
        Assert.Equal(2.5m, (decimal?)c["budget"]!["usd"]);
        Assert.Equal("day", (string?)c["budget"]!["period"]);
        Assert.Equal(["fast", "smart"], c["models"]!.AsArray().Select(m => (string)m!));
        Assert.False((bool)c["revoked"]!);

        Assert.Equal(1, (long?)c["live"]!["requestsRemaining"]);

        // 2. The new key is usable at once, and its bucket shows the request (one a minute: no refill meanwhile).
        Assert.Equal(HttpStatusCode.OK, (await node.ChatAsync("fast", secret)).StatusCode);

        // 3. List and show see it; show never prints the secret again.
        var list = (await node.Ctl("keys", "list", "--json")).Json()["keys"]!.AsArray();
        Assert.Contains(list, k => (string?)k!["id"] == id && (string?)k["name"] == "ci-bot");
        Assert.Contains(list, k => (string?)k!["name"] == "demo" && (string?)k["source"] == "config");
        var table = await node.Ctl("keys", "list");
        Assert.Contains(id, table.Out);
        Assert.DoesNotContain(secret, table.Out);

        var shown = await node.Ctl("keys", "show", id, "--json");
        Assert.True(shown.Exit == RouterCtl.Ok, shown.ToString());
        var s = shown.Json();
        Assert.Null(s["key"]);
        Assert.Equal(0, (long?)s["live"]!["requestsRemaining"]);
        var shownTable = await node.Ctl("keys", "show", id);
        Assert.Contains("ci-bot", shownTable.Out);
        Assert.Contains("$2.5 per day", shownTable.Out);
        Assert.Matches(@"(?m)^requests left\s+0$", shownTable.Out);

        // 4. Revoke: reported revoked, and refused from now on.
        var revoking = DateTimeOffset.UtcNow.AddSeconds(-1);
        var revoked = await node.Ctl("keys", "revoke", id, "--json");
        Assert.True(revoked.Exit == RouterCtl.Ok, revoked.ToString());
        Assert.True((bool)revoked.Json()["revoked"]!);
        Assert.InRange(
            DateTimeOffset.Parse((string)revoked.Json()["revokedAt"]!, System.Globalization.CultureInfo.InvariantCulture),
            revoking, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await node.ChatAsync("fast", secret)).StatusCode);
        Assert.Contains("revoked", (await node.Ctl("keys", "show", id)).Out);
    }

    [Fact]
    public async Task Create_prints_the_secret_once_in_the_table_form()
    {
        var created = await node.Ctl("keys", "create", "--name", "table-form", "--rpm", "5", "--tpm", "100");
        Assert.True(created.Exit == RouterCtl.Ok, created.ToString());
        Assert.Matches(@"(?m)^key\s+sk-router-\S+\s+\(shown once: store it now\)$", created.Out);
        Assert.Matches(@"(?m)^budget\s+none$", created.Out);
    }

    [Fact]
    public async Task Show_and_revoke_of_an_unknown_key_id_are_refused_with_exit_1_and_one_line()
    {
        foreach (var verb in new[] { "show", "revoke" })
        {
            var result = await node.Ctl("keys", verb, "0123456789abcdef");
            Assert.True(result.Exit == RouterCtl.Refused, result.ToString());
            Assert.Equal("routerctl: no key with id 0123456789abcdef", result.Err.TrimEnd('\n', '\r'));
            Assert.Empty(result.Out);
        }
    }

    [Fact]
    public async Task A_malformed_key_id_or_limit_is_bad_usage()
    {
        var id = await node.Ctl("keys", "show", "not-an-id");
        Assert.True(id.Exit == RouterCtl.BadUsage, id.ToString());
        Assert.Contains("is not a key id", id.Err);

        var rpm = await node.Ctl("keys", "create", "--name", "x", "--rpm", "0", "--tpm", "10");
        Assert.True(rpm.Exit == RouterCtl.BadUsage, rpm.ToString());
        Assert.Contains("rpm must be a positive integer", rpm.Err);
    }
}

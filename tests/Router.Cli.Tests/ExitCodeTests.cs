using System.Diagnostics;
using Router.Cli.Tests.Infrastructure;
using Router.Node.Admin;
using Router.Node.Tests.Infrastructure;

namespace Router.Cli.Tests;

[Collection(CliNodeCollection.Name)]
public sealed class ExitCodeTests(CliNode node)
{
    [Fact]
    public async Task A_wrong_admin_key_exits_4_with_one_line()
    {
        var result = await CliNode.Raw("--host", node.Host, "--admin-key", "sk-wrong", "cluster", "show");
        Assert.True(result.Exit == RouterCtl.Unauthorized, result.ToString());
        Assert.Equal("routerctl: unauthorized: missing or wrong admin key", result.Err.TrimEnd('\n', '\r'));
        Assert.Empty(result.Out);
    }

    [Fact]
    public async Task A_closed_port_exits_3_saying_the_node_cannot_be_reached()
    {
        var host = $"127.0.0.1:{CliNode.ClosedPort()}";
        var result = await CliNode.Raw("--host", host, "--admin-key", RouterTestNode.AdminKey, "cluster", "show");
        Assert.True(result.Exit == RouterCtl.Unreachable, result.ToString());
        Assert.StartsWith($"routerctl: cannot reach {host}: ", result.Err);
        Assert.Single(result.Err.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public async Task The_http_port_is_not_the_admin_service_and_exits_3()
    {
        var host = $"{node.Node.HttpBase.Host}:{node.Node.HttpBase.Port}";
        var result = await CliNode.Raw("--host", host, "--admin-key", RouterTestNode.AdminKey, "keys", "list");
        Assert.True(result.Exit == RouterCtl.Unreachable, result.ToString());
        Assert.StartsWith($"routerctl: cannot reach {host}", result.Err);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("cluster")]
    [InlineData("cluster", "leave")]
    [InlineData("keys", "create", "--name", "x", "--tpm", "10")]
    [InlineData("keys", "create", "--name", "x", "--rpm", "ten", "--tpm", "10")]
    [InlineData("keys", "create", "--name", "x", "--rpm", "1", "--tpm", "10", "--period", "week")]
    [InlineData("usage", "--group-by", "week")]
    public async Task Bad_usage_exits_2_with_one_line_and_prints_nothing_on_stdout(params string[] args)
    {
        var result = await node.Ctl(args);
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
        Assert.StartsWith("routerctl: ", result.Err);
        Assert.Single(result.Err.TrimEnd('\n', '\r').Split('\n'));
        Assert.Empty(result.Out);
    }

    [Fact]
    public async Task A_host_that_is_not_host_and_port_is_bad_usage()
    {
        var result = await CliNode.Raw("--host", "http://127.0.0.1:8081/admin", "--admin-key", RouterTestNode.AdminKey, "cluster", "show");
        Assert.True(result.Exit == RouterCtl.BadUsage, result.ToString());
        Assert.Equal("routerctl: --host 'http://127.0.0.1:8081/admin' is not host:port (e.g. 127.0.0.1:8081)", result.Err.TrimEnd('\n', '\r'));
    }

    [Fact]
    public async Task Help_is_not_an_error()
    {
        var result = await CliNode.Raw("keys", "create", "--help");
        Assert.Equal(RouterCtl.Ok, result.Exit);
        Assert.Contains("--rpm", result.Out);
        Assert.Empty(result.Err);
    }

    [Fact]
    public async Task Runs_as_a_process_with_the_same_exit_codes()
    {
        // The cluster test project drives routerctl this way: dotnet routerctl.dll … from the CLI's own output folder
        // (its deps.json; the copy in this test's folder would resolve against ASP.NET's assemblies).
        var dll = typeof(ExitCodeTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RouterCtlPath").Value!;
        Assert.True(File.Exists(dll), dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "--host", node.Host, "--admin-key", RouterTestNode.AdminKey, "--json", "cluster", "leader" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(patience.Token);
        Assert.True(process.ExitCode == RouterCtl.Ok, await stderr);
        var leader = (string?)System.Text.Json.Nodes.JsonNode.Parse(await stdout)!["leader"];
        Assert.StartsWith("akka.tcp://router@127.0.0.1:", leader);
    }
}

public sealed class AdminCredentialsTests
{
    [Fact]
    public void Matches_only_the_configured_key()
    {
        var credentials = new AdminCredentials("sk-admin");
        Assert.True(credentials.Configured);
        Assert.True(credentials.Matches("sk-admin"));
        Assert.False(credentials.Matches("sk-admin "));
        Assert.False(credentials.Matches("sk-admi"));
        Assert.False(credentials.Matches(""));
        Assert.False(credentials.Matches(null));
        Assert.DoesNotContain("sk-admin", credentials.ToString());
    }

    [Fact]
    public void Without_an_admin_key_nothing_matches()
    {
        var credentials = new AdminCredentials(null);
        Assert.False(credentials.Configured);
        Assert.False(credentials.Matches(""));
        Assert.False(credentials.Matches("anything"));
    }
}

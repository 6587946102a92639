using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Router.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Router.Cluster.Tests;

/// <summary>routerctl, run as the operator runs it (a separate process), against the 3-node cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RouterCtlClusterTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly string RouterCtlDll = typeof(RouterCtlClusterTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RouterCtlDll").Value!;

    [Fact]
    public async Task Cluster_show_lists_three_up_members_and_a_left_node_disappears_from_it()
    {
        await fixture.EnsureHealthyAsync();
        var cluster = fixture.Cluster;

        var before = await ShowAsync(via: 0);
        Assert.Equal(3, before.Count);
        Assert.All(before, m => Assert.Equal("Up", m.Status));
        Assert.Equal(cluster.Specs.Select(s => s.AkkaAddress).Order(), before.Select(m => m.Address).Order());

        // Leave the third node, asked through the first: it leaves, hands its shards off and its process ends with 0
        // (it was asked to go; 3 is for a member removed against its will).
        var leaving = cluster.Specs[2].AkkaAddress;
        var (code, stdout, stderr) = await RunAsync(via: 0, "cluster", "leave", leaving);
        Assert.True(code == 0, $"cluster leave exited {code}: {stdout} {stderr}");
        Assert.Equal(0, await cluster.Node(2).WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        IReadOnlyList<Member> after;
        do
        {
            after = await ShowAsync(via: 1);
            if (after.Count == 2) break;
            await Task.Delay(500);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal(2, after.Count);
        Assert.DoesNotContain(after, m => m.Address == leaving);
        Assert.All(after, m => Assert.Equal("Up", m.Status));

        // Put the cluster back for the other tests.
        await fixture.EnsureHealthyAsync();
        Assert.Equal(3, (await ShowAsync(via: 2)).Count);
    }

    private sealed record Member(string Address, string Status);

    private async Task<IReadOnlyList<Member>> ShowAsync(int via)
    {
        var (code, stdout, stderr) = await RunAsync(via, "--json", "cluster", "show");
        Assert.True(code == 0, $"cluster show exited {code}: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!)).ToList();
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(int via, params string[] args)
    {
        var spec = fixture.Cluster.Specs[via];
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { RouterCtlDll, "--host", $"{spec.ReachAt}:{spec.GrpcPort}", "--admin-key", RouterCluster.AdminKey }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        output.WriteLine($"routerctl {string.Join(' ', args)} → {p.ExitCode}\n{await stdout}{await stderr}");
        return (p.ExitCode, await stdout, await stderr);
    }
}

using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;
using Router.Contracts.Grpc;
using Router.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Router.Cluster.Tests;

/// <summary>
/// A real 2|1 network partition: three nodes, each in its own network namespace (see <see cref="NetworkLab"/>),
/// one cut off by taking its cluster link down. Needs root and iproute2; where namespaces cannot be created the
/// test fails and says so (it never skips).
/// </summary>
public sealed class PartitionTests(ITestOutputHelper output)
{
    private const int Rpm = 20;

    [Fact]
    public async Task Cut_off_node_refuses_and_downs_itself_while_the_majority_keeps_every_limit_exact_and_heals_into_one_cluster()
    {
        await using var db = await TestDatabase.CreateAsync("part");
        await using var lab = await NetworkLab.CreateAsync(3);
        // PostgreSQL listens on 127.0.0.1 only; the nodes reach it through a forwarder on the host's end of their
        // management links, which the partition does not touch.
        var server = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var forwarder = new TcpForwarder(IPAddress.Any, server.Host!, server.Port);
        var specs = Enumerable.Range(0, 3)
            .Select(i => new NodeSpec($"p{i + 1}", lab.ManagementAddress(i), "0.0.0.0", 8080, 8081, lab.ClusterAddress(i), 4053))
            .ToArray();
        await using var cluster = new RouterCluster(specs, i => db.ConnectionStringVia(lab.HostAddressFor(i), forwarder.Port),
            new ClusterSettings { DrainSeconds = 5 }, ClusterFixture.LogDirectory("partition"), i => lab.Namespace(i));
        await cluster.StartAllAsync(ClusterFixture.StartTimeout);

        // Cut the oldest member: the shard coordinators must move too. Keys are created and their entities started
        // (reads only: no allowance is taken) before the cut, so some of them live on the node that is cut off.
        var victim = await cluster.OldestAsync(0);
        var majority = Enumerable.Range(0, 3).Where(i => i != victim).ToArray();
        var keys = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => cluster.CreateKeyAsync($"partition-{i}", Rpm, via: majority[i % 2])));
        foreach (var key in keys) await cluster.WarmAsync(key);

        using var probe = new ChatClient(cluster.HttpBases, timeout: TimeSpan.FromSeconds(10));
        var cutAt = probe.Now;
        await lab.CutAsync(victim);

        // 1. The cut-off node notices it lost the majority: readiness false, chat requests 503 with Retry-After.
        var refusingAfter = await UntilAsync(async () => (await cluster.Node(victim).ReadinessAsync())?.Check("quorum").StartsWith("no", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(30), () => $"{specs[victim].Name} never reported a lost quorum\n{cluster.Node(victim).LogTail()}");
        var minorityReady = await cluster.Node(victim).ReadinessAsync();
        var refused = await Task.WhenAll(keys.Select(k => probe.SendOnceAsync(victim, k.Secret)));
        output.WriteLine($"cut n{victim + 1} (oldest); it refuses {refusingAfter.TotalSeconds:0.0} s after the cut: {minorityReady}");
        Assert.False(minorityReady?.Ready ?? true, $"the cut-off node still reports ready: {minorityReady}");
        Assert.All(refused, a => Assert.True(a.Kind == AttemptKind.Unavailable && a.RetryAfter > TimeSpan.Zero, $"cut-off node answered {a}"));
        using (var channel = GrpcChannel.ForAddress($"http://{specs[victim].ReachAt}:{specs[victim].GrpcPort}"))
        {
            var grpc = new global::Router.Contracts.Grpc.Router.RouterClient(channel);
            var call = grpc.CompleteAsync(
                new CompletionRequest { Model = "fast", Messages = { new Message { Role = "user", Content = "ping" } } },
                new Metadata { { "authorization", "Bearer " + keys[0].Secret } });
            var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
            Assert.Equal("1", failure.Trailers.GetValue("retry-after"));
        }

        // 2. It downs itself and exits non-zero, so a supervisor restarts it.
        var exitCode = await cluster.Node(victim).WaitForExitAsync(TimeSpan.FromSeconds(60));
        var exitedAfter = probe.Now - cutAt;
        output.WriteLine($"n{victim + 1} exited with code {exitCode?.ToString() ?? "none"} {exitedAfter.TotalSeconds:0.0} s after the cut");
        Assert.True(exitCode == 3, $"exit code {exitCode?.ToString() ?? "none (still running)"}, expected 3\n{cluster.Node(victim).LogTail()}");

        // 3. The majority downs it, takes its shards over, and admits exactly each key's limit: the buckets were
        //    full (nothing admitted before), so a burst of three times the limit gets Rpm plus the refill during it.
        foreach (var i in majority) await cluster.Node(i).WaitReadyAsync(TimeSpan.FromSeconds(60), members: 2);
        output.WriteLine($"majority sees 2 of 2 members {(probe.Now - cutAt).TotalSeconds:0.0} s after the cut");
        using var client = new ChatClient(majority.Select(i => specs[i].HttpBase).ToArray(), timeout: TimeSpan.FromSeconds(10));
        var burstStart = client.Now;
        var burst = await Task.WhenAll(keys.SelectMany(k => Enumerable.Range(0, 3 * Rpm).Select(n => client.SendAsync(k, n))));
        var burstTook = client.Now - burstStart;
        Assert.All(burst, r => Assert.True(r.Settled, $"unsettled request on the majority: {r}"));
        foreach (var key in keys)
        {
            var admitted = burst.Count(r => r.KeyId == key.Id && r.Last.Kind == AttemptKind.Completed);
            output.WriteLine($"key {key.Id}: {admitted} admitted of {3 * Rpm} in {burstTook.TotalSeconds:0.0} s (rpm {Rpm})");
            Assert.InRange(admitted, Rpm, ClusterTests.Allowed(Rpm, burstTook));
        }

        // 4. Heal, restart the downed node: one cluster of three again, seen the same from every node.
        await lab.HealAsync(victim);
        cluster.StartNode(victim);
        await cluster.WaitAllReadyAsync(ClusterFixture.StartTimeout);
        foreach (var i in Enumerable.Range(0, 3))
        {
            var ready = await cluster.Node(i).ReadinessAsync();
            output.WriteLine($"{specs[i].Name}: {ready}");
            Assert.Equal("yes (3/3 reachable)", ready?.Check("quorum"));
        }
        Assert.All(await Task.WhenAll(keys.Select((k, n) => client.SendAsync(k, n, retryRateLimited: false))), r => Assert.True(r.Settled, r.ToString()));
    }

    private static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException(failure());
            await Task.Delay(100);
        }
        return clock.Elapsed;
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using Router.Cluster.Tests.Infrastructure;

// Cluster bench: real Router.Node processes on this machine against the PostgreSQL in ROUTER_TEST_POSTGRES.
// 1 node, then 3 nodes with requests spread round-robin: throughput and latency percentiles of a closed loop of
// clients over a simulated provider; then the crash-recovery time of the 3-node cluster (SIGKILL the oldest
// member, time until every key is served again). Bounded: each phase has a fixed duration or a deadline.

var options = BenchOptions.Parse(args);
if (options is null) return 2;
var server = Environment.GetEnvironmentVariable(TestDatabase.Variable);
if (string.IsNullOrEmpty(server))
{
    Console.Error.WriteLine($"{TestDatabase.Variable} is not set; run: {TestDatabase.Variable}=\"$(bash .ci/start-postgres.sh)\" dotnet run -c Release --project bench/Router.Bench.Cluster");
    return 2;
}

var logs = Path.Combine(AppContext.BaseDirectory, "cluster-logs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
Console.WriteLine($"Router cluster bench: {Environment.ProcessorCount} cores, {options.Concurrency} concurrent clients, {options.Keys} keys, " +
                  $"simulated provider {options.LatencyMs} ms, warm-up {options.WarmupSeconds} s, measured {options.Seconds} s per run; node logs in {logs}");

var runs = new List<LoadResult>();
var crashes = new List<(string Victim, CrashRecoveryResult Result)>();
foreach (var nodes in new[] { 1, 3 })
{
    await using var db = await TestDatabase.CreateAsync($"bench{nodes}");
    await using var cluster = new RouterCluster(RouterCluster.Loopback(nodes), _ => db.ConnectionString,
        new ClusterSettings { FastLatencyMs = options.LatencyMs }, Path.Combine(logs, $"{nodes}-node"));
    await cluster.StartAllAsync(TimeSpan.FromSeconds(120));
    var keys = new List<CreatedKey>();
    for (var i = 0; i < options.Keys; i++) keys.Add(await cluster.CreateKeyAsync($"bench-{i}", rpm: null, via: i % nodes));
    foreach (var key in keys) await cluster.WarmAsync(key);

    var result = await Load.RunAsync(cluster, keys, options);
    runs.Add(result);
    Console.WriteLine(result);
    await Storage.ReportAsync(db);

    if (nodes == 3 && !options.SkipCrash)
    {
        // Every key has been served, so about a third of the entities live on each node. First a member without
        // the shard coordinators, then (restarted and rejoined) the oldest member, whose coordinators move too.
        var oldest = await cluster.OldestAsync(0);
        var other = Enumerable.Range(0, cluster.Count).Last(i => i != oldest);
        var first = await CrashRecovery.MeasureAsync(cluster, other, keys, TimeSpan.FromSeconds(60));
        crashes.Add(($"n{other + 1}, not the oldest", first));
        Console.WriteLine($"SIGKILL n{other + 1} (not the oldest): every key served again after {Seconds(first.AllServedAfter)}");
        cluster.StartNode(other);
        await cluster.WaitAllReadyAsync(TimeSpan.FromSeconds(120));
        var second = await CrashRecovery.MeasureAsync(cluster, oldest, keys, TimeSpan.FromSeconds(60));
        crashes.Add(($"n{oldest + 1}, the oldest (shard coordinators move too)", second));
        Console.WriteLine($"SIGKILL n{oldest + 1} (the oldest): every key served again after {Seconds(second.AllServedAfter)}");
    }
}

Console.WriteLine();
Console.WriteLine("| nodes | requests/s | p50 ms | p99 ms | errors |");
Console.WriteLine("|---:|---:|---:|---:|---:|");
foreach (var r in runs) Console.WriteLine($"| {r.Nodes} | {r.Throughput:0} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {r.Errors} |");
if (runs.Count == 2)
{
    Console.WriteLine();
    Console.WriteLine($"3 nodes / 1 node: throughput x{runs[1].Throughput / runs[0].Throughput:0.00}, p99 x{runs[1].P99Ms / runs[0].P99Ms:0.00}");
}
foreach (var (victim, result) in crashes)
    Console.WriteLine($"crash recovery (SIGKILL {victim}): every key served again after {Seconds(result.AllServedAfter)}");
return runs.Sum(r => r.Errors) == 0 ? 0 : 1;

static string Seconds(TimeSpan t) => t == TimeSpan.MaxValue ? "never (gave up)" : $"{t.TotalSeconds:0.0} s";

internal sealed record BenchOptions(int Seconds, int WarmupSeconds, int Concurrency, int Keys, int LatencyMs, bool SkipCrash)
{
    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(Seconds: 15, WarmupSeconds: 5, Concurrency: 64, Keys: 10, LatencyMs: 20, SkipCrash: false);
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var v) && v > 0
                ? v : throw new ArgumentException($"{args[i - 1]} needs a positive integer");
            try
            {
                o = args[i] switch
                {
                    "--seconds" => o with { Seconds = Next() },
                    "--warmup" => o with { WarmupSeconds = Next() },
                    "--concurrency" => o with { Concurrency = Next() },
                    "--keys" => o with { Keys = Next() },
                    "--latency-ms" => o with { LatencyMs = Next() },
                    "--skip-crash" => o with { SkipCrash = true },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"{ex.Message}\nusage: Router.Bench.Cluster [--seconds 15] [--warmup 5] [--concurrency 64] [--keys 10] [--latency-ms 20] [--skip-crash]");
                return null;
            }
        }
        return o;
    }
}

internal sealed record LoadResult(int Nodes, double Throughput, double P50Ms, double P99Ms, long Errors, long Completed)
{
    public override string ToString() =>
        $"{Nodes} node(s): {Throughput:0} requests/s, p50 {P50Ms:0.0} ms, p99 {P99Ms:0.0} ms, {Completed} completed, {Errors} errors";
}

internal static class Load
{
    /// <summary>A closed loop: each client sends its next request when the previous one is answered.</summary>
    public static async Task<LoadResult> RunAsync(RouterCluster cluster, IReadOnlyList<CreatedKey> keys, BenchOptions o)
    {
        using var client = new ChatClient(cluster.HttpBases, timeout: TimeSpan.FromSeconds(30));
        var measureFrom = client.Now + TimeSpan.FromSeconds(o.WarmupSeconds);
        var end = measureFrom + TimeSpan.FromSeconds(o.Seconds);
        var latencies = new ConcurrentBag<double>();
        long errors = 0, sequence = 0;
        await Task.WhenAll(Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (client.Now < end)
            {
                var n = Interlocked.Increment(ref sequence);
                var started = client.Now;
                var attempt = await client.SendOnceAsync((int)(n % cluster.Count), keys[(int)(n % keys.Count)].Secret);
                var finished = client.Now;
                if (started < measureFrom || finished > end) continue;
                if (attempt.Kind == AttemptKind.Completed) latencies.Add((finished - started).TotalMilliseconds);
                else Interlocked.Increment(ref errors);
            }
        })));
        var sorted = latencies.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new LoadResult(cluster.Count, sorted.Length / (double)o.Seconds, Percentile(0.50), Percentile(0.99), errors, sorted.Length);
    }
}

internal static class Storage
{
    /// <summary>What the run left in PostgreSQL: the numbers behind the sizing advice in docs/operations.md.</summary>
    public static async Task ReportAsync(TestDatabase db)
    {
        await Task.Delay(TimeSpan.FromSeconds(2)); // the ledger writer flushes within 200 ms of the last request
        var rows = await db.ScalarAsync("SELECT count(*) FROM usage_ledger");
        var ledger = await db.ScalarAsync("SELECT pg_total_relation_size('usage_ledger')");
        var events = await db.ScalarAsync("SELECT count(*) FROM journal WHERE persistence_id LIKE 'apikey-%'");
        var journal = await db.ScalarAsync("SELECT pg_total_relation_size('journal')");
        var snapshots = await db.ScalarAsync("SELECT count(*) FROM snapshot");
        // Minus this query's own connection.
        var connections = await db.ScalarAsync("SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()");
        Console.WriteLine($"  storage: usage_ledger {rows} rows, {ledger / Math.Max(1, rows)} bytes per request with indexes; " +
                          $"journal {events} key events kept ({journal / 1024} KiB incl. sharding state); {snapshots} snapshots; " +
                          $"{connections} connections open from the nodes");
    }
}

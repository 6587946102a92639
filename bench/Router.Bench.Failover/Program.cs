using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Router.Node.Hosting;
using Router.Testing;

// Failover load run: an in-process Router node in front of the fake upstream, once fault-free and once with a
// fault mix on the primary deployment's provider, to show what failover costs the client (latency, attempts) and
// that it keeps every request answered while a healthy deployment exists. See bench/README.md.

var options = BenchOptions.Parse(args);
Console.WriteLine($"Router failover bench: {options.Requests} requests per run, concurrency {options.Concurrency}, " +
                  $"upstream latency {options.UpstreamLatencyMs} ms, fault rate {options.FaultRate:P0} on provider 'primary' " +
                  $"(half 429 with retry-after-ms {options.RetryAfterMs}, half 500), seed {options.Seed}");

await using var fake = await FakeUpstream.StartAsync();
var database = Path.Combine(Path.GetTempPath(), $"router-bench-failover-{Guid.NewGuid():N}.db");
var app = RouterHost.Build([], config =>
{
    config.Sources.Clear();
    config.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(NodeConfig(fake.BaseUrl, database).ToJsonString())));
});
await app.StartAsync();
try
{
    var httpBase = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency * 2, UseProxy = false })
    {
        BaseAddress = httpBase,
        Timeout = TimeSpan.FromSeconds(30),
    };

    var healthy = Behaviour.Delay(TimeSpan.FromMilliseconds(options.UpstreamLatencyMs));
    fake.Always(healthy);

    // JIT, connection pools, shards and the ledger warm up outside the measurement.
    await LoadRun.RunAsync(client, Math.Min(500, options.Requests), options.Concurrency, options.MaxSeconds);

    var calls0 = fake.RequestCount;
    var clean = await LoadRun.RunAsync(client, options.Requests, options.Concurrency, options.MaxSeconds);
    var cleanCalls = fake.RequestCount - calls0;

    // Faults only on the primary provider's two keys: its deployment misbehaves, the fallback stays healthy.
    var half = options.FaultRate / 2;
    var faulty = Behaviour.Random(options.Seed, healthy,
        (half, Behaviour.Status(429, ("retry-after-ms", options.RetryAfterMs.ToString(CultureInfo.InvariantCulture))).WithDelay(healthy.DelayBeforeResponse)),
        (half, Behaviour.Status(500).WithDelay(healthy.DelayBeforeResponse)));
    fake.ForKey("sk-bench-primary-1").Always(faulty);
    fake.ForKey("sk-bench-primary-2").Always(faulty);
    var calls1 = fake.RequestCount;
    var faults = await LoadRun.RunAsync(client, options.Requests, options.Concurrency, options.MaxSeconds);
    var faultCalls = fake.RequestCount - calls1;

    Console.WriteLine();
    Console.WriteLine("| run | requests | success | p50 ms | p99 ms | max ms | attempts/request | >1 attempt | served by fallback | upstream calls | wall s |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
    Console.WriteLine(clean.Row("fault-free", cleanCalls));
    Console.WriteLine(faults.Row($"{options.FaultRate:P0} faults", faultCalls));
    Console.WriteLine();
    Console.WriteLine($"p99 added by faults: {faults.Percentile(0.99) - clean.Percentile(0.99):0.0} ms " +
                      $"(p50: {faults.Percentile(0.50) - clean.Percentile(0.50):+0.0;-0.0} ms)");
    foreach (var (status, count) in faults.FailuresByStatus.OrderBy(kv => kv.Key))
        Console.WriteLine($"client-visible failures with status {status}: {count}");
    if (clean.Completed < options.Requests || faults.Completed < options.Requests)
        Console.WriteLine($"note: a run hit the {options.MaxSeconds} s bound and was cut short");
    return clean.Successes == clean.Completed && faults.Successes == faults.Completed ? 0 : 1;
}
finally
{
    await app.StopAsync();
    await app.DisposeAsync();
    foreach (var f in new[] { database, database + "-wal", database + "-shm" })
        try { File.Delete(f); } catch (IOException) { }
}

static JsonObject NodeConfig(string upstream, string database) => new()
{
    ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning", ["Akka"] = "Warning" } },
    ["Router"] = new JsonObject
    {
        ["Http"] = new JsonObject { ["Port"] = 0 },
        ["Grpc"] = new JsonObject { ["Port"] = 0 },
        ["Cluster"] = new JsonObject { ["Port"] = 0 },
        ["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={database}" },
        ["Providers"] = new JsonArray
        {
            new JsonObject
            {
                ["Name"] = "primary", ["Kind"] = "openai", ["BaseUrl"] = upstream,
                ["Keys"] = new JsonArray
                {
                    new JsonObject { ["Id"] = "primary-1", ["Secret"] = "sk-bench-primary-1" },
                    new JsonObject { ["Id"] = "primary-2", ["Secret"] = "sk-bench-primary-2" },
                },
            },
            new JsonObject
            {
                ["Name"] = "secondary", ["Kind"] = "anthropic", ["BaseUrl"] = upstream,
                ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "secondary-1", ["Secret"] = "sk-bench-secondary-1" } },
            },
        },
        ["Models"] = new JsonArray
        {
            new JsonObject
            {
                ["Id"] = "main",
                ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "primary", ["Model"] = "main-model" } },
                ["Fallbacks"] = new JsonArray("spare"),
            },
            new JsonObject
            {
                ["Id"] = "spare",
                ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "secondary", ["Model"] = "spare-model" } },
            },
        },
        ["Keys"] = new JsonArray { new JsonObject { ["Name"] = "bench", ["Key"] = LoadRun.Key, ["Models"] = new JsonArray("*") } },
        ["Breaker"] = new JsonObject { ["FailureThreshold"] = 5, ["OpenSeconds"] = 5, ["HalfOpenProbes"] = 2 },
        ["Retry"] = new JsonObject { ["MaxAttempts"] = 3, ["BaseDelayMs"] = 50, ["MaxDelayMs"] = 1000, ["AttemptTimeoutMs"] = 10000 },
        ["Ingress"] = new JsonObject { ["QueueSize"] = 4096, ["Parallelism"] = 512 },
    },
};

/// <summary>Command line: <c>--requests N --concurrency C --fault-rate F --latency-ms L --retry-after-ms R --seed S --max-seconds T</c>.</summary>
internal sealed record BenchOptions(int Requests, int Concurrency, double FaultRate, int UpstreamLatencyMs, int RetryAfterMs, int Seed, int MaxSeconds)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(10_000, 32, 0.2, 20, 100, 7, 180);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var v = args[i + 1];
            o = args[i] switch
            {
                "--requests" => o with { Requests = int.Parse(v, CultureInfo.InvariantCulture) },
                "--concurrency" => o with { Concurrency = int.Parse(v, CultureInfo.InvariantCulture) },
                "--fault-rate" => o with { FaultRate = double.Parse(v, CultureInfo.InvariantCulture) },
                "--latency-ms" => o with { UpstreamLatencyMs = int.Parse(v, CultureInfo.InvariantCulture) },
                "--retry-after-ms" => o with { RetryAfterMs = int.Parse(v, CultureInfo.InvariantCulture) },
                "--seed" => o with { Seed = int.Parse(v, CultureInfo.InvariantCulture) },
                "--max-seconds" => o with { MaxSeconds = int.Parse(v, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return o;
    }
}

/// <summary>A fixed number of requests from a fixed number of concurrent clients; latency as the client saw it.</summary>
internal sealed class LoadRun
{
    public const string Key = "sk-bench-failover";

    private const string Body = """{"model":"main","max_tokens":32,"messages":[{"role":"user","content":"Summarise failover in five words"}]}""";

    private readonly double[] _latencyMs;
    private readonly int[] _attempts;
    private readonly int[] _status;
    private readonly bool[] _fallback;

    private LoadRun(int requests)
    {
        _latencyMs = new double[requests];
        _attempts = new int[requests];
        _status = new int[requests];
        _fallback = new bool[requests];
    }

    public int Completed { get; private set; }
    public double WallSeconds { get; private set; }
    public int Successes => _status.Take(Completed).Count(s => s == 200);

    public Dictionary<int, int> FailuresByStatus =>
        _status.Take(Completed).Where(s => s != 200).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());

    public static async Task<LoadRun> RunAsync(HttpClient client, int requests, int concurrency, int maxSeconds)
    {
        var run = new LoadRun(requests);
        var next = -1;
        var completed = 0;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds));
        var wall = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests && !bound.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                int status;
                var attempts = 0;
                var fallback = false;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
                    {
                        Content = new StringContent(Body, Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Authorization = new("Bearer", Key);
                    using var response = await client.SendAsync(request, bound.Token);
                    await response.Content.ReadAsByteArrayAsync(bound.Token);
                    status = (int)response.StatusCode;
                    if (response.Headers.TryGetValues("x-router-attempts", out var values))
                        attempts = int.Parse(values.First(), CultureInfo.InvariantCulture);
                    fallback = response.Headers.TryGetValues("x-router-model", out var model) && model.First() != "main";
                }
                catch (Exception) when (bound.IsCancellationRequested)
                {
                    break;
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }
                run._latencyMs[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                run._attempts[i] = attempts;
                run._status[i] = status;
                run._fallback[i] = fallback;
                Interlocked.Increment(ref completed);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        run.WallSeconds = wall.Elapsed.TotalSeconds;
        // Requests are handed out in order, so the first `completed` slots are the finished ones, bar the few in
        // flight when the bound hit (left as zeros and excluded).
        run.Completed = completed;
        if (completed < requests)
        {
            var done = Enumerable.Range(0, requests).Where(j => run._status[j] != 0 || run._latencyMs[j] > 0).ToArray();
            run.Compact(done);
        }
        return run;
    }

    private void Compact(int[] indexes)
    {
        for (var k = 0; k < indexes.Length; k++)
        {
            _latencyMs[k] = _latencyMs[indexes[k]];
            _attempts[k] = _attempts[indexes[k]];
            _status[k] = _status[indexes[k]];
            _fallback[k] = _fallback[indexes[k]];
        }
        Completed = indexes.Length;
    }

    public double Percentile(double p)
    {
        if (Completed == 0) return double.NaN;
        var sorted = _latencyMs.Take(Completed).Order().ToArray();
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public string Row(string name, int upstreamCalls)
    {
        var attempts = _attempts.Take(Completed).ToArray();
        var answered = attempts.Where(a => a > 0).ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Completed} | {100.0 * Successes / Math.Max(1, Completed):0.00}% | {Percentile(0.5):0.0} | {Percentile(0.99):0.0} | " +
            $"{_latencyMs.Take(Completed).DefaultIfEmpty().Max():0.0} | {(answered.Length == 0 ? 0 : answered.Average()):0.000} | " +
            $"{attempts.Count(a => a > 1)} | {100.0 * _fallback.Take(Completed).Count(f => f) / Math.Max(1, Completed):0.0}% | {upstreamCalls} | {WallSeconds:0.0} |");
    }
}

// Router.Bench.Batch: gRPC Batch against unary Complete on one in-process node (simulated provider, zero latency),
// and the memory one open SSE stream costs. Bounded: every phase stops at its deadline.
//
//   dotnet run -c Release --project bench/Router.Bench.Batch -- [--requests 20000] [--concurrency 64] [--seconds 30] [--streams 200]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Router.Node.Hosting;
using G = Router.Contracts.Grpc;

var requests = Arg("--requests", 20_000);
var concurrency = Arg("--concurrency", 64);
var seconds = Arg("--seconds", 30);
var streams = Arg("--streams", 200);
const string Key = "sk-bench";

var db = Path.Combine(Path.GetTempPath(), $"router-bench-batch-{Guid.NewGuid():N}.db");
var app = RouterHost.Build([], config =>
{
    config.Sources.Clear();
    config.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Config(db, concurrency).ToJsonString())));
});
await app.StartAsync();
try
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
    var httpBase = new Uri(addresses[0] + "/");
    using var channel = GrpcChannel.ForAddress(addresses[1]);
    var client = new G.Router.RouterClient(channel);
    var auth = new Metadata { { "authorization", "Bearer " + Key } };

    Console.WriteLine($"Router.Bench.Batch: {requests} requests, concurrency/window {concurrency}, at most {seconds} s a phase, {Environment.ProcessorCount} cores");
    await BatchAsync(client, auth, 1_000, TimeSpan.FromSeconds(seconds)); // warm-up: JIT, shard allocation, connections
    await UnaryAsync(client, auth, 1_000, concurrency, TimeSpan.FromSeconds(seconds));

    var batch = await BatchAsync(client, auth, requests, TimeSpan.FromSeconds(seconds));
    var unary = await UnaryAsync(client, auth, requests, concurrency, TimeSpan.FromSeconds(seconds));
    Console.WriteLine();
    Console.WriteLine("| mode | requests | seconds | req/s |");
    Console.WriteLine("|---|---:|---:|---:|");
    Console.WriteLine($"| gRPC Batch (window {concurrency}) | {batch.Done} | {batch.Elapsed.TotalSeconds:0.00} | {batch.Rate:0} |");
    Console.WriteLine($"| gRPC unary Complete ({concurrency} concurrent) | {unary.Done} | {unary.Elapsed.TotalSeconds:0.00} | {unary.Rate:0} |");
    Console.WriteLine($"Batch / unary: {batch.Rate / unary.Rate:0.00}x");

    if (streams > 0) await StreamMemoryAsync(httpBase, streams);
}
finally
{
    await app.StopAsync();
    await app.DisposeAsync();
    foreach (var f in new[] { db, db + "-wal", db + "-shm" }) try { File.Delete(f); } catch (IOException) { }
}

static async Task<Result> BatchAsync(G.Router.RouterClient client, Metadata auth, int count, TimeSpan limit)
{
    using var deadline = new CancellationTokenSource(limit);
    var watch = Stopwatch.StartNew();
    using var call = client.Batch(auth);
    var writer = Task.Run(async () =>
    {
        try
        {
            for (var i = 0; i < count && !deadline.IsCancellationRequested; i++) await call.RequestStream.WriteAsync(Request(i));
        }
        finally
        {
            await call.RequestStream.CompleteAsync();
        }
    });
    var done = 0;
    await foreach (var r in call.ResponseStream.ReadAllAsync())
    {
        if (r.Error is not null) throw new InvalidOperationException($"{r.ClientId}: {r.Error.Reason} {r.Error.Message}");
        done++;
    }
    await writer;
    return new Result(done, watch.Elapsed);
}

static async Task<Result> UnaryAsync(G.Router.RouterClient client, Metadata auth, int count, int concurrency, TimeSpan limit)
{
    using var deadline = new CancellationTokenSource(limit);
    var next = -1;
    var done = 0;
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count && !deadline.IsCancellationRequested)
        {
            await client.CompleteAsync(Request(i).Request, auth);
            Interlocked.Increment(ref done);
        }
    }));
    return new Result(done, watch.Elapsed);
}

// Per-stream memory: open N SSE streams that stay open (slow simulated tokens), read the first event of each,
// and compare the managed heap and the working set with none open. Client and node share the process, so the
// figure includes the client's side of each connection: an upper bound for the node's.
static async Task StreamMemoryAsync(Uri httpBase, int count)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = count + 10 }) { BaseAddress = httpBase, Timeout = Timeout.InfiniteTimeSpan };
    var (heap0, ws0) = Measure();
    var open = new List<(HttpResponseMessage Response, Stream Body)>();
    for (var i = 0; i < count; i++)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"slow","stream":true,"messages":[{"role":"user","content":"stream {{i}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1];
        while (await body.ReadAsync(buffer) == 1 && buffer[0] != (byte)'\n') { }
        open.Add((response, body));
    }
    var (heap1, ws1) = Measure();
    Console.WriteLine();
    Console.WriteLine($"{count} open SSE streams: managed heap +{(heap1 - heap0) / count / 1024.0:0.0} KiB per stream, working set +{(ws1 - ws0) / count / 1024.0:0.0} KiB per stream");
    foreach (var (response, _) in open) response.Dispose();

    static (long Heap, long WorkingSet) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
    }
}

static G.BatchRequest Request(int i) => new()
{
    ClientId = i.ToString(CultureInfo.InvariantCulture),
    Request = new G.CompletionRequest { Model = "sim", Messages = { new G.Message { Role = "user", Content = $"benchmark question {i}" } } },
};

static JsonObject Config(string db, int window) => new()
{
    ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
    ["Router"] = new JsonObject
    {
        ["Http"] = new JsonObject { ["Port"] = 0 },
        ["Grpc"] = new JsonObject { ["Port"] = 0 },
        ["Cluster"] = new JsonObject { ["Port"] = 0 },
        ["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={db}" },
        ["Providers"] = new JsonArray
        {
            new JsonObject { ["Name"] = "sim", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0 },
            new JsonObject { ["Name"] = "slow", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 1, ["CompletionTokens"] = 600 },
        },
        ["Models"] = new JsonArray
        {
            new JsonObject { ["Id"] = "sim", ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-1" } } },
            new JsonObject { ["Id"] = "slow", ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "slow", ["Model"] = "slow-1" } } },
        },
        ["Keys"] = new JsonArray { new JsonObject { ["Name"] = "bench", ["Key"] = Key, ["Models"] = new JsonArray("*") } },
        ["Batches"] = new JsonObject { ["GrpcWindow"] = window },
        ["Ingress"] = new JsonObject { ["QueueSize"] = 4096, ["Parallelism"] = 1024 },
    },
};

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

internal sealed record Result(int Done, TimeSpan Elapsed)
{
    public double Rate => Done / Elapsed.TotalSeconds;
}

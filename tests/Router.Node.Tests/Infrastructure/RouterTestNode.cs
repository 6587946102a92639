using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Router.Node.Hosting;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// A real Router node in the test process: Kestrel on 127.0.0.1 with OS-assigned ports, a single-node Akka
/// cluster on a random port, and its own SQLite file. Configured only by the JSON given (no appsettings.json).
/// </summary>
public sealed class RouterTestNode : IAsyncDisposable
{
    public const string DemoKey = "sk-test-demo";
    public const string AdminKey = "sk-test-admin";

    private readonly WebApplication _app;

    private RouterTestNode(WebApplication app, Uri http, Uri grpc, string databasePath)
    {
        _app = app;
        HttpBase = http;
        GrpcBase = grpc;
        DatabasePath = databasePath;
        Http = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri HttpBase { get; }
    public Uri GrpcBase { get; }
    public string DatabasePath { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a node. <paramref name="router"/> is the <c>Router</c> section; ports and persistence are filled in unless set.</summary>
    /// <param name="clock">A fake clock drives key buckets, cooldowns and breakers; simulated providers then need
    /// <c>LatencyMs</c> 0 and <c>TokensPerSecond</c> 0 (their delays would wait for the fake clock).</param>
    public static async Task<RouterTestNode> StartAsync(
        JsonObject router, string? databasePath = null, TimeProvider? clock = null, Action<IServiceCollection>? overrides = null)
    {
        databasePath ??= Path.Combine(Path.GetTempPath(), $"router-test-{Guid.NewGuid():N}.db");
        router["Http"] ??= new JsonObject { ["Port"] = 0 };
        router["Grpc"] ??= new JsonObject { ["Port"] = 0 };
        router["Cluster"] ??= new JsonObject { ["Port"] = 0 };
        router["AdminKey"] ??= AdminKey;
        router["Persistence"] ??= new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={databasePath}" };
        var json = new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
            ["Router"] = router,
        }.ToJsonString();

        var app = RouterHost.Build([], config =>
        {
            config.Sources.Clear();
            config.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        }, overrides, clock);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        // Listen order in RouterHost: HTTP/1.1 first, then h2c.
        return new RouterTestNode(app, new Uri(addresses[0] + "/"), new Uri(addresses[1] + "/"), databasePath);
    }

    /// <summary>A ready-made Router section: one provider, one model with the given deployments, one key.</summary>
    public static JsonObject Config(JsonArray providers, JsonArray models, JsonArray? keys = null) => new()
    {
        ["Providers"] = providers,
        ["Models"] = models,
        ["Keys"] = keys ?? new JsonArray { new JsonObject { ["Name"] = "demo", ["Key"] = DemoKey, ["Models"] = new JsonArray("*") } },
        ["Retry"] = new JsonObject { ["MaxAttempts"] = 3, ["BaseDelayMs"] = 10, ["MaxDelayMs"] = 50, ["AttemptTimeoutMs"] = 5000 },
    };

    public HttpRequestMessage Post(string path, string json, string? key = DemoKey, bool anthropic = false)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            if (anthropic) req.Headers.Add("x-api-key", key);
            else req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        return req;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var f in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}

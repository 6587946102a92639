using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Contracts.Chat;
using Router.Node.Hosting;
using Router.Node.Ingress;
using Router.Node.Pipeline;

namespace Router.Bench.Admission;

/// <summary>An in-process Router node on loopback: simulated upstream that answers at once, one key with huge limits.</summary>
internal sealed class BenchNode : IAsyncDisposable
{
    public const string Key = "sk-bench-admission";
    public const string Model = "bench-model";

    private readonly WebApplication _app;
    private readonly string _database;

    private BenchNode(WebApplication app, string database, Uri http)
    {
        _app = app;
        _database = database;
        Http = http;
    }

    public Uri Http { get; }
    public IServiceProvider Services => _app.Services;

    /// <param name="admission">False replaces <see cref="IAdmission"/> with <see cref="PassThroughAdmission"/>.</param>
    public static async Task<BenchNode> StartAsync(bool admission)
    {
        var database = Path.Combine(Path.GetTempPath(), $"router-bench-{Guid.NewGuid():N}.db");
        var json = new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
            ["Router"] = new JsonObject
            {
                ["Http"] = new JsonObject { ["Port"] = 0 },
                ["Grpc"] = new JsonObject { ["Port"] = 0 },
                ["Cluster"] = new JsonObject { ["Port"] = 0 },
                ["AdminKey"] = "sk-bench-admin",
                ["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={database}" },
                ["Providers"] = new JsonArray
                {
                    new JsonObject { ["Name"] = "sim", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0, ["CompletionTokens"] = 8 },
                },
                ["Models"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["Id"] = Model,
                        ["Deployments"] = new JsonArray
                        {
                            new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-1", ["InputPerMTok"] = 1, ["OutputPerMTok"] = 2 },
                        },
                    },
                },
                // Limits so large they never refuse: what is measured is the cost of checking them.
                ["Keys"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["Name"] = "bench", ["Key"] = Key, ["Rpm"] = 1_000_000_000, ["Tpm"] = 2_000_000_000,
                        ["MaxConcurrent"] = 1_000_000, ["BudgetUsd"] = 1_000_000_000, ["Models"] = new JsonArray("*"),
                    },
                },
                ["Ingress"] = new JsonObject { ["QueueSize"] = 4096, ["Parallelism"] = 1024 },
            },
        }.ToJsonString();

        var app = RouterHost.Build([], config =>
        {
            config.Sources.Clear();
            config.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        }, services =>
        {
            if (!admission) services.Replace(ServiceDescriptor.Singleton<IAdmission, PassThroughAdmission>());
            services.AddHostedService<IngressQueueStopper>();
        });
        await app.StartAsync();
        var http = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BenchNode(app, database, new Uri(http + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _database, _database + "-wal", _database + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}

/// <summary>
/// The "admission off" baseline: authenticates nothing, limits nothing, returns a ticket. Everything else on the
/// request path (ingress queue, planner, dispatch, ledger) stays, so the difference is admission alone.
/// </summary>
internal sealed class PassThroughAdmission : IAdmission
{
    private static readonly Caller Anyone = new("0000000000000000", "bench");

    public ValueTask<Caller> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken) => ValueTask.FromResult(Anyone);

    public ValueTask<Func<Router.Actors.Routing.ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Func<Router.Actors.Routing.ModelEntry, bool>>(_ => true);

    public ValueTask<AdmissionTicket> AdmitAsync(string presentedKey, string requestedModel, Router.Actors.Routing.ModelEntry model,
        int estimatedTokens, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new AdmissionTicket(Anyone, Guid.NewGuid().ToString("N"), estimatedTokens, null));

    public void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd)
    {
    }

    public void Abort(AdmissionTicket ticket)
    {
    }
}

/// <summary>
/// Works around <see cref="IngressQueue.DisposeAsync"/> never completing once the ActorSystem has stopped (the
/// container disposes it after Akka): registered last, it stops first and completes the queue while Akka still runs.
/// </summary>
internal sealed class IngressQueueStopper(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) =>
        await services.GetRequiredService<IngressQueue>().DisposeAsync();
}

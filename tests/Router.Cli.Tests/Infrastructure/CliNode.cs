using System.Net.Sockets;
using System.Text.Json.Nodes;
using Router.Cli;
using Router.Node.Tests.Infrastructure;

namespace Router.Cli.Tests.Infrastructure;

/// <summary>What one <c>routerctl</c> run printed and returned.</summary>
public sealed record CliResult(int Exit, string Out, string Err)
{
    public JsonNode Json() => JsonNode.Parse(Out) ?? throw new InvalidOperationException("routerctl printed JSON null");

    public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
}

/// <summary>
/// One live in-process node shared by the CLI tests: three models (one whose simulated provider always fails, with
/// a breaker that opens after two failures and stays open), the demo key, and <c>routerctl</c> pointed at its gRPC port.
/// </summary>
public sealed class CliNode : IAsyncLifetime
{
    public const string BrokenModel = "broken";
    public const string BrokenDeployment = "broken/sim-broken";

    private RouterTestNode? _node;

    public RouterTestNode Node => _node ?? throw new InvalidOperationException("the node is not started");

    public string Host => $"{Node.GrpcBase.Host}:{Node.GrpcBase.Port}";

    public async Task InitializeAsync()
    {
        var router = RouterTestNode.Config(
            new JsonArray
            {
                new JsonObject { ["Name"] = "sim", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0, ["CompletionTokens"] = 8 },
                new JsonObject { ["Name"] = "sim-broken", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0, ["FailureRate"] = 1.0 },
            },
            new JsonArray
            {
                new JsonObject
                {
                    ["Id"] = "m-small", ["Aliases"] = new JsonArray("fast"), ["ContextWindow"] = 16000, ["Tier"] = "simple",
                    ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-small-v1", ["InputPerMTok"] = 0.15, ["OutputPerMTok"] = 0.60 } },
                    ["Fallbacks"] = new JsonArray("m-large"),
                },
                new JsonObject
                {
                    ["Id"] = "m-large", ["Aliases"] = new JsonArray("smart"), ["ContextWindow"] = 128000,
                    ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-large-v1", ["InputPerMTok"] = 2.5, ["OutputPerMTok"] = 10 } },
                },
                new JsonObject
                {
                    ["Id"] = BrokenModel,
                    ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim-broken", ["Model"] = "always-500" } },
                },
            });
        router["Breaker"] = new JsonObject { ["FailureThreshold"] = 2, ["OpenSeconds"] = 600, ["HalfOpenProbes"] = 1 };
        _node = await RouterTestNode.StartAsync(router);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
    }

    /// <summary>Runs <c>routerctl --host {node} --admin-key {admin key} args…</c> in-process.</summary>
    public Task<CliResult> Ctl(params string[] args) => Raw(["--host", Host, "--admin-key", RouterTestNode.AdminKey, .. args]);

    /// <summary>Runs <c>routerctl args…</c> in-process, with no options added.</summary>
    public static async Task<CliResult> Raw(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await RouterCtl.RunAsync(args, output, error);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>A port nothing listens on: bound by the OS, then released.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public Task<HttpResponseMessage> ChatAsync(string model, string key = RouterTestNode.DemoKey) =>
        Node.Http.SendAsync(Node.Post("/v1/chat/completions",
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}]}""", key));

    /// <summary>Re-runs <paramref name="probe"/> until it holds (the ledger and the breakers are updated asynchronously).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        T last;
        while (!done(last = await probe()))
        {
            if (patience.IsCancellationRequested) throw new Xunit.Sdk.XunitException($"gave up waiting for {what}; last: {last}");
            await Task.Delay(50, CancellationToken.None);
        }
        return last;
    }
}

[CollectionDefinition(Name)]
public sealed class CliNodeCollection : ICollectionFixture<CliNode>
{
    public const string Name = "routerctl against one live node";
}

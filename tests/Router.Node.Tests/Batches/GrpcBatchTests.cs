using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Router.Node.Batches;
using Router.Node.Tests.Infrastructure;
using Router.Node.Tests.Ingress;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Batches;

public sealed class GrpcBatchTests
{
    private static readonly Metadata Auth = new() { { "authorization", "Bearer " + RouterTestNode.DemoKey } };

    [Fact]
    public async Task Answers_ten_thousand_requests_once_each_without_more_than_the_window_in_flight()
    {
        const int count = 10_000;
        var router = SimulatedConfig();
        router["Batches"] = new JsonObject { ["GrpcWindow"] = 64 };
        await using var node = await RouterTestNode.StartAsync(router);
        using var channel = GrpcChannel.ForAddress(node.GrpcBase);
        var client = new G.Router.RouterClient(channel);

        using var call = client.Batch(Auth);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++) await call.RequestStream.WriteAsync(Request($"r{i}", $"question {i}"));
            await call.RequestStream.CompleteAsync();
        });
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var errors = new List<string>();
        await foreach (var result in call.ResponseStream.ReadAllAsync())
        {
            seen[result.ClientId] = seen.GetValueOrDefault(result.ClientId) + 1;
            if (result.Error is { } e) errors.Add($"{result.ClientId}: {e.Reason} {e.Message}");
            else Assert.Contains("simulated", result.Response.Content);
        }
        await writer;

        Assert.Empty(errors);
        Assert.Equal(count, seen.Count);
        Assert.All(seen, kv => Assert.Equal(1, kv.Value));
        Assert.True(Enumerable.Range(0, count).All(i => seen.ContainsKey($"r{i}")));
        var metrics = node.Services.GetRequiredService<BatchMetrics>();
        Assert.InRange(metrics.GrpcPeakInFlightPerCall, 1, 64);
        Assert.Equal(count, metrics.GrpcItems);
        Assert.Equal(0, metrics.GrpcInFlight);
    }

    [Fact]
    public async Task Reads_no_further_than_the_window_while_every_slot_is_busy()
    {
        const int window = 8;
        const int count = 2_000;
        await using var upstream = await ControlledUpstream.StartAsync();
        var router = OverloadTests.ConfigFor(upstream);
        router["Batches"] = new JsonObject { ["GrpcWindow"] = window };
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 120_000, ["DeadlineMs"] = 180_000 };
        // An ingress queue far smaller than the window: a Batch call is bounded by its window, not refused by the gate.
        router["Ingress"] = new JsonObject { ["QueueSize"] = 1, ["Parallelism"] = 1 };
        await using var node = await RouterTestNode.StartAsync(router);
        using var channel = GrpcChannel.ForAddress(node.GrpcBase);
        var client = new G.Router.RouterClient(channel);
        var metrics = node.Services.GetRequiredService<BatchMetrics>();

        using var call = client.Batch(Auth);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
                await call.RequestStream.WriteAsync(new G.BatchRequest
                {
                    ClientId = $"r{i}",
                    Request = new G.CompletionRequest { Model = "held", Messages = { new G.Message { Role = "user", Content = new string('q', 1000) } } },
                });
            await call.RequestStream.CompleteAsync();
        });

        // The upstream holds every answer: the window fills and nothing frees a slot.
        await upstream.WaitForInFlightAsync(window, TimeSpan.FromSeconds(30));
        Assert.Equal(window, metrics.GrpcItems);
        Assert.Equal(window, metrics.GrpcInFlight);
        Assert.Equal(window, upstream.Received);
        Assert.Equal(0, node.Services.GetRequiredService<Router.Node.Ingress.IngressQueue>().Running);
        // ~2 MB of requests do not fit the HTTP/2 window the server left unread: the client is still writing.
        Assert.False(writer.IsCompleted);

        upstream.Release();
        var answered = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var result in call.ResponseStream.ReadAllAsync())
        {
            Assert.Null(result.Error);
            Assert.True(answered.Add(result.ClientId));
        }
        await writer;
        Assert.Equal(count, answered.Count);
        Assert.Equal(window, metrics.GrpcPeakInFlightPerCall);
    }

    [Fact]
    public async Task Refuses_the_whole_call_without_a_valid_key_and_reports_per_item_errors_otherwise()
    {
        await using var node = await RouterTestNode.StartAsync(SimulatedConfig());
        using var channel = GrpcChannel.ForAddress(node.GrpcBase);
        var client = new G.Router.RouterClient(channel);

        using (var bad = client.Batch(new Metadata { { "authorization", "Bearer sk-wrong" } }))
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await bad.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        }

        using var call = client.Batch(Auth);
        await call.RequestStream.WriteAsync(Request("ok", "hello"));
        await call.RequestStream.WriteAsync(new G.BatchRequest { ClientId = "no-model", Request = new G.CompletionRequest { Messages = { new G.Message { Role = "user", Content = "x" } } } });
        await call.RequestStream.WriteAsync(Request("unknown-model", "hello", model: "nope"));
        await call.RequestStream.CompleteAsync();
        var results = new Dictionary<string, G.BatchResult>();
        await foreach (var r in call.ResponseStream.ReadAllAsync()) results[r.ClientId] = r;

        Assert.Equal(3, results.Count);
        Assert.Contains("simulated", results["ok"].Response.Content);
        Assert.Equal("stop", results["ok"].Response.FinishReason);
        Assert.Equal((int)StatusCode.InvalidArgument, results["no-model"].Error.Code);
        Assert.Equal((int)StatusCode.NotFound, results["unknown-model"].Error.Code);
        Assert.Equal("ModelNotFound", results["unknown-model"].Error.Reason);
    }

    internal static G.BatchRequest Request(string id, string text, string model = "sim") => new()
    {
        ClientId = id,
        Request = new G.CompletionRequest { Model = model, Messages = { new G.Message { Role = "user", Content = text } } },
    };

    internal static JsonObject SimulatedConfig() => RouterTestNode.Config(
        new JsonArray { new JsonObject { ["Name"] = "sim", ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0 } },
        new JsonArray { new JsonObject
        {
            ["Id"] = "sim",
            ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-1" } },
        } });
}

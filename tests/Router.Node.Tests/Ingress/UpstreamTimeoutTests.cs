using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// A node whose only attempt may wait 300 ms for an upstream that never answers: 504 (gRPC DeadlineExceeded)
/// in each protocol's shape, the upstream call is cancelled, and the node still serves.
/// </summary>
public sealed class UpstreamTimeoutFixture : IAsyncLifetime
{
    public FakeUpstream Silent { get; private set; } = null!;
    public RouterTestNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Silent = await FakeUpstream.StartAsync();
        Silent.Always(Behaviour.Hang());
        var config = RouterTestNode.Config(
            new JsonArray { E2e.OpenAiProvider("silent", Silent), E2e.SimulatedProvider("sim") },
            new JsonArray { E2e.Model(E2e.SlowModel, "silent", "slow-upstream-e2e"), E2e.Model(E2e.SimModel, "sim", E2e.SimUpstreamModel) });
        config["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["BaseDelayMs"] = 1, ["MaxDelayMs"] = 5, ["AttemptTimeoutMs"] = 300 };
        config["Breaker"] = new JsonObject { ["FailureThreshold"] = 1000, ["OpenSeconds"] = 1, ["HalfOpenProbes"] = 1 };
        Node = await RouterTestNode.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        if (Node is not null) await Node.DisposeAsync();
        if (Silent is not null) await Silent.DisposeAsync();
    }
}

/// <summary>An attempt that runs out of time is a 504 in each protocol's words, not a hang and not a 502.</summary>
public sealed class UpstreamTimeoutTests(UpstreamTimeoutFixture fixture) : IClassFixture<UpstreamTimeoutFixture>
{
    public static TheoryData<string, bool> ProtocolsAndStreaming => new()
    {
        { "openai", false }, { "openai", true }, { "anthropic", false }, { "anthropic", true },
    };

    [Theory]
    [MemberData(nameof(ProtocolsAndStreaming))]
    public async Task Upstream_timeout_is_504_and_cancels_the_upstream_call(string protocol, bool stream)
    {
        var abortsBefore = fixture.Silent.AbortedCount;
        var prompt = E2e.UniquePrompt();
        using var request = protocol == "openai"
            ? fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(E2e.SlowModel, prompt, stream))
            : fixture.Node.PostAnthropic(E2e.AnthropicBody(E2e.SlowModel, prompt, stream));

        using var response = await fixture.Node.Http.SendAsync(request);

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.GatewayTimeout, "upstream_timeout", "timeout_error");
        Assert.Contains("timed out", (string?)error["message"]);
        Assert.Single(fixture.Silent.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
        await fixture.Silent.WaitForAbortsAsync(abortsBefore + 1, E2e.Patience);
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Grpc_upstream_timeout_is_deadline_exceeded(bool stream)
    {
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        var request = E2e.GrpcRequest(E2e.SlowModel, E2e.UniquePrompt());
        var headers = E2e.Bearer(RouterTestNode.DemoKey);
        var deadline = DateTime.UtcNow + E2e.Patience;

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (!stream) await client.CompleteAsync(request, headers, deadline);
            else
            {
                using var call = client.CompleteStream(request, headers, deadline);
                await foreach (var _ in call.ResponseStream.ReadAllAsync()) { }
            }
        });

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Contains("timed out", ex.Status.Detail);
        await fixture.Node.AssertStillServesAsync();
    }
}

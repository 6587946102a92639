using Grpc.Core;
using Router.Node.Tests.Infrastructure;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Grpc;

/// <summary>Refusals over gRPC are status codes with a message, for unary and streaming calls alike; the node keeps serving.</summary>
public sealed class GrpcErrorTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<bool> Streaming => new() { false, true };

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Missing_key_is_unauthenticated(bool stream)
    {
        var ex = await CallAsync(E2e.GrpcRequest(E2e.SimModel, E2e.UniquePrompt()), new Metadata(), stream);

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Invalid_key_is_unauthenticated(bool stream)
    {
        var ex = await CallAsync(E2e.GrpcRequest(E2e.SimModel, E2e.UniquePrompt()), E2e.Bearer("sk-not-a-router-key"), stream);

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.DoesNotContain("sk-not-a-router-key", ex.Status.Detail);
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Model_not_allowed_for_the_key_is_permission_denied(bool stream)
    {
        var ex = await CallAsync(E2e.GrpcRequest(E2e.OpenAiModel, E2e.UniquePrompt()), E2e.Bearer(E2e.RestrictedKey), stream);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Unknown_model_is_not_found(bool stream)
    {
        var ex = await CallAsync(E2e.GrpcRequest("no-such-model", E2e.UniquePrompt()), E2e.Bearer(RouterTestNode.DemoKey), stream);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("no-such-model", ex.Status.Detail);
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Missing_messages_is_invalid_argument(bool stream)
    {
        var ex = await CallAsync(new G.CompletionRequest { Model = E2e.SimModel }, E2e.Bearer(RouterTestNode.DemoKey), stream);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("messages", ex.Status.Detail);
        await fixture.Node.AssertStillServesAsync();
    }

    [Fact]
    public async Task Missing_model_is_invalid_argument()
    {
        var request = E2e.GrpcRequest("", E2e.UniquePrompt());

        var ex = await CallAsync(request, E2e.Bearer(RouterTestNode.DemoKey), stream: false);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("model", ex.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(Streaming))]
    public async Task Upstream_failure_is_unavailable_carrying_the_upstreams_reason(bool stream)
    {
        var ex = await CallAsync(E2e.GrpcRequest(E2e.BrokenModel, E2e.UniquePrompt()), E2e.Bearer(RouterTestNode.DemoKey), stream);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains(E2e.UpstreamFailureReason, ex.Status.Detail);
        await fixture.Node.AssertStillServesAsync();
    }

    /// <summary>Makes the call and returns the failure it must end with.</summary>
    private async Task<RpcException> CallAsync(G.CompletionRequest request, Metadata headers, bool stream)
    {
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        var deadline = DateTime.UtcNow + E2e.Patience;
        if (!stream)
            return await Assert.ThrowsAsync<RpcException>(async () => await client.CompleteAsync(request, headers, deadline));

        using var call = client.CompleteStream(request, headers, deadline);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync()) { }
        });
        return ex;
    }
}

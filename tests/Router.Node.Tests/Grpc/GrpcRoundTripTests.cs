using Router.Node.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Grpc;

/// <summary>
/// <c>router.v1.Router</c> over h2c with the stock Grpc.Net.Client: unary and server-streaming against every
/// upstream kind, where-served-from in the trailers, and the standard health service.
/// </summary>
public sealed class GrpcRoundTripTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> UpstreamKinds => new() { "openai", "anthropic", "simulated" };

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Complete_answers_with_content_usage_and_served_by_trailers(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);

        using var call = client.CompleteAsync(E2e.GrpcRequest(expected.Model, prompt), E2e.Bearer(RouterTestNode.DemoKey),
            deadline: DateTime.UtcNow + E2e.Patience);
        var response = await call.ResponseAsync;
        var trailers = call.GetTrailers();

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.StartsWith("chatcmpl-", response.Id);
        Assert.Equal(expected.Model, response.Model);
        Assert.Equal(expected.Text, response.Content);
        Assert.Equal("stop", response.FinishReason);
        Assert.Equal(expected.PromptTokens, response.Usage.InputTokens);
        Assert.Equal(expected.CompletionTokens, response.Usage.OutputTokens);
        Assert.Equal(expected.PromptTokens + expected.CompletionTokens, response.Usage.TotalTokens);
        Assert.Equal(expected.Deployment, response.ServedBy.Deployment);
        Assert.Equal(1, response.ServedBy.Attempts);
        AssertTrailers(trailers, expected);
        fixture.AssertUpstreamSaw(kind, prompt, stream: false);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task CompleteStream_sends_deltas_then_one_finish_chunk_and_trailers(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);

        using var call = client.CompleteStream(E2e.GrpcRequest(expected.Model, prompt), E2e.Bearer(RouterTestNode.DemoKey),
            deadline: DateTime.UtcNow + E2e.Patience);
        var chunks = new List<G.CompletionChunk>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync()) chunks.Add(chunk);

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        var deltas = chunks.SkipLast(1).ToList();
        Assert.NotEmpty(deltas);
        Assert.All(deltas, c => Assert.Equal(G.CompletionChunk.KindOneofCase.Delta, c.KindCase));
        Assert.Equal(expected.Text, string.Concat(deltas.Select(c => c.Delta)));
        var finish = chunks[^1];
        Assert.Equal(G.CompletionChunk.KindOneofCase.Finish, finish.KindCase);
        Assert.Equal("stop", finish.Finish.FinishReason);
        Assert.Equal(expected.PromptTokens, finish.Finish.Usage.InputTokens);
        Assert.Equal(expected.CompletionTokens, finish.Finish.Usage.OutputTokens);
        Assert.Equal(expected.Model, finish.Finish.ServedBy.Model);
        AssertTrailers(call.GetTrailers(), expected);
        fixture.AssertUpstreamSaw(kind, prompt, stream: true);
    }

    [Fact]
    public async Task Max_tokens_cut_finishes_with_length()
    {
        var prompt = E2e.UniquePrompt();
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);

        var response = await client.CompleteAsync(E2e.GrpcRequest(E2e.OpenAiModel, prompt, maxTokens: 2),
            E2e.Bearer(RouterTestNode.DemoKey), deadline: DateTime.UtcNow + E2e.Patience);

        Assert.Equal("length", response.FinishReason);
        Assert.Equal(2, fixture.OpenAi.RequestFor(prompt).Body!.Value.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Accepts_the_key_as_x_api_key_metadata()
    {
        var prompt = E2e.UniquePrompt();
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);

        var response = await client.CompleteAsync(E2e.GrpcRequest(E2e.SimModel, prompt),
            new Metadata { { "x-api-key", RouterTestNode.DemoKey } }, deadline: DateTime.UtcNow + E2e.Patience);

        Assert.Equal(E2e.Expect("simulated", prompt).Text, response.Content);
    }

    [Fact]
    public async Task Health_service_answers_serving()
    {
        using var channel = fixture.Node.Channel();
        var health = new Health.HealthClient(channel);

        var overall = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + E2e.Patience);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
    }

    private static void AssertTrailers(Metadata trailers, Expected expected)
    {
        Assert.Equal(expected.Model, trailers.GetValue("x-router-model"));
        Assert.Equal(expected.Deployment, trailers.GetValue("x-router-deployment"));
        Assert.Equal("1", trailers.GetValue("x-router-attempts"));
        Assert.Equal(expected.ProviderKeyId, trailers.GetValue("x-router-provider-key"));
    }
}

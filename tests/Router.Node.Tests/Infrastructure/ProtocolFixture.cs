using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using OpenAI;
using Router.Node.Tests.Infrastructure;
using Router.Testing;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// One node for the protocol tests of a class: an OpenAI fake, an Anthropic fake and the simulated provider, a chat
/// model on each, and an embeddings model on the OpenAI fake and on the simulated provider. Bodies may be large
/// (images). Tests of one class run one at a time, so a test may queue the fake's next answer.
/// </summary>
public sealed class ProtocolFixture : IAsyncLifetime
{
    public const string OpenAiModel = "gpt-proto";
    public const string OpenAiUpstreamModel = "gpt-upstream-proto";
    public const string AnthropicModel = "claude-proto";
    public const string AnthropicUpstreamModel = "claude-upstream-proto";
    public const string SimModel = "sim-proto";
    public const string OpenAiEmbeddingsModel = "embed-openai-proto";
    public const string OpenAiEmbeddingsUpstreamModel = "text-embedding-upstream-proto";
    public const string SimEmbeddingsModel = "embed-sim-proto";

    public FakeUpstream OpenAi { get; private set; } = null!;
    public FakeUpstream Anthropic { get; private set; } = null!;
    public RouterTestNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartAsync();
        Anthropic = await FakeUpstream.StartAsync();
        OpenAi.Always(E2e.OpenAiFakeAnswer);
        Anthropic.Always(E2e.AnthropicFakeAnswer);

        var embeddingsOnOpenAi = E2e.Model(OpenAiEmbeddingsModel, "openai", OpenAiEmbeddingsUpstreamModel);
        embeddingsOnOpenAi["Kind"] = "embeddings";
        var embeddingsOnSim = E2e.Model(SimEmbeddingsModel, "sim", "sim-embed-upstream-proto");
        embeddingsOnSim["Kind"] = "embeddings";
        var config = RouterTestNode.Config(
            new JsonArray { E2e.OpenAiProvider("openai", OpenAi), E2e.AnthropicProvider("anthropic", Anthropic), E2e.SimulatedProvider("sim") },
            new JsonArray
            {
                E2e.Model(OpenAiModel, "openai", OpenAiUpstreamModel),
                E2e.Model(AnthropicModel, "anthropic", AnthropicUpstreamModel),
                E2e.Model(SimModel, "sim", "sim-upstream-proto"),
                embeddingsOnOpenAi,
                embeddingsOnSim,
            });
        config["Http"] = new JsonObject { ["Port"] = 0, ["MaxBodyBytes"] = 1 << 20 };
        // One attempt: a test that queued one recorded answer must see that answer's outcome, not a retry's.
        config["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["BaseDelayMs"] = 1, ["MaxDelayMs"] = 5, ["AttemptTimeoutMs"] = 10_000 };
        config["Breaker"] = new JsonObject { ["FailureThreshold"] = 1000, ["OpenSeconds"] = 1, ["HalfOpenProbes"] = 1 };
        Node = await RouterTestNode.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        if (Node is not null) await Node.DisposeAsync();
        if (OpenAi is not null) await OpenAi.DisposeAsync();
        if (Anthropic is not null) await Anthropic.DisposeAsync();
    }

    public FakeUpstream FakeFor(string model) => model switch
    {
        OpenAiModel or OpenAiEmbeddingsModel => OpenAi,
        AnthropicModel => Anthropic,
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "Only the OpenAI and Anthropic models have a fake."),
    };

    public OpenAIClientOptions OpenAiOptions() => new() { Endpoint = new Uri(Node.HttpBase, "v1") };

    public OpenAI.Chat.ChatClient OpenAiChat(string model) =>
        new(model, new ApiKeyCredential(RouterTestNode.DemoKey), OpenAiOptions());

    public AnthropicClient AnthropicSdk() =>
        new() { ApiKey = RouterTestNode.DemoKey, BaseUrl = Node.HttpBase.ToString().TrimEnd('/'), MaxRetries = 0 };
}

/// <summary>Reading what the fake upstream received.</summary>
internal static class Upstream
{
    /// <summary>The one request whose raw body contains <paramref name="marker"/> (each test sends its own).</summary>
    public static RecordedRequest Single(this FakeUpstream fake, string marker) =>
        Assert.Single(fake.Requests, r => r.RawBody.Contains(marker, StringComparison.Ordinal));

    public static JsonElement Json(this RecordedRequest request) =>
        request.Body ?? throw new InvalidOperationException($"{request} had no JSON body: {request.RawBody}");

    public static JsonNode Node(this RecordedRequest request) =>
        JsonNode.Parse(request.RawBody) ?? throw new InvalidOperationException($"{request} had a JSON null body.");

    public static string Marker() => $"m{Guid.NewGuid():N}";
}

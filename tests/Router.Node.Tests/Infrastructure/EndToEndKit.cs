using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Tests.Infrastructure;
using Router.Node.Upstreams.Simulated;
using Router.Testing;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// The configuration every end-to-end test starts from: one model per upstream kind (an OpenAI fake, an
/// Anthropic fake, the simulated provider), a model whose upstream always fails, a full key and a key
/// restricted to the simulated model. Names live here so the assertions read as the configuration does.
/// </summary>
internal static class E2e
{
    /// <summary>A safety net so a broken test fails instead of hanging; never an assertion about speed.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public const string RestrictedKey = "sk-test-restricted";
    public const string OpenAiProviderKey = "sk-upstream-openai-e2e";
    public const string AnthropicProviderKey = "sk-upstream-anthropic-e2e";
    public const int MaxBodyBytes = 2048;

    public const string OpenAiModel = "gpt-e2e";
    public const string OpenAiAlias = "oa-fast";
    public const string OpenAiUpstreamModel = "gpt-upstream-e2e";
    public const string AnthropicModel = "claude-e2e";
    public const string AnthropicUpstreamModel = "claude-upstream-e2e";
    public const string SimModel = "sim-e2e";
    public const string SimAlias = "sim-fast";
    public const string SimUpstreamModel = "sim-upstream-e2e";
    public const string BrokenModel = "broken-e2e";
    public const string SlowModel = "slow-e2e";

    /// <summary>Tokens in every simulated answer.</summary>
    public const int SimCompletionTokens = 8;

    // The fakes answer with fixed texts and usage, so the test can tell the upstream's numbers from Router's own count.
    public const string OpenAiFakeText = "Hello from the OpenAI fake";
    public const int OpenAiFakePromptTokens = 17;
    public const int OpenAiFakeCompletionTokens = 5;
    public const string AnthropicFakeText = "Greetings from the Anthropic fake upstream";
    public const int AnthropicFakePromptTokens = 23;
    public const int AnthropicFakeCompletionTokens = 6;

    public const string UpstreamFailureReason = "the fake upstream exploded";

    public static Behaviour OpenAiFakeAnswer => Behaviour.Answer(OpenAiFakeText, OpenAiFakePromptTokens, OpenAiFakeCompletionTokens);
    public static Behaviour AnthropicFakeAnswer => Behaviour.Answer(AnthropicFakeText, AnthropicFakePromptTokens, AnthropicFakeCompletionTokens);

    /// <summary>A prompt no other test sends, so the request can be found among those the fake recorded.</summary>
    public static string UniquePrompt() => $"Say hello {Guid.NewGuid():N}";

    public static JsonObject OpenAiProvider(string name, FakeUpstream fake) => new()
    {
        ["Name"] = name, ["Kind"] = "openai", ["BaseUrl"] = fake.BaseUrl,
        ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "primary", ["Secret"] = OpenAiProviderKey } },
    };

    public static JsonObject AnthropicProvider(string name, FakeUpstream fake) => new()
    {
        ["Name"] = name, ["Kind"] = "anthropic", ["BaseUrl"] = fake.BaseUrl,
        ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "main", ["Secret"] = AnthropicProviderKey } },
    };

    /// <summary>No latency and no pacing: these tests are about shapes, not timing.</summary>
    public static JsonObject SimulatedProvider(string name) => new()
    {
        ["Name"] = name, ["Kind"] = "simulated", ["LatencyMs"] = 0, ["TokensPerSecond"] = 0, ["CompletionTokens"] = SimCompletionTokens,
    };

    public static JsonObject Model(string id, string provider, string upstreamModel, params string[] aliases) => new()
    {
        ["Id"] = id,
        ["Aliases"] = new JsonArray([.. aliases.Select(a => (JsonNode)JsonValue.Create(a))]),
        ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = provider, ["Model"] = upstreamModel } },
    };

    public static JsonObject Key(string name, string key, params string[] models) => new()
    {
        ["Name"] = name, ["Key"] = key, ["Models"] = new JsonArray([.. models.Select(m => (JsonNode)JsonValue.Create(m))]),
    };

    /// <summary>
    /// The standard node: the three upstream kinds, a broken model (when <paramref name="broken"/> is given), small
    /// bodies, quick retries, and a breaker that never opens (each test must see the upstream's own failure).
    /// </summary>
    public static JsonObject Config(FakeUpstream openAi, FakeUpstream anthropic, FakeUpstream? broken = null)
    {
        var providers = new JsonArray { OpenAiProvider("openai", openAi), AnthropicProvider("anthropic", anthropic), SimulatedProvider("sim") };
        var models = new JsonArray
        {
            Model(OpenAiModel, "openai", OpenAiUpstreamModel, OpenAiAlias),
            Model(AnthropicModel, "anthropic", AnthropicUpstreamModel),
            Model(SimModel, "sim", SimUpstreamModel, SimAlias),
        };
        if (broken is not null)
        {
            providers.Add(OpenAiProvider("broken", broken));
            models.Add(Model(BrokenModel, "broken", "broken-upstream-e2e"));
        }
        var config = RouterTestNode.Config(providers, models, new JsonArray
        {
            Key("demo", RouterTestNode.DemoKey, "*"),
            Key("restricted", RestrictedKey, SimModel),
        });
        config["Http"] = new JsonObject { ["Port"] = 0, ["MaxBodyBytes"] = MaxBodyBytes };
        config["Retry"] = new JsonObject { ["MaxAttempts"] = 2, ["BaseDelayMs"] = 1, ["MaxDelayMs"] = 5, ["AttemptTimeoutMs"] = 10_000 };
        config["Breaker"] = new JsonObject { ["FailureThreshold"] = 1000, ["OpenSeconds"] = 1, ["HalfOpenProbes"] = 1 };
        return config;
    }

    /// <summary>What a client of model <paramref name="kind"/> must receive for <paramref name="prompt"/>.</summary>
    public static Expected Expect(string kind, string prompt) => kind switch
    {
        "openai" => new(OpenAiModel, $"{OpenAiModel}/openai", "primary", OpenAiUpstreamModel, OpenAiFakeText,
            OpenAiFakePromptTokens, OpenAiFakeCompletionTokens),
        "anthropic" => new(AnthropicModel, $"{AnthropicModel}/anthropic", "main", AnthropicUpstreamModel, AnthropicFakeText,
            AnthropicFakePromptTokens, AnthropicFakeCompletionTokens),
        "simulated" => new(SimModel, $"{SimModel}/sim", null, SimUpstreamModel, SimulatedText(prompt, SimCompletionTokens),
            SimulatedUpstreamClient.EstimatePromptTokens([new ChatMessage(ChatRole.User, prompt)]), SimCompletionTokens),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The simulated provider's answer: a fixed phrase, then the prompt's words in turn.</summary>
    public static string SimulatedText(string prompt, int tokens)
    {
        string[] phrase = ["This", " is", " a", " simulated", " answer", " about"];
        var words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var sb = new StringBuilder();
        for (var i = 0; i < tokens; i++) sb.Append(i < phrase.Length ? phrase[i] : " " + words[(i - phrase.Length) % words.Length]);
        return sb.ToString();
    }

    public static string OpenAiBody(string model, string prompt, bool stream = false, bool includeUsage = false, int? maxTokens = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = prompt } },
        };
        if (stream) body["stream"] = true;
        if (includeUsage) body["stream_options"] = new JsonObject { ["include_usage"] = true };
        if (maxTokens is { } m) body["max_tokens"] = m;
        return body.ToJsonString();
    }

    public static string AnthropicBody(string model, string prompt, bool stream = false, int maxTokens = 256)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = maxTokens,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = prompt } },
        };
        if (stream) body["stream"] = true;
        return body.ToJsonString();
    }

    /// <summary>An Anthropic Messages request as the SDKs send it: <c>x-api-key</c> plus <c>anthropic-version</c>.</summary>
    public static HttpRequestMessage PostAnthropic(this RouterTestNode node, string json, string? key = RouterTestNode.DemoKey)
    {
        var request = node.Post("/v1/messages", json, key, anthropic: true);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("The body was JSON null.");

    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    /// <summary>The request the fake received for this prompt (each test sends its own).</summary>
    public static RecordedRequest RequestFor(this FakeUpstream fake, string prompt) =>
        Assert.Single(fake.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));

    public static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    public static G.CompletionRequest GrpcRequest(string model, string prompt, int? maxTokens = null)
    {
        var request = new G.CompletionRequest { Model = model };
        request.Messages.Add(new G.Message { Role = "user", Content = prompt });
        if (maxTokens is { } m) request.MaxTokens = m;
        return request;
    }

    /// <summary>
    /// h2c to the node's gRPC port. Grpc.Net.Client on .NET 5+ speaks HTTP/2 without TLS to an <c>http://</c>
    /// address on its own; the old <c>Http2UnencryptedSupport</c> switch is not needed (these tests prove it).
    /// </summary>
    public static GrpcChannel Channel(this RouterTestNode node) => GrpcChannel.ForAddress(node.GrpcBase);

    /// <summary>A normal request still answered: a failure must not leave the node (or its connections) broken.</summary>
    public static async Task AssertStillServesAsync(this RouterTestNode node, string model = SimModel)
    {
        var prompt = UniquePrompt();
        using var response = await node.Http.SendAsync(node.Post("/v1/chat/completions", OpenAiBody(model, prompt)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"After the failure the node answered {(int)response.StatusCode}: {body}");
        Assert.Equal("chat.completion", JsonNode.Parse(body)!["object"]!.GetValue<string>());
    }
}

/// <summary>What a client must see when a request is served by one configured model.</summary>
internal sealed record Expected(
    string Model, string Deployment, string? ProviderKeyId, string UpstreamModel, string Text, int PromptTokens, int CompletionTokens);

/// <summary>One server-sent event as it came over the wire.</summary>
internal sealed record SseEvent(string? Event, string Data)
{
    public JsonNode Json => JsonNode.Parse(Data) ?? throw new InvalidOperationException("An event's data was JSON null.");
}

/// <summary>
/// A strict reader of server-sent events: only <c>event:</c> and <c>data:</c> lines, each event ended by a blank
/// line, so a framing mistake in Router shows up as a test failure rather than being tolerated.
/// </summary>
internal static class Sse
{
    public static async IAsyncEnumerable<SseEvent> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(body, Encoding.UTF8);
        string? name = null;
        StringBuilder? data = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is null) throw new FormatException($"An event without data (event: {name}).");
                yield return new SseEvent(name, data.ToString());
                name = null;
                data = null;
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
                data = data is null ? new StringBuilder(line["data: ".Length..]) : data.Append('\n').Append(line["data: ".Length..]);
            else throw new FormatException($"Unexpected line in an event stream: '{line}'.");
        }
        if (data is not null || name is not null) throw new FormatException("The stream ended in the middle of an event.");
    }

    public static async Task<List<SseEvent>> ReadAllAsync(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var cts = new CancellationTokenSource(E2e.Patience);
        var events = new List<SseEvent>();
        await foreach (var e in ReadAsync(await response.Content.ReadAsStreamAsync(cts.Token), cts.Token)) events.Add(e);
        return events;
    }
}

/// <summary>
/// One node with fake OpenAI and Anthropic upstreams (and one that always fails), shared by the tests of a class.
/// Tests of one class run one at a time, and each finds its own upstream request by a unique prompt.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public FakeUpstream OpenAi { get; private set; } = null!;
    public FakeUpstream Anthropic { get; private set; } = null!;
    public FakeUpstream Broken { get; private set; } = null!;
    public RouterTestNode Node { get; private set; } = null!;

    public FakeUpstream FakeFor(string kind) => kind switch
    {
        "openai" => OpenAi,
        "anthropic" => Anthropic,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only the openai and anthropic kinds have a fake."),
    };

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartAsync();
        Anthropic = await FakeUpstream.StartAsync();
        Broken = await FakeUpstream.StartAsync();
        OpenAi.Always(E2e.OpenAiFakeAnswer);
        Anthropic.Always(E2e.AnthropicFakeAnswer);
        Broken.Always(Behaviour.ProviderError(500, "server_error", E2e.UpstreamFailureReason));
        Node = await RouterTestNode.StartAsync(E2e.Config(OpenAi, Anthropic, Broken));
    }

    public async Task DisposeAsync()
    {
        if (Node is not null) await Node.DisposeAsync();
        foreach (var fake in new[] { OpenAi, Anthropic, Broken })
            if (fake is not null) await fake.DisposeAsync();
    }
}

/// <summary>What every end-to-end test checks the same way: where a request was served, what the upstream got, error envelopes.</summary>
internal static class E2eAssertions
{
    /// <summary>
    /// The fake behind <paramref name="kind"/> got the upstream's own model name, the provider key in that
    /// provider's header, and the stream flag the client asked for. The simulated provider has no wire to check.
    /// </summary>
    public static void AssertUpstreamSaw(this GatewayFixture fixture, string kind, string prompt, bool stream)
    {
        if (kind == "simulated") return;
        var request = fixture.FakeFor(kind).RequestFor(prompt);
        var expected = E2e.Expect(kind, prompt);
        Assert.Equal(expected.UpstreamModel, request.Body!.Value.GetProperty("model").GetString());
        Assert.Equal(stream, request.IsStream);
        if (kind == "openai")
        {
            Assert.Equal(FakeApi.OpenAi, request.Api);
            Assert.Equal("Bearer " + E2e.OpenAiProviderKey, request.Header("Authorization"));
            Assert.Null(request.Header("x-api-key"));
        }
        else
        {
            Assert.Equal(FakeApi.Anthropic, request.Api);
            Assert.Equal(E2e.AnthropicProviderKey, request.Header("x-api-key"));
            Assert.Null(request.Header("Authorization"));
        }
        // The client's virtual key never travels upstream.
        Assert.DoesNotContain(RouterTestNode.DemoKey, string.Join("\n", request.Headers.Values));
    }

    /// <summary>The <c>x-router-*</c> headers that say where the request was served.</summary>
    public static void AssertServedBy(this HttpResponseMessage response, Expected expected)
    {
        Assert.Equal(expected.Model, response.Header("x-router-model"));
        Assert.Equal(expected.Deployment, response.Header("x-router-deployment"));
        Assert.Equal("1", response.Header("x-router-attempts"));
        Assert.Equal(expected.ProviderKeyId, response.Header("x-router-provider-key"));
    }

    /// <summary>Checks the protocol's error envelope and returns its inner <c>error</c> object.</summary>
    public static async Task<JsonNode> AssertErrorAsync(
        this HttpResponseMessage response, string protocol, HttpStatusCode status, string? openAiCode, string anthropicType)
    {
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {raw}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(raw)!.AsObject();
        var error = body["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        if (protocol == "openai")
        {
            Assert.Equal(["error"], body.Select(p => p.Key));
            Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order());
            Assert.False(string.IsNullOrWhiteSpace((string?)error["type"]));
            Assert.Equal(openAiCode, (string?)error["code"]);
        }
        else
        {
            Assert.Equal("error", (string?)body["type"]);
            Assert.Equal(anthropicType, (string?)error["type"]);
        }
        return error;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Router.Contracts.RateLimiting;
using Router.Node.Ingress;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// Limit tests start whole nodes and some fire hundreds of requests at once; run alone, a loaded machine cannot
/// push an admission ask past its timeout and turn an exactness check into a flaky one.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LimitsCollection
{
    public const string Name = "Limits (whole nodes)";
}

/// <summary>Configuration, request and admin-API helpers shared by the limit tests.</summary>
internal static class LimitsTestKit
{
    public const string Model = "sim-model";
    public const string UpstreamModel = "sim-1";
    public const string DeploymentId = "sim-model/sim";
    public const decimal InputPerMTok = 1m;
    public const decimal OutputPerMTok = 2m;

    /// <summary>A fixed mid-month, mid-day start so budget periods and ledger hours are known in advance.</summary>
    public static readonly DateTimeOffset Start = new(2025, 3, 14, 10, 15, 0, TimeSpan.Zero);

    public static FakeTimeProvider FrozenClock() => new(Start);

    /// <summary><see cref="RouterTestNode.StartAsync"/> with the limit tests' clock and service overrides.</summary>
    public static Task<RouterTestNode> StartNodeAsync(JsonObject router, TimeProvider? clock = null, Action<IServiceCollection>? overrides = null) =>
        RouterTestNode.StartAsync(router, clock: clock, overrides: overrides);

    /// <summary>The simulated provider answering at once (a fake clock would otherwise hold its delays).</summary>
    public static JsonObject SimulatedProvider(int completionTokens = 5, double tokensPerSecond = 0) => new()
    {
        ["Name"] = "sim",
        ["Kind"] = "simulated",
        ["LatencyMs"] = 0,
        ["TokensPerSecond"] = tokensPerSecond,
        ["CompletionTokens"] = completionTokens,
    };

    public static JsonObject SimulatedModel(string id = Model, string upstreamModel = UpstreamModel) => new()
    {
        ["Id"] = id,
        ["Deployments"] = new JsonArray
        {
            new JsonObject
            {
                ["Provider"] = "sim", ["Model"] = upstreamModel,
                ["InputPerMTok"] = InputPerMTok, ["OutputPerMTok"] = OutputPerMTok,
            },
        },
    };

    public static JsonObject Key(string name, string key, int? rpm = null, int? tpm = null, int? maxConcurrent = null,
        decimal? budgetUsd = null, string? budgetPeriod = null)
    {
        var k = new JsonObject { ["Name"] = name, ["Key"] = key, ["Models"] = new JsonArray("*") };
        if (rpm is { } r) k["Rpm"] = r;
        if (tpm is { } t) k["Tpm"] = t;
        if (maxConcurrent is { } c) k["MaxConcurrent"] = c;
        if (budgetUsd is { } b) k["BudgetUsd"] = b;
        if (budgetPeriod is { } p) k["BudgetPeriod"] = p;
        return k;
    }

    /// <summary>One simulated provider and model, the given keys; retries off so a failure is one upstream call.</summary>
    public static JsonObject SimulatedRouter(JsonArray keys, int completionTokens = 5, double tokensPerSecond = 0)
    {
        var router = RouterTestNode.Config(
            new JsonArray { SimulatedProvider(completionTokens, tokensPerSecond) }, new JsonArray { SimulatedModel() }, keys);
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["BaseDelayMs"] = 10, ["MaxDelayMs"] = 50, ["AttemptTimeoutMs"] = 5000 };
        return router;
    }

    public static string KeyId(string plaintextKey) => ApiKeyHash.IdOf(plaintextKey).Value;

    public static string ChatBody(string model = Model, string prompt = "hello there", int? maxTokens = null, bool stream = false)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = prompt } },
        };
        if (maxTokens is { } m) body["max_tokens"] = m;
        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
        return body.ToJsonString();
    }

    public static string AnthropicBody(string model = Model, string prompt = "hello there", int maxTokens = 50) => new JsonObject
    {
        ["model"] = model,
        ["max_tokens"] = maxTokens,
        ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = prompt } },
    }.ToJsonString();

    public static async Task<HttpResponseMessage> ChatAsync(this RouterTestNode node, string key, string body,
        HttpCompletionOption option = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default) =>
        await node.Http.SendAsync(node.Post("v1/chat/completions", body, key), option, cancellationToken);

    public static async Task<HttpResponseMessage> MessagesAsync(this RouterTestNode node, string key, string body)
    {
        var request = node.Post("v1/messages", body, key, anthropic: true);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return await node.Http.SendAsync(request);
    }

    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())
        ?? throw new InvalidOperationException("The response body is JSON null.");

    // Header(): E2e's, in the same namespace.

    // --- Admin API ------------------------------------------------------------------------------------------------

    public static HttpRequestMessage Admin(HttpMethod method, string path, string? json = null, string? adminKey = RouterTestNode.AdminKey)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (adminKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        return request;
    }

    public static Task<HttpResponseMessage> AdminAsync(this RouterTestNode node, HttpMethod method, string path, string? json = null,
        string? adminKey = RouterTestNode.AdminKey) => node.Http.SendAsync(Admin(method, path, json, adminKey));

    /// <summary>Creates a key through the admin API; returns its id and the plaintext (shown only this once).</summary>
    public static async Task<(string Id, string Key)> CreateKeyAsync(this RouterTestNode node, JsonObject definition)
    {
        using var response = await node.AdminAsync(HttpMethod.Post, "admin/keys", definition.ToJsonString());
        var json = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create key: {(int)response.StatusCode} {json.ToJsonString()}");
        return ((string)json["id"]!, (string)json["key"]!);
    }

    public static async Task<JsonNode> GetKeyAsync(this RouterTestNode node, string id)
    {
        using var response = await node.AdminAsync(HttpMethod.Get, $"admin/keys/{id}");
        var json = await response.JsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"get key {id}: {(int)response.StatusCode} {json.ToJsonString()}");
        return json;
    }

    /// <summary>
    /// Polls until <paramref name="done"/> holds. For effects that are told, not answered (the ledger writer's
    /// batches, a disconnect reaching the key's owner): only how long we are willing to wait is bounded.
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Gave up waiting for {what}; last seen: {value}");
            await Task.Delay(50);
        }
    }

    /// <summary>Cost the deployment's prices give, computed independently of the product's pricing code.</summary>
    public static decimal ExpectedCost(int inputTokens, int outputTokens, decimal inputPerMTok = InputPerMTok, decimal outputPerMTok = OutputPerMTok) =>
        (inputTokens * inputPerMTok + outputTokens * outputPerMTok) / 1_000_000m;

    public static decimal Dec(JsonNode? node) => node!.GetValue<decimal>();

    public static long Long(JsonNode? node) => node!.GetValue<long>();
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;
using Router.Testing;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// Failover tests start whole nodes (Kestrel, Akka cluster, SQLite); run them one at a time so a busy machine
/// does not turn their waits into flakiness.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FailoverCollection
{
    public const string Name = "Failover";
}

/// <summary>What a client saw: status, body and the response headers (the x-router-* ones among them).</summary>
public sealed record ChatAnswer(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)
{
    public string? Header(string name) => Headers.TryGetValues(name, out var values) ? values.First() : null;

    public string? Model => Header("x-router-model");
    public string? Deployment => Header("x-router-deployment");
    public string? ProviderKey => Header("x-router-provider-key");
    public int? Attempts => Header("x-router-attempts") is { } a ? int.Parse(a, System.Globalization.CultureInfo.InvariantCulture) : null;

    public JsonElement Json()
    {
        using var doc = JsonDocument.Parse(Body);
        return doc.RootElement.Clone();
    }

    /// <summary>The <c>data:</c> payloads of an SSE body, in order.</summary>
    public IReadOnlyList<string> DataLines() =>
        Body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]).ToList();

    /// <summary>The <c>event:</c> names of an SSE body, in order.</summary>
    public IReadOnlyList<string> EventNames() =>
        Body.Split('\n').Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l["event: ".Length..].Trim()).ToList();
}

/// <summary>Configuration and request helpers shared by the failover tests.</summary>
internal static class FailoverKit
{
    /// <summary>Upper bound for any single request or wait: a failover bug shows up as a hang, and a hang must fail.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>The literal secret of a provider key; the fake scripts answers per secret.</summary>
    public static string Secret(string provider, string keyId) => $"sk-{provider}-{keyId}";

    /// <summary>An OpenAI-compatible provider on the fake with the given key ids (secrets from <see cref="Secret"/>).</summary>
    public static JsonObject Provider(string name, string baseUrl, params string[] keyIds)
    {
        var keys = new JsonArray();
        foreach (var id in keyIds.Length == 0 ? ["k"] : keyIds)
            keys.Add(new JsonObject { ["Id"] = id, ["Secret"] = Secret(name, id) });
        return new JsonObject { ["Name"] = name, ["Kind"] = "openai", ["BaseUrl"] = baseUrl, ["Keys"] = keys };
    }

    /// <summary>A model with one deployment (id <c>{model}/{provider}</c>) and optional fallbacks.</summary>
    public static JsonObject Model(string id, string provider, params string[] fallbacks) => new()
    {
        ["Id"] = id,
        ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = provider, ["Model"] = "upstream-" + id } },
        ["Fallbacks"] = new JsonArray(fallbacks.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
    };

    public static JsonObject Config(JsonArray providers, JsonArray models, int failureThreshold = 5, int openSeconds = 30, int halfOpenProbes = 1)
    {
        var config = RouterTestNode.Config(providers, models);
        config["Breaker"] = new JsonObject
        {
            ["FailureThreshold"] = failureThreshold, ["OpenSeconds"] = openSeconds, ["HalfOpenProbes"] = halfOpenProbes,
        };
        return config;
    }

    public static string OpenAiBody(string model, string text = "one two three four five", bool stream = false) =>
        new JsonObject
        {
            ["model"] = model,
            ["stream"] = stream,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = text } },
        }.ToJsonString();

    public static string AnthropicBody(string model, string text = "one two three four five", bool stream = false) =>
        new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 100,
            ["stream"] = stream,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = text } },
        }.ToJsonString();

    /// <summary>Sends an OpenAI chat request and reads the whole answer (a stream to its end), failing on a hang.</summary>
    public static Task<ChatAnswer> ChatAsync(RouterTestNode node, string model, string text = "one two three four five", bool stream = false) =>
        SendAsync(node, node.Post("/v1/chat/completions", OpenAiBody(model, text, stream)));

    /// <summary>Sends an Anthropic messages request and reads the whole answer, failing on a hang.</summary>
    public static Task<ChatAnswer> MessagesAsync(RouterTestNode node, string model, string text = "one two three four five", bool stream = false)
    {
        var request = node.Post("/v1/messages", AnthropicBody(model, text, stream), anthropic: true);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return SendAsync(node, request);
    }

    public static async Task<ChatAnswer> SendAsync(RouterTestNode node, HttpRequestMessage request)
    {
        using var cts = new CancellationTokenSource(Bound);
        using (request)
        {
            using var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var body = await response.Content.ReadAsStringAsync(cts.Token);
            return new ChatAnswer(response.StatusCode, body, response.Headers);
        }
    }

    /// <summary>Requests the fake received with one provider key's secret.</summary>
    public static int RequestsWith(FakeUpstream fake, string provider, string keyId) =>
        fake.Requests.Count(r => r.ApiKey == Secret(provider, keyId));

    /// <summary>
    /// Polls <c>GET /admin/stats</c> until the deployment's breaker, as this node's view shows it, satisfies
    /// <paramref name="condition"/> (state, milliseconds until half-open). Breaker changes reach the view by
    /// publication, asynchronously, so a test must wait for them; the bound turns a lost publication into a failure.
    /// </summary>
    public static async Task WaitForBreakerAsync(RouterTestNode node, string deploymentId, Func<string, long?, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        string last = "(not in the view)";
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/stats");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RouterTestNode.AdminKey);
            using var response = await node.Http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            foreach (var b in doc.RootElement.GetProperty("breakers").EnumerateArray())
            {
                if (b.GetProperty("deployment").GetString() != deploymentId) continue;
                var state = b.GetProperty("state").GetString()!;
                long? halfOpenInMs = b.GetProperty("halfOpenInMs").ValueKind == JsonValueKind.Number ? b.GetProperty("halfOpenInMs").GetInt64() : null;
                if (condition(state, halfOpenInMs)) return;
                last = $"{state}, half-open in {halfOpenInMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} ms";
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Breaker of {deploymentId} never became {what} within {Bound}; last seen: {last}.");
    }

    /// <summary>Polls until <paramref name="probe"/> returns a value, failing after <see cref="Bound"/>.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Bound;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } found) return found;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Never saw {what} within {Bound}.");
    }

    /// <summary>A TCP port nothing listens on (bound by the OS, then released).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

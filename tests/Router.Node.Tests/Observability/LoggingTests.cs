using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;

namespace Router.Node.Tests.Observability;

/// <summary>
/// A node process with <c>Router:Logging:Format = json</c>: what it writes is one JSON object per line, every line of a
/// request carries the request's ids, a finished request is one Information line, and no secret is ever written.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class LoggingTests : IDisposable
{
    private const string UnknownKey = "sk-canary-unknown-key";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-logging-");

    [Fact]
    public async Task Json_logs_are_one_object_a_line_with_the_request_and_trace_ids_and_no_secret()
    {
        await using var fake = await FakeUpstream.StartAsync();
        // The first provider key is refused by an upstream that quotes it back; the second serves.
        fake.ForKey(Secret("openai", "a")).Always(
            Behaviour.ProviderError(401, "invalid_request_error", $"Incorrect API key provided: {Secret("openai", "a")}.", "invalid_api_key"));
        fake.Always(Behaviour.Answer("logged", promptTokens: 9, completionTokens: 4));
        var httpPort = NodeProcess.FreeTcpPort();
        var configFile = Path.Combine(_dir.FullName, "router.json");
        await File.WriteAllTextAsync(configFile, Config(fake.BaseUrl, httpPort).ToJsonString());
        await using var node = await NodeProcess.StartAsync(configFile, new Uri($"http://127.0.0.1:{httpPort}/"));
        using var http = new HttpClient { BaseAddress = node.HttpBase, Timeout = Bound };
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();

        using var ok = await http.SendAsync(Chat(RouterTestNode.DemoKey, $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var requestId = ok.Headers.GetValues("x-router-request-id").Single();
        using var refused = await http.SendAsync(Chat(UnknownKey, traceParent: null));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // The console logger writes on its own thread: wait (bounded) for the request's line.
        var lines = await EventuallyAsync(() => Task.FromResult(
            node.Output.Contains(requestId, StringComparison.Ordinal) ? node.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries) : null),
            "the finished request's log line");

        var entries = lines.Select(l =>
        {
            try
            {
                return JsonNode.Parse(l)!.AsObject();
            }
            catch (JsonException ex)
            {
                throw new Xunit.Sdk.XunitException($"Not a JSON line: {l} ({ex.Message})");
            }
        }).ToList();
        var finished = Assert.Single(entries, e => e["Category"]!.GetValue<string>() == "Router.Node.Observability.RequestTelemetry"
                                                   && e["State"]?["RouterRequestId"]?.GetValue<string>() == requestId);
        Assert.Equal("Information", finished["LogLevel"]!.GetValue<string>());
        var state = finished["State"]!;
        Assert.Equal("gpt", state["Model"]!.GetValue<string>());
        Assert.Equal("gpt/openai", state["Deployment"]!.GetValue<string>());
        Assert.Equal("Success", state["Outcome"]!.GetValue<string>());
        Assert.Equal("9", state["InputTokens"]!.ToString());
        Assert.Equal("4", state["OutputTokens"]!.ToString());
        Assert.Equal("2", state["Attempts"]!.ToString());
        var scopes = finished["Scopes"]!.AsArray().Select(s => s!.AsObject()).ToList();
        Assert.Contains(scopes, s => s["TraceId"]?.GetValue<string>() == traceId);
        Assert.Contains(scopes, s => s["RequestId"] is not null);

        // The canary: neither virtual key nor provider secret in any line, whatever wrote it.
        string[] secrets = [RouterTestNode.DemoKey, UnknownKey, Secret("openai", "a"), Secret("openai", "b")];
        Assert.All(lines, l => Assert.DoesNotContain(secrets, s => l.Contains(s, StringComparison.Ordinal)));
    }

    private static HttpRequestMessage Chat(string key, string? traceParent)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(OpenAiBody("gpt"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (traceParent is not null) request.Headers.Add("traceparent", traceParent);
        return request;
    }

    private JsonObject Config(string upstream, int httpPort)
    {
        var router = RouterTestNode.Config(new JsonArray { Provider("openai", upstream, "a", "b") }, new JsonArray { Model("gpt", "openai") });
        router["Http"] = new JsonObject { ["Port"] = httpPort };
        router["Grpc"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() };
        router["Cluster"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() };
        router["AdminKey"] = RouterTestNode.AdminKey;
        router["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={Path.Combine(_dir.FullName, "router.db")}" };
        router["Logging"] = new JsonObject { ["Format"] = "json" };
        return new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Information" } },
            ["Router"] = router,
        };
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { _dir.Delete(recursive: true); } catch (IOException) { }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Observability;

/// <summary>
/// A real node, a known mix of requests (OpenAI, Anthropic, gRPC, streamed, refused by a limit, failed over), then
/// <c>GET /metrics</c> over the socket: exact counts and token sums per label set, the overhead header on every answer,
/// and no secret in the scrape.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class MetricsScrapeTests
{
    private const string TightKey = "sk-test-tight-canary";
    private const int PromptTokens = 11;
    private const int CompletionTokens = 5;

    [Fact]
    public async Task Scrape_counts_every_request_by_ingress_and_outcome_and_sums_tokens_per_model()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Answer("metered answer", PromptTokens, CompletionTokens));
        var config = FailoverKit.Config(
            new JsonArray { FailoverKit.Provider("primary", fake.BaseUrl), FailoverKit.Provider("backup", fake.BaseUrl) },
            new JsonArray { FailoverKit.Model("m", "primary", "b"), FailoverKit.Model("b", "backup") });
        config["Keys"] = new JsonArray
        {
            new JsonObject { ["Name"] = "demo", ["Key"] = RouterTestNode.DemoKey, ["Models"] = new JsonArray("*") },
            new JsonObject { ["Name"] = "tight", ["Key"] = TightKey, ["Models"] = new JsonArray("*"), ["Rpm"] = 1 },
        };
        // Prices of a dollar per input token and two per output token make the cost of an answer easy to sum.
        var primaryDeployment = config["Models"]![0]!["Deployments"]![0]!;
        primaryDeployment["InputPerMTok"] = 1_000_000;
        primaryDeployment["OutputPerMTok"] = 2_000_000;
        config["Retry"] = new JsonObject { ["MaxAttempts"] = 2, ["BaseDelayMs"] = 1, ["MaxDelayMs"] = 5, ["AttemptTimeoutMs"] = 5000 };
        await using var node = await RouterTestNode.StartAsync(config);

        var answers = new List<(ChatAnswer Answer, double ClientMs)>
        {
            await Timed(() => FailoverKit.ChatAsync(node, "m")),
            await Timed(() => FailoverKit.ChatAsync(node, "m", stream: true)),
            await Timed(() => FailoverKit.MessagesAsync(node, "m")),
            await Timed(() => FailoverKit.SendAsync(node, node.Post("/v1/chat/completions", FailoverKit.OpenAiBody("m"), TightKey))),
            await Timed(() => FailoverKit.SendAsync(node, node.Post("/v1/chat/completions", FailoverKit.OpenAiBody("m"), TightKey))),
        };
        fake.ForKey(FailoverKit.Secret("primary", "k")).Enqueue(Behaviour.Status(500));
        answers.Add(await Timed(() => FailoverKit.ChatAsync(node, "m")));

        using (var channel = node.Channel())
        {
            var call = new G.Router.RouterClient(channel).CompleteAsync(E2e.GrpcRequest("m", "grpc prompt"), E2e.Bearer(RouterTestNode.DemoKey),
                deadline: DateTime.UtcNow + FailoverKit.Bound);
            await call.ResponseAsync;
            var trailer = call.GetTrailers().GetValue("x-router-overhead-ms");
            Assert.NotNull(trailer);
            Assert.True(double.Parse(trailer, CultureInfo.InvariantCulture) >= 0);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK],
            answers.Select(a => a.Answer.Status));
        Assert.Equal("b/backup", answers[5].Answer.Deployment);
        foreach (var (answer, clientMs) in answers)
        {
            var overhead = double.Parse(Assert.IsType<string>(answer.Header("x-router-overhead-ms")), NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.InRange(overhead, 0, clientMs);
        }

        var (text, samples) = await ScrapeAsync(node, requests: 7);

        Assert.Equal(7, samples.Sum("router_requests_total"));
        Assert.Equal(4, samples.Sum("router_requests_total", ("router_ingress", "openai"), ("router_outcome", "ok")));
        Assert.Equal(1, samples.Sum("router_requests_total", ("router_ingress", "openai"), ("router_outcome", "rate_limited")));
        Assert.Equal(1, samples.Sum("router_requests_total", ("router_ingress", "anthropic"), ("router_outcome", "ok")));
        Assert.Equal(1, samples.Sum("router_requests_total", ("router_ingress", "grpc"), ("router_outcome", "ok")));
        Assert.Equal(1, samples.Sum("router_admission_refusals_total", ("router_reason", "rate_limited")));

        // Five answers from the primary deployment, one (the failed-over one) from the backup.
        (string, string)[] primary = [("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", "primary"), ("gen_ai_request_model", "m"), ("gen_ai_response_model", "upstream-m")];
        (string, string)[] backup = [("gen_ai_provider_name", "backup"), ("gen_ai_request_model", "m"), ("gen_ai_response_model", "upstream-b")];
        Assert.Equal(5, samples.Sum("gen_ai_client_token_usage_count", [.. primary, ("gen_ai_token_type", "input")]));
        Assert.Equal(5 * PromptTokens, samples.Sum("gen_ai_client_token_usage_sum", [.. primary, ("gen_ai_token_type", "input")]));
        Assert.Equal(5 * CompletionTokens, samples.Sum("gen_ai_client_token_usage_sum", [.. primary, ("gen_ai_token_type", "output")]));
        Assert.Equal(PromptTokens, samples.Sum("gen_ai_client_token_usage_sum", [.. backup, ("gen_ai_token_type", "input")]));
        Assert.Equal(CompletionTokens, samples.Sum("gen_ai_client_token_usage_sum", [.. backup, ("gen_ai_token_type", "output")]));

        Assert.Equal(5 * (PromptTokens + 2 * CompletionTokens), samples.Sum("router_cost_total", ("gen_ai_request_model", "m"), ("router_deployment", "m/primary")));
        Assert.Equal(1, samples.Sum("router_fallbacks_total", ("gen_ai_request_model", "m"), ("router_deployment", "b/backup")));
        Assert.Equal(5, samples.Sum("router_attempts_total", ("router_deployment", "m/primary"), ("router_result", "ok")));
        Assert.Equal(1, samples.Sum("router_attempts_total", ("router_deployment", "m/primary"), ("router_result", "server_error")));
        Assert.Equal(1, samples.Sum("router_attempts_total", ("router_deployment", "b/backup"), ("router_result", "ok")));
        Assert.Equal(7, samples.Sum("gen_ai_client_operation_duration_seconds_count"));
        Assert.Equal(1, samples.Sum("gen_ai_client_operation_duration_seconds_count", ("error_type", "server_error")));

        Assert.Equal(7, samples.Sum("gen_ai_server_request_duration_seconds_count"));
        Assert.Equal(7, samples.Sum("router_overhead_duration_seconds_count"));
        Assert.Equal(1, samples.Sum("gen_ai_server_time_to_first_token_seconds_count", ("router_ingress", "openai"), ("gen_ai_request_model", "m")));

        // Gauges read the node's own state.
        Assert.Equal(1, samples.Sum("router_cluster_members", ("router_member_status", "up")));
        Assert.Equal(1, samples.Sum("router_provider_key_available", ("gen_ai_provider_name", "backup"), ("router_provider_key", "k")));
        Assert.True(samples.Has("router_ingress_queue_depth"));
        Assert.True(samples.Has("router_inflight"));
        Assert.True(samples.Has("router_ledger_pending"));

        // Canary: no virtual key, provider secret or key name (per-key series are off) in any label.
        Assert.DoesNotContain(RouterTestNode.DemoKey, text);
        Assert.DoesNotContain(TightKey, text);
        Assert.DoesNotContain(FailoverKit.Secret("primary", "k"), text);
        Assert.DoesNotContain(FailoverKit.Secret("backup", "k"), text);
        Assert.DoesNotContain("router_key_name", text);
        Assert.DoesNotContain("grpc prompt", text);
    }

    [Fact]
    public async Task Per_key_series_carry_the_key_name_and_never_the_key()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Answer("metered answer", PromptTokens, CompletionTokens));
        var config = FailoverKit.Config(new JsonArray { FailoverKit.Provider("primary", fake.BaseUrl) }, new JsonArray { FailoverKit.Model("m", "primary") });
        config["Metrics"] = new JsonObject { ["PerKey"] = true };
        await using var node = await RouterTestNode.StartAsync(config);

        Assert.Equal(HttpStatusCode.OK, (await FailoverKit.ChatAsync(node, "m")).Status);

        var (text, samples) = await ScrapeAsync(node, requests: 1);
        Assert.Equal(1, samples.Sum("router_requests_total", ("router_key_name", "demo"), ("router_outcome", "ok")));
        Assert.Equal(PromptTokens, samples.Sum("gen_ai_client_token_usage_sum", ("router_key_name", "demo"), ("gen_ai_token_type", "input")));
        Assert.DoesNotContain(RouterTestNode.DemoKey, text);
        Assert.DoesNotContain(FailoverKit.Secret("primary", "k"), text);
    }

    [Fact]
    public async Task Metrics_disabled_serves_no_endpoint_but_keeps_the_overhead_header()
    {
        await using var fake = await FakeUpstream.StartAsync();
        var config = FailoverKit.Config(new JsonArray { FailoverKit.Provider("primary", fake.BaseUrl) }, new JsonArray { FailoverKit.Model("m", "primary") });
        config["Metrics"] = new JsonObject { ["Enabled"] = false };
        await using var node = await RouterTestNode.StartAsync(config);

        var answer = await FailoverKit.ChatAsync(node, "m");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.NotNull(answer.Header("x-router-overhead-ms"));
        using var response = await node.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>
    /// Scrapes <c>GET /metrics</c> until it counts <paramref name="requests"/> requests: a request is counted as it ends
    /// on the node, a moment after the client has its last byte.
    /// </summary>
    private static async Task<(string Text, IReadOnlyList<Sample> Samples)> ScrapeAsync(RouterTestNode node, int requests)
    {
        var text = "";
        var samples = await FailoverKit.EventuallyAsync(async () =>
        {
            text = await node.Http.GetStringAsync("/metrics");
            var parsed = PrometheusText.Parse(text);
            return parsed.Sum("router_requests_total") >= requests ? parsed : null;
        }, $"{requests} requests counted");
        return (text, samples);
    }

    private static async Task<(ChatAnswer, double)> Timed(Func<Task<ChatAnswer>> send)
    {
        var started = Stopwatch.GetTimestamp();
        var answer = await send();
        return (answer, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}

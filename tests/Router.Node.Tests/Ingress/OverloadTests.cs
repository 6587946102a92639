using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>A node flooded beyond its ingress queue sheds at once, with Retry-After, and stays healthy.</summary>
public sealed class OverloadTests
{
    private const int QueueSize = 10;
    private const int Parallelism = 4;
    private const int Clients = 200;

    [Fact]
    public async Task Sheds_the_excess_at_once_with_retry_after_while_the_accepted_requests_are_still_running()
    {
        await using var upstream = await ControlledUpstream.StartAsync();
        var router = ConfigFor(upstream);
        router["Ingress"] = new JsonObject { ["QueueSize"] = QueueSize, ["Parallelism"] = Parallelism };
        // Held requests must not time out and be retried while the test looks at them.
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 120_000, ["DeadlineMs"] = 180_000 };
        await using var node = await RouterTestNode.StartAsync(router);
        using var http = new HttpClient { BaseAddress = node.HttpBase, Timeout = TimeSpan.FromMinutes(2) };

        var refusals = new List<(HttpStatusCode Status, TimeSpan? RetryAfter, string? Code, long UpstreamInFlight, long UpstreamCompleted)>();
        var refusedAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var accepted = new List<Task<HttpResponseMessage>>();
        const int expectedRefusals = Clients - QueueSize - Parallelism;

        var calls = Enumerable.Range(0, Clients).Select(async i =>
        {
            var response = await http.SendAsync(node.Post("/v1/chat/completions",
                $$"""{"model":"held","messages":[{"role":"user","content":"request {{i}}"}]}"""));
            if (response.StatusCode == HttpStatusCode.OK) return response;
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            lock (refusals)
            {
                // What the upstream holds at the moment this refusal reached the client.
                refusals.Add((response.StatusCode, response.Headers.RetryAfter?.Delta, body.GetProperty("error").GetProperty("code").GetString(),
                    upstream.InFlight, upstream.Completed));
                if (refusals.Count >= expectedRefusals) refusedAll.TrySetResult();
            }
            return response;
        }).ToList();

        // The upstream answers nothing until released, so no accepted request can finish and free a slot: if the
        // node queued refusals behind the accepted requests instead of shedding, this would never complete.
        await refusedAll.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await upstream.WaitForInFlightAsync(Parallelism, TimeSpan.FromSeconds(30));

        lock (refusals)
        {
            Assert.Equal(expectedRefusals, refusals.Count);
            Assert.All(refusals, r =>
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.Status);
                Assert.Equal("overloaded", r.Code);
                // Nothing has completed yet, so the node has no drain rate to go by: it asks for its floor, 1 s.
                Assert.Equal(TimeSpan.FromSeconds(1), r.RetryAfter);
                Assert.Equal(0, r.UpstreamCompleted);
                Assert.True(r.UpstreamInFlight <= Parallelism);
            });
        }
        Assert.Equal(Parallelism, upstream.InFlight);
        Assert.Equal(0, upstream.Completed);
        Assert.Equal(QueueSize + Parallelism, calls.Count(c => !c.IsCompleted));

        var stats = await AdminStatsAsync(node);
        var ingress = stats.GetProperty("ingress");
        Assert.Equal(QueueSize, ingress.GetProperty("waiting").GetInt64());
        Assert.Equal(Parallelism, ingress.GetProperty("running").GetInt64());
        Assert.True(ingress.GetProperty("shed").GetInt64() >= expectedRefusals);

        // Let the accepted ones through: every one of them is answered normally.
        upstream.Release();
        var responses = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(QueueSize + Parallelism, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(QueueSize + Parallelism, upstream.Completed);

        // And the node is fine afterwards.
        var ready = await http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var normal = await http.SendAsync(node.Post("/v1/chat/completions", """{"model":"held","messages":[{"role":"user","content":"after"}]}"""));
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        foreach (var r in responses) r.Dispose();
    }

    internal static JsonObject ConfigFor(ControlledUpstream upstream) => RouterTestNode.Config(
        new JsonArray { new JsonObject
        {
            ["Name"] = "controlled", ["Kind"] = "openai", ["BaseUrl"] = upstream.BaseUrl,
            ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "k1", ["Secret"] = "sk-upstream" } },
        } },
        new JsonArray { new JsonObject
        {
            ["Id"] = "held",
            ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "controlled", ["Model"] = "held-1" } },
        } });

    internal static async Task<JsonElement> AdminStatsAsync(RouterTestNode node)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/stats");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RouterTestNode.AdminKey);
        using var response = await node.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}

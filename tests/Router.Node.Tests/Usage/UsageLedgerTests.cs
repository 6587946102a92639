using System.Net;
using System.Text.Json.Nodes;
using Router.Actors.Usage;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Usage;

/// <summary>One ledger row per request, whatever happened to it, with the upstream's token counts and the deployment's prices.</summary>
[Collection(LimitsCollection.Name)]
public sealed class UsageLedgerTests
{
    private const string Key = "sk-limits-ledger";
    private const string LedgerModel = "ledger-model";
    private const decimal InPrice = 0.60m;
    private const decimal OutPrice = 2.40m;

    private static JsonObject Router(FakeUpstream upstream)
    {
        var router = RouterTestNode.Config(
            new JsonArray
            {
                new JsonObject
                {
                    ["Name"] = "fake", ["Kind"] = "openai", ["BaseUrl"] = upstream.BaseUrl,
                    ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "main", ["Secret"] = "sk-upstream" } },
                },
            },
            new JsonArray
            {
                new JsonObject
                {
                    ["Id"] = LedgerModel,
                    ["Deployments"] = new JsonArray
                    {
                        new JsonObject
                        {
                            ["Id"] = "ledger-deployment", ["Provider"] = "fake", ["Model"] = "gpt-4o-mini",
                            ["InputPerMTok"] = InPrice, ["OutputPerMTok"] = OutPrice,
                        },
                    },
                },
            },
            new JsonArray { LimitsTestKit.Key("ledger", Key) });
        // One attempt per request and a breaker that never opens: each scripted failure is exactly one failed request.
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 5000 };
        router["Breaker"] = new JsonObject { ["FailureThreshold"] = 100 };
        return router;
    }

    private sealed record Step(bool Stream, Behaviour Upstream, HttpStatusCode Expected, int Input = 0, int Output = 0)
    {
        public bool Succeeds => Expected == HttpStatusCode.OK;
    }

    [Fact]
    public async Task Writes_one_row_per_request_with_token_sums_costs_and_outcomes()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var node = await StartNodeAsync(Router(upstream));
        Step[] steps =
        [
            new(false, Behaviour.Answer("first answer", promptTokens: 10, completionTokens: 4), HttpStatusCode.OK, 10, 4),
            new(true, Behaviour.Answer("a streamed answer", promptTokens: 12, completionTokens: 6), HttpStatusCode.OK, 12, 6),
            new(false, Behaviour.Status(500), HttpStatusCode.BadGateway),
            new(false, Behaviour.Answer("a longer answer", promptTokens: 1000, completionTokens: 500), HttpStatusCode.OK, 1000, 500),
            new(true, Behaviour.Status(500), HttpStatusCode.BadGateway),
            new(true, Behaviour.Answer("short", promptTokens: 7, completionTokens: 3), HttpStatusCode.OK, 7, 3),
        ];

        // One at a time, so the upstream's scripted answers pair with the requests in order.
        foreach (var (step, i) in steps.Select((s, i) => (s, i)))
        {
            upstream.Enqueue(step.Upstream);
            using var response = await node.ChatAsync(Key, ChatBody(model: LedgerModel, prompt: $"request {i}", stream: step.Stream));
            Assert.Equal(step.Expected, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        var successes = steps.Where(s => s.Succeeds).ToList();
        var expectedCost = successes.Sum(s => ExpectedCost(s.Input, s.Output, InPrice, OutPrice));

        // The writer batches; the rows appear a little after the answers.
        var totals = await EventuallyAsync(async () =>
            {
                using var response = await node.AdminAsync(HttpMethod.Get, $"admin/usage?key={KeyId(Key)}");
                return (await response.JsonAsync())["data"]!.AsArray().SingleOrDefault();
            },
            t => t is not null && Long(t["requests"]) == steps.Length, $"{steps.Length} ledger rows");
        Assert.Equal(successes.Sum(s => s.Input), Long(totals!["inputTokens"]));
        Assert.Equal(successes.Sum(s => s.Output), Long(totals["outputTokens"]));
        Assert.Equal(expectedCost, Dec(totals["costUsd"]));
        Assert.Equal(steps.Count(s => !s.Succeeds), Long(totals["errors"]));

        var store = node.Services.GetRequiredService<IUsageStore>();
        var rows = (await store.ListAsync(new UsageQuery { KeyId = KeyId(Key) }, 100)).OrderBy(r => r.Timestamp).ToList();
        Assert.Equal(steps.Length, rows.Count);
        Assert.Equal(steps.Length, rows.Select(r => r.RequestId).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(LedgerModel, r.Model));
        Assert.Equal(
            steps.Select(s => (s.Stream, s.Succeeds ? UsageOutcome.Success : UsageOutcome.UpstreamError)).Order(),
            rows.Select(r => (r.Stream, r.Outcome)).Order());
        Assert.All(rows.Where(r => r.Outcome == UsageOutcome.Success), r =>
        {
            Assert.Equal("ledger-deployment", r.DeploymentId);
            Assert.Equal("main", r.ProviderKeyId);
            Assert.Equal(ExpectedCost(r.InputTokens, r.OutputTokens, InPrice, OutPrice), r.CostUsd);
        });
        Assert.Equal(
            successes.Select(s => (s.Input, s.Output)).Order(),
            rows.Where(r => r.Outcome == UsageOutcome.Success).Select(r => (r.InputTokens, r.OutputTokens)).Order());
        Assert.All(rows.Where(r => r.Outcome != UsageOutcome.Success), r =>
        {
            Assert.Equal(0, r.InputTokens + r.OutputTokens);
            Assert.Equal(0m, r.CostUsd);
        });

        // The key's own spend agrees with the ledger.
        Assert.Equal(expectedCost, Dec((await node.GetKeyAsync(KeyId(Key)))["budget"]!["spentUsd"]));
    }
}

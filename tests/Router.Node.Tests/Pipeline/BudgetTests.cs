using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// A spent budget refuses with OpenAI's <c>insufficient_quota</c>, and every ingress speaks its own dialect of
/// "limited": Anthropic's <c>rate_limit_error</c>, gRPC's RESOURCE_EXHAUSTED with a retry-after trailer.
/// </summary>
[Collection(LimitsCollection.Name)]
public sealed class BudgetTests
{
    private const string TotalBudgetKey = "sk-limits-budget-total";
    private const string MonthBudgetKey = "sk-limits-budget-month";
    private const string RpmKey = "sk-limits-budget-rpm1";
    // Less than one answer costs: 5 prompt + 5 completion tokens at $1/$2 per million is $0.000015.
    private const decimal TinyBudget = 0.00001m;

    private static Task<RouterTestNode> StartAsync() => StartNodeAsync(SimulatedRouter(new JsonArray
    {
        Key("total", TotalBudgetKey, budgetUsd: TinyBudget, budgetPeriod: "total"),
        Key("month", MonthBudgetKey, budgetUsd: TinyBudget, budgetPeriod: "month"),
        Key("rpm1", RpmKey, rpm: 1),
    }), clock: FrozenClock());

    private static GrpcChannel Channel(RouterTestNode node) => GrpcChannel.ForAddress(node.GrpcBase);

    private static G.CompletionRequest GrpcRequest() => new()
    {
        Model = Model,
        Messages = { new G.Message { Role = "user", Content = "hi" } },
    };

    private static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    [Fact]
    public async Task Refuses_with_insufficient_quota_once_the_spend_reaches_the_budget_and_reports_the_spend()
    {
        await using var node = await StartAsync();

        using var first = await node.ChatAsync(TotalBudgetKey, ChatBody(prompt: "hi"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var usage = (await first.JsonAsync())["usage"]!;
        var cost = ExpectedCost((int)usage["prompt_tokens"]!, (int)usage["completion_tokens"]!);
        Assert.True(cost > TinyBudget, $"one answer ({cost}) must overspend the budget");

        using var second = await node.ChatAsync(TotalBudgetKey, ChatBody(prompt: "hi"));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var error = (await second.JsonAsync())["error"]!;
        Assert.Equal("insufficient_quota", (string?)error["code"]);
        Assert.Equal("insufficient_quota", (string?)error["type"]);
        // A lifetime budget never resets: no point in retrying.
        Assert.Null(second.Header("Retry-After"));

        var budget = (await node.GetKeyAsync(KeyId(TotalBudgetKey)))["budget"]!;
        Assert.Equal(cost, Dec(budget["spentUsd"]));
        Assert.Equal(cost, Dec(budget["totalSpentUsd"]));
    }

    [Fact]
    public async Task A_monthly_budget_refusal_says_to_retry_when_the_month_ends()
    {
        await using var node = await StartAsync();
        using (var first = await node.ChatAsync(MonthBudgetKey, ChatBody(prompt: "hi")))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var second = await node.ChatAsync(MonthBudgetKey, ChatBody(prompt: "hi"));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("insufficient_quota", (string?)(await second.JsonAsync())["error"]!["code"]);
        var untilApril = new DateTimeOffset(2025, 4, 1, 0, 0, 0, TimeSpan.Zero) - Start;
        Assert.Equal(((long)untilApril.TotalSeconds).ToString(CultureInfo.InvariantCulture), second.Header("Retry-After"));
    }

    [Fact]
    public async Task Anthropic_ingress_answers_a_spent_budget_with_rate_limit_error()
    {
        await using var node = await StartAsync();
        using (var first = await node.MessagesAsync(TotalBudgetKey, AnthropicBody(prompt: "hi")))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var second = await node.MessagesAsync(TotalBudgetKey, AnthropicBody(prompt: "hi"));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var body = await second.JsonAsync();
        Assert.Equal("error", (string?)body["type"]);
        Assert.Equal("rate_limit_error", (string?)body["error"]!["type"]);
        Assert.Contains("budget", (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anthropic_ingress_answers_a_rate_limit_with_rate_limit_error_and_retry_after()
    {
        await using var node = await StartAsync();
        using (var first = await node.MessagesAsync(RpmKey, AnthropicBody()))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var second = await node.MessagesAsync(RpmKey, AnthropicBody());

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("rate_limit_error", (string?)(await second.JsonAsync())["error"]!["type"]);
        // One request per minute: the next one refills in 60 s.
        Assert.Equal("60", second.Header("Retry-After"));
        Assert.Equal("0", second.Header("x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Grpc_answers_a_spent_budget_with_resource_exhausted()
    {
        await using var node = await StartAsync();
        using var channel = Channel(node);
        var client = new G.Router.RouterClient(channel);
        await client.CompleteAsync(GrpcRequest(), Bearer(TotalBudgetKey));

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.CompleteAsync(GrpcRequest(), Bearer(TotalBudgetKey)));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("budget", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Null(refused.Trailers.GetValue("retry-after"));
    }

    [Fact]
    public async Task Grpc_answers_a_rate_limit_with_resource_exhausted_and_a_retry_after_trailer()
    {
        await using var node = await StartAsync();
        using var channel = Channel(node);
        var client = new G.Router.RouterClient(channel);
        await client.CompleteAsync(GrpcRequest(), Bearer(RpmKey));

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.CompleteAsync(GrpcRequest(), Bearer(RpmKey)));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        // One request per minute: the next one refills in 60 s.
        // Exactly one trailer: a client that reads all values must not see the wait twice.
        Assert.Equal(["60"], refused.Trailers.GetAll("retry-after").Select(e => e.Value));
    }

    [Fact]
    public async Task Grpc_streaming_is_refused_the_same_way_before_any_chunk()
    {
        await using var node = await StartAsync();
        using var channel = Channel(node);
        var client = new G.Router.RouterClient(channel);
        await client.CompleteAsync(GrpcRequest(), Bearer(RpmKey));

        using var call = client.CompleteStream(GrpcRequest(), Bearer(RpmKey));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal(["60"], refused.Trailers.GetAll("retry-after").Select(e => e.Value));
    }
}

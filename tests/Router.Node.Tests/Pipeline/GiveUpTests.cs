using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Time.Testing;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// When nothing can serve: one clean error in the client's protocol after a bounded number of attempts, never a
/// hang and never a retry storm.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class GiveUpTests
{
    [Fact]
    public async Task Every_deployment_answering_500_gives_one_openai_502_after_max_attempts()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Status(500));
        // Real clock: the last retry of the same deployment waits a (short) backoff.
        await using var node = await RouterTestNode.StartAsync(Config(
            [Provider("flaky", fake.BaseUrl), Provider("steady", fake.BaseUrl)],
            [Model("main", "flaky", "spare"), Model("spare", "steady")]));

        var answer = await ChatAsync(node, "main");

        Assert.Equal(HttpStatusCode.BadGateway, answer.Status);
        var error = answer.Json().GetProperty("error");
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        Assert.Equal("upstream_error", error.GetProperty("type").GetString());
        Assert.Contains("after 3 attempts", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        // MaxAttempts 3: main, spare, spare again after backoff; nothing more.
        Assert.Equal(3, fake.RequestCount);
        Assert.Equal(1, RequestsWith(fake, "flaky", "k"));
        Assert.Equal(2, RequestsWith(fake, "steady", "k"));
    }

    [Fact]
    public async Task Every_deployment_refusing_connections_gives_one_anthropic_502()
    {
        var closed = $"http://127.0.0.1:{FreePort()}/v1";
        await using var node = await RouterTestNode.StartAsync(Config(
            [Provider("flaky", closed), Provider("steady", closed)],
            [Model("main", "flaky", "spare"), Model("spare", "steady")]));

        var answer = await MessagesAsync(node, "main");

        Assert.Equal(HttpStatusCode.BadGateway, answer.Status);
        var json = answer.Json();
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("api_error", json.GetProperty("error").GetProperty("type").GetString());
        var message = json.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("could not connect", message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_key_cooling_gives_503_with_retry_after_at_once_also_when_already_cooling_and_over_grpc()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Status(429, ("Retry-After", "30")));
        var clock = new FakeTimeProvider();
        var config = Config([Provider("openai", fake.BaseUrl, "primary", "backup")], [Model("gpt", "openai")]);
        // Waiting out a 30 s Retry-After would pass the deadline: give up instead of holding the client.
        config["Retry"]!["DeadlineMs"] = 5000;
        await using var node = await RouterTestNode.StartAsync(config, clock: clock);

        // 1. Both keys answer 429: each is tried once, then a 503 that says when to come back.
        var first = await ChatAsync(node, "gpt");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Status);
        Assert.Equal("overloaded", first.Json().GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("30", first.Header("Retry-After"));
        Assert.Equal(2, fake.RequestCount);

        // 2. Both keys now cooling: the next request is refused without an upstream call (and without spinning).
        clock.Advance(TimeSpan.FromSeconds(10));
        var second = await ChatAsync(node, "gpt");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.Status);
        Assert.Equal("20", second.Header("Retry-After"));
        Assert.Equal(2, fake.RequestCount);

        // 3. The same over gRPC: UNAVAILABLE with a retry-after trailer.
        using var channel = GrpcChannel.ForAddress(node.GrpcBase);
        var client = new G.Router.RouterClient(channel);
        var call = client.CompleteAsync(
            new G.CompletionRequest { Model = "gpt", Messages = { new G.Message { Role = "user", Content = "hello" } } },
            new Metadata { { "authorization", "Bearer " + RouterTestNode.DemoKey } },
            deadline: DateTime.UtcNow + Bound);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("20", ex.Trailers.GetValue("retry-after"));
        Assert.Equal(2, fake.RequestCount);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Usage;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// Provider-key failover through a whole node: a throttled key rests for as long as the provider asked while
/// another key serves, and a revoked key is dropped; the client never sees either.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class KeyPoolFailoverTests
{
    [Fact]
    public async Task Key_answering_429_rests_for_its_retry_after_while_backup_serves_then_is_used_again()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.ForKey(Secret("openai", "primary")).Always(Behaviour.Status(429, ("Retry-After", "30")));
        var clock = new FakeTimeProvider();
        await using var node = await RouterTestNode.StartAsync(
            Config([Provider("openai", fake.BaseUrl, "primary", "backup")], [Model("gpt", "openai")]), clock: clock);

        // 1. The first request meets the 429 and moves to the other key at once; the rest never try primary.
        var answers = new List<ChatAnswer>();
        for (var i = 0; i < 5; i++) answers.Add(await ChatAsync(node, "gpt"));
        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.OK, a.Status);
            Assert.Equal("backup", a.ProviderKey);
        });
        Assert.Equal(2, answers[0].Attempts);
        Assert.All(answers.Skip(1), a => Assert.Equal(1, a.Attempts));
        Assert.Equal(1, RequestsWith(fake, "openai", "primary"));

        // 2. The provider would accept primary again, but 30 s have not passed: still resting.
        fake.ForKey(Secret("openai", "primary")).Reset();
        clock.Advance(TimeSpan.FromSeconds(29));
        var early = await ChatAsync(node, "gpt");
        Assert.Equal("backup", early.ProviderKey);
        Assert.Equal(1, RequestsWith(fake, "openai", "primary"));

        // 3. Past the Retry-After: primary (first configured, equally loaded) serves again.
        clock.Advance(TimeSpan.FromSeconds(2));
        var after = await ChatAsync(node, "gpt");
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal("primary", after.ProviderKey);
        Assert.Equal(1, after.Attempts);
        Assert.Equal(2, RequestsWith(fake, "openai", "primary"));
    }

    [Fact]
    public async Task Key_answering_401_is_disabled_the_other_key_serves_and_the_ledger_records_attempts_and_deployment()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.ForKey(Secret("openai", "a")).Always(
            Behaviour.ProviderError(401, "invalid_request_error", "Incorrect API key provided.", "invalid_api_key"));
        var clock = new FakeTimeProvider();
        await using var node = await RouterTestNode.StartAsync(
            Config([Provider("openai", fake.BaseUrl, "a", "b")], [Model("gpt", "openai")]), clock: clock);

        var first = await ChatAsync(node, "gpt", "hello ledger");
        var second = await ChatAsync(node, "gpt", "hello again");
        // Longer than any cooldown: only a disabled key stays out of use.
        clock.Advance(TimeSpan.FromMinutes(10));
        var third = await ChatAsync(node, "gpt", "and again");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("echo: hello ledger", first.Json().GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("b", first.ProviderKey);
        Assert.Equal(2, first.Attempts);
        Assert.Equal(("b", 1), (second.ProviderKey, second.Attempts));
        Assert.Equal(("b", 1), (third.ProviderKey, third.Attempts));
        // No later request tries the key again, and no secret reached the client.
        Assert.Equal(1, RequestsWith(fake, "openai", "a"));
        Assert.DoesNotContain(Secret("openai", "a"), first.Body, StringComparison.Ordinal);

        // The ledger row of the first request names the deployment and key that served and counts both attempts.
        var store = node.Services.GetRequiredService<IUsageStore>();
        var requestId = first.Headers.GetValues("x-router-request-id").Single();
        var row = await EventuallyAsync(async () =>
            (await store.ListAsync(new UsageQuery(), 10)).FirstOrDefault(r => r.RequestId == requestId), "the ledger row of the first request");
        Assert.Equal(UsageOutcome.Success, row.Outcome);
        Assert.Equal(2, row.Attempts);
        Assert.Equal("gpt/openai", row.DeploymentId);
        Assert.Equal("gpt", row.ServedModel);
        Assert.Equal("b", row.ProviderKeyId);
        Assert.True(row.OutputTokens > 0);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>MaxConcurrent: slots are held for the whole answer (streams included) and freed when it ends or the client leaves.</summary>
[Collection(LimitsCollection.Name)]
public sealed class ConcurrencyLimitTests
{
    private const string Key = "sk-limits-concurrent";
    private const int MaxConcurrent = 3;

    [Fact]
    public async Task Refuses_the_request_over_max_concurrent_and_admits_again_once_the_running_ones_finish()
    {
        // The simulated provider waits one fake-clock second between tokens: each stream sends its first
        // token and then holds its slot until the test moves the clock.
        var clock = FrozenClock();
        await using var node = await StartNodeAsync(
            SimulatedRouter(new JsonArray { LimitsTestKit.Key("concurrent", Key, maxConcurrent: MaxConcurrent) },
                completionTokens: 2, tokensPerSecond: 1),
            clock: clock);

        var running = new List<HttpResponseMessage>();
        for (var i = 0; i < MaxConcurrent; i++)
        {
            var response = await node.ChatAsync(Key, ChatBody(prompt: $"held {i}", stream: true), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            running.Add(response);
        }

        using (var over = await node.ChatAsync(Key, ChatBody(prompt: "one too many", stream: true)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.Equal("1", over.Header("Retry-After"));
            var error = (await over.JsonAsync())["error"]!;
            Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
            Assert.Contains("concurrent", (string)error["message"]!, StringComparison.Ordinal);
        }

        var bodies = running.Select(r => r.Content.ReadAsStringAsync()).ToList();
        await AdvanceUntilAsync(clock, Task.WhenAll(bodies));
        Assert.All(bodies, b => Assert.EndsWith("data: [DONE]\n\n", b.Result, StringComparison.Ordinal));
        running.ForEach(r => r.Dispose());

        // The slots were freed before the streams ended on the wire, so the next request is admitted at once.
        var next = await node.ChatAsync(Key, ChatBody(prompt: "after they finished", stream: true), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        await AdvanceUntilAsync(clock, next.Content.ReadAsStringAsync());
        next.Dispose();
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_frees_its_slot()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        // After its first chunk every answer stalls for an hour: only the client leaving can end it.
        upstream.Always(Behaviour.SlowStream(TimeSpan.FromHours(1)));
        var router = RouterTestNode.Config(
            new JsonArray
            {
                new JsonObject
                {
                    ["Name"] = "slow", ["Kind"] = "openai", ["BaseUrl"] = upstream.BaseUrl,
                    ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "main", ["Secret"] = "sk-upstream" } },
                },
            },
            new JsonArray
            {
                new JsonObject
                {
                    ["Id"] = Model,
                    ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "slow", ["Model"] = "gpt-4o-mini" } },
                },
            },
            new JsonArray { LimitsTestKit.Key("concurrent", Key, maxConcurrent: MaxConcurrent) });
        await using var node = await StartNodeAsync(router);

        var running = new List<(HttpResponseMessage Response, CancellationTokenSource Cancel)>();
        for (var i = 0; i < MaxConcurrent; i++)
        {
            var cancel = new CancellationTokenSource();
            var response = await node.ChatAsync(Key, ChatBody(prompt: $"held {i} with several words", stream: true),
                HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            running.Add((response, cancel));
        }

        using (var over = await node.ChatAsync(Key, ChatBody(prompt: "one too many", stream: true)))
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);

        // The client goes away in the middle of the first stream.
        var (leaving, leavingCancel) = running[0];
        leavingCancel.Cancel();
        leaving.Dispose();
        await upstream.WaitForAbortAsync(TimeSpan.FromSeconds(15));
        await EventuallyAsync(async () => Long((await node.GetKeyAsync(KeyId(Key)))["live"]!["inFlight"]),
            inFlight => inFlight == MaxConcurrent - 1, "the disconnect to release its slot");

        using (var admitted = await node.ChatAsync(Key, ChatBody(prompt: "takes the freed slot", stream: true),
                   HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
            using var full = await node.ChatAsync(Key, ChatBody(prompt: "still one too many", stream: true));
            Assert.Equal(HttpStatusCode.TooManyRequests, full.StatusCode);
        }

        foreach (var (response, cancel) in running.Skip(1))
        {
            cancel.Cancel();
            response.Dispose();
            cancel.Dispose();
        }
        leavingCancel.Dispose();
    }

    /// <summary>Moves the fake clock a second at a time until <paramref name="task"/> is done (each token waits for the clock).</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Task task)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The held requests did not finish as the fake clock moved.");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(task, Task.Delay(20));
        }
        await task;
    }
}

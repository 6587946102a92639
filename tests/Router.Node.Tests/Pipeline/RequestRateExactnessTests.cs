using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>RPM is exact under a burst: the key's single owner admits exactly its limit, however many arrive at once.</summary>
[Collection(LimitsCollection.Name)]
public sealed class RequestRateExactnessTests
{
    private const string Key = "sk-limits-rpm50";

    [Fact]
    public async Task Admits_exactly_the_rpm_of_a_burst_and_refuses_the_rest_with_retry_after_and_rate_limit_headers()
    {
        // Frozen clock: no refill can add allowance while the burst is in flight, so "exactly 50" is exact.
        var clock = FrozenClock();
        await using var node = await StartNodeAsync(
            SimulatedRouter(new JsonArray { LimitsTestKit.Key("rpm50", Key, rpm: 50) }), clock: clock);

        var responses = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            using var response = await node.ChatAsync(Key, ChatBody(prompt: $"burst {i}"));
            return new Answer(response.StatusCode, response.Header("Retry-After"),
                response.Header("x-ratelimit-limit-requests"), response.Header("x-ratelimit-remaining-requests"),
                response.Header("x-ratelimit-reset-requests"),
                response.StatusCode == HttpStatusCode.TooManyRequests ? (string?)(await response.JsonAsync())["error"]!["code"] : null);
        }));

        var admitted = responses.Where(r => r.Status == HttpStatusCode.OK).ToList();
        var refused = responses.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(50, admitted.Count);
        Assert.Equal(250, refused.Count);

        // Each admission took one unit: the remaining counts reported are 49, 48, …, 0, each exactly once.
        Assert.All(admitted, r => Assert.Equal("50", r.Limit));
        Assert.Equal(Enumerable.Range(0, 50), admitted.Select(r => int.Parse(r.Remaining!, CultureInfo.InvariantCulture)).Order());

        Assert.All(refused, r =>
        {
            Assert.Equal("rate_limit_exceeded", r.Code);
            var retryAfter = int.Parse(r.RetryAfter ?? "missing", CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 60);
            // One request refills every 60 s / 50 = 1.2 s; whole seconds round up.
            Assert.Equal(2, retryAfter);
            Assert.Equal("50", r.Limit);
            Assert.Equal("0", r.Remaining);
            Assert.Equal("1m0s", r.Reset);
        });
    }

    private sealed record Answer(HttpStatusCode Status, string? RetryAfter, string? Limit, string? Remaining, string? Reset, string? Code);
}

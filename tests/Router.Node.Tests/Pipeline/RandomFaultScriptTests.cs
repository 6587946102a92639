using System.Net;
using System.Text;
using Router.Testing;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Pipeline;

/// <summary>The fake upstream's per-request random script, which the failover benchmark injects its fault mix with.</summary>
public sealed class RandomFaultScriptTests
{
    [Fact]
    public async Task Random_behaviour_picks_per_request_by_probability_and_repeats_with_the_same_seed()
    {
        await using var fake = await FakeUpstream.StartAsync();
        using var http = new HttpClient();

        async Task<List<int>> RunAsync()
        {
            fake.Always(Behaviour.Random(42, null, (0.25, Behaviour.Status(429)), (0.25, Behaviour.Status(500))));
            var statuses = new List<int>();
            for (var i = 0; i < 200; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, fake.BaseUrl + "/chat/completions")
                {
                    Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new("Bearer", "sk-test");
                using var response = await http.SendAsync(request);
                statuses.Add((int)response.StatusCode);
            }
            return statuses;
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.Equal([200, 429, 500], first.Distinct().Order());
        // Half the requests are faults; 200 draws stay well within ±20 of 100.
        Assert.InRange(first.Count(s => s != (int)HttpStatusCode.OK), 80, 120);
    }

    [Fact]
    public void Random_behaviour_refuses_probabilities_over_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Behaviour.Random(1, null, (0.7, Behaviour.Status(429)), (0.4, Behaviour.Status(500))));
    }
}

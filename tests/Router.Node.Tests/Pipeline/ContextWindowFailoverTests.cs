using System.Net;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// A provider's "prompt too long" answer moves the request to a deployment with a larger context window, skipping
/// candidates no larger than the one that refused (they would refuse too).
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class ContextWindowFailoverTests
{
    private static JsonObject Deployment(string id, string provider, int contextWindow) => new()
    {
        ["Id"] = id, ["Provider"] = provider, ["Model"] = "upstream-" + id, ["ContextWindow"] = contextWindow,
    };

    [Fact]
    public async Task Context_length_refusal_falls_back_to_the_larger_window_deployment()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.ForKey(Secret("small", "k")).Always(Behaviour.ContextLengthExceeded());
        fake.ForKey(Secret("twin", "k")).Always(Behaviour.ContextLengthExceeded());
        // Both windows hold the counted prompt, so the planner keeps all three; the provider's tokenizer disagrees.
        await using var node = await RouterTestNode.StartAsync(Config(
            [Provider("small", fake.BaseUrl), Provider("twin", fake.BaseUrl), Provider("large", fake.BaseUrl)],
            [new JsonObject
            {
                ["Id"] = "gpt",
                ["Deployments"] = new JsonArray
                {
                    Deployment("gpt-small", "small", 8_000),
                    Deployment("gpt-small-twin", "twin", 8_000),
                    Deployment("gpt-large", "large", 200_000),
                },
            }]));

        var answer = await ChatAsync(node, "gpt", "a long document");

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(("gpt", "gpt-large", 2), (answer.Model, answer.Deployment, answer.Attempts));
        Assert.Equal("echo: a long document",
            answer.Json().GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(1, RequestsWith(fake, "small", "k"));
        Assert.Equal(0, RequestsWith(fake, "twin", "k"));
    }

    [Fact]
    public async Task Context_length_refusal_with_no_larger_window_is_a_400_context_length_exceeded()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.ContextLengthExceeded());
        await using var node = await RouterTestNode.StartAsync(Config(
            [Provider("small", fake.BaseUrl), Provider("twin", fake.BaseUrl)],
            [new JsonObject
            {
                ["Id"] = "gpt",
                ["Deployments"] = new JsonArray { Deployment("gpt-small", "small", 8_000), Deployment("gpt-small-twin", "twin", 8_000) },
            }]));

        var answer = await ChatAsync(node, "gpt");

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("context_length_exceeded", answer.Json().GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, fake.RequestCount);
    }
}

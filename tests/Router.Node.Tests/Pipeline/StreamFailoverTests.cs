using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// The streaming rule: before the first event reaches the client any failure may still fall back; after it, the
/// stream ends with an error in the client's protocol and nothing else is tried.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class StreamFailoverTests : IAsyncLifetime
{
    private FakeUpstream _fake = null!;
    private RouterTestNode _node = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _node = await RouterTestNode.StartAsync(Config(
            [Provider("flaky", _fake.BaseUrl), Provider("steady", _fake.BaseUrl)],
            [Model("main", "flaky", "spare"), Model("spare", "steady")]));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _fake.DisposeAsync();
    }

    private BehaviourScript Flaky => _fake.ForKey(Secret("flaky", "k"));

    [Fact]
    public async Task OpenAi_stream_cut_after_it_started_ends_with_an_error_event_and_no_fallback()
    {
        Flaky.Enqueue(Behaviour.CutStreamAfter(2));

        var answer = await ChatAsync(_node, "main", stream: true);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("main", answer.Model);
        var data = answer.DataLines();
        // The upstream's own chunks (its opening role chunk with empty content, then two content chunks) reached the
        // client as they were sent, then one error event, and the stream ended without [DONE].
        var content = data.Take(data.Count - 1).Select(d => JsonDocument.Parse(d).RootElement)
            .Select(e => e.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()).ToList();
        Assert.Equal(["", "echo:", " one"], content);
        using var last = JsonDocument.Parse(data[^1]);
        Assert.Equal("upstream_error", last.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("[DONE]", answer.Body, StringComparison.Ordinal);
        Assert.Equal(0, RequestsWith(_fake, "steady", "k"));
    }

    [Fact]
    public async Task Anthropic_stream_cut_after_it_started_ends_with_an_error_event()
    {
        Flaky.Enqueue(Behaviour.CutStreamAfter(2));

        var answer = await MessagesAsync(_node, "main", stream: true);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var events = answer.EventNames();
        Assert.Equal(2, events.Count(e => e == "content_block_delta"));
        Assert.Equal("error", events[^1]);
        Assert.DoesNotContain("message_stop", events);
        using var error = JsonDocument.Parse(answer.DataLines()[^1]);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(0, RequestsWith(_fake, "steady", "k"));
    }

    [Fact]
    public async Task Grpc_stream_cut_after_it_started_ends_with_unavailable_status()
    {
        Flaky.Enqueue(Behaviour.CutStreamAfter(2));
        using var channel = GrpcChannel.ForAddress(_node.GrpcBase);
        var client = new G.Router.RouterClient(channel);

        using var call = client.CompleteStream(
            new G.CompletionRequest { Model = "main", Messages = { new G.Message { Role = "user", Content = "one two three four five" } } },
            new Metadata { { "authorization", "Bearer " + RouterTestNode.DemoKey } },
            deadline: DateTime.UtcNow + Bound);
        var deltas = new StringBuilder();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
                if (chunk.KindCase == G.CompletionChunk.KindOneofCase.Delta) deltas.Append(chunk.Delta);
        });

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("echo: one", deltas.ToString());
        Assert.Equal("main", call.GetTrailers().GetValue("x-router-model"));
        Assert.Equal(0, RequestsWith(_fake, "steady", "k"));
    }

    [Fact]
    public async Task Stream_failing_before_its_first_event_is_served_whole_by_the_fallback()
    {
        // The upstream sends its role-only preamble (no content) and then drops the connection.
        Flaky.Enqueue(Behaviour.CutStreamAfter(0));

        var answer = await ChatAsync(_node, "main", "alpha beta gamma", stream: true);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(("spare", "spare/steady", 2), (answer.Model, answer.Deployment, answer.Attempts));
        var data = answer.DataLines();
        Assert.Equal("[DONE]", data[^1]);
        var text = string.Concat(data.SkipLast(1).Select(d => JsonDocument.Parse(d).RootElement.GetProperty("choices"))
            .Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("delta").TryGetProperty("content", out _))
            .Select(c => c[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal("echo: alpha beta gamma", text);
        Assert.DoesNotContain("\"error\"", answer.Body, StringComparison.Ordinal);
        Assert.Equal(1, RequestsWith(_fake, "flaky", "k"));
    }

    [Fact]
    public async Task Stream_refused_with_500_before_its_first_event_is_served_by_the_fallback_over_anthropic()
    {
        Flaky.Enqueue(Behaviour.Status(500));

        var answer = await MessagesAsync(_node, "main", "alpha beta", stream: true);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(("spare", 2), (answer.Model, answer.Attempts));
        var events = answer.EventNames();
        Assert.Equal("message_stop", events[^1]);
        Assert.DoesNotContain("error", events);
        var text = string.Concat(answer.DataLines().Select(d => JsonDocument.Parse(d).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "content_block_delta")
            .Select(e => e.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal("echo: alpha beta", text);
    }
}

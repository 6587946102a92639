using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Ingress;

/// <summary>Fake upstreams that stream a long answer slowly, so a client can leave while the upstream is mid-stream.</summary>
public sealed class SlowStreamFixture : IAsyncLifetime
{
    // 400 words at 250 ms each: the stream is still running long after the client has left.
    private static readonly Behaviour Slow =
        Behaviour.Answer(string.Join(' ', Enumerable.Repeat("slowly", 400))) with { DelayPerChunk = TimeSpan.FromMilliseconds(250) };

    public FakeUpstream OpenAi { get; private set; } = null!;
    public FakeUpstream Anthropic { get; private set; } = null!;
    public RouterTestNode Node { get; private set; } = null!;

    public FakeUpstream FakeFor(string kind) => kind == "openai" ? OpenAi : Anthropic;

    public async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartAsync();
        Anthropic = await FakeUpstream.StartAsync();
        OpenAi.Always(Slow);
        Anthropic.Always(Slow);
        Node = await RouterTestNode.StartAsync(E2e.Config(OpenAi, Anthropic));
    }

    public async Task DisposeAsync()
    {
        if (Node is not null) await Node.DisposeAsync();
        if (OpenAi is not null) await OpenAi.DisposeAsync();
        if (Anthropic is not null) await Anthropic.DisposeAsync();
    }
}

/// <summary>A client that goes away mid-stream cancels Router's upstream call, whichever protocol it spoke.</summary>
public sealed class ClientDisconnectTests(SlowStreamFixture fixture) : IClassFixture<SlowStreamFixture>
{
    public static TheoryData<string, string> IngressesAndUpstreams => new()
    {
        { "openai", "openai" }, { "openai", "anthropic" }, { "anthropic", "openai" }, { "anthropic", "anthropic" },
    };

    [Theory]
    [MemberData(nameof(IngressesAndUpstreams))]
    public async Task Leaving_an_sse_stream_aborts_the_upstream_call(string ingress, string upstream)
    {
        var fake = fixture.FakeFor(upstream);
        var abortsBefore = fake.AbortedCount;
        var prompt = E2e.UniquePrompt();
        var model = E2e.Expect(upstream, prompt).Model;
        using var request = ingress == "openai"
            ? fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(model, prompt, stream: true))
            : fixture.Node.PostAnthropic(E2e.AnthropicBody(model, prompt, stream: true));
        // No draining of the unread rest on dispose: the client really leaves.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = fixture.Node.HttpBase, Timeout = E2e.Patience };
        using var cts = new CancellationTokenSource(E2e.Patience);

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var contentEvents = 0;
        await using (var events = Sse.ReadAsync(await response.Content.ReadAsStreamAsync(cts.Token), cts.Token).GetAsyncEnumerator(cts.Token))
        {
            while (contentEvents < 3 && await events.MoveNextAsync())
                if (IsContent(ingress, events.Current)) contentEvents++;
        }
        response.Dispose();

        Assert.Equal(3, contentEvents);
        await fake.WaitForAbortsAsync(abortsBefore + 1, E2e.Patience);
        Assert.Single(fake.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
        await fixture.Node.AssertStillServesAsync();
    }

    [Theory]
    [InlineData("openai")]
    [InlineData("anthropic")]
    public async Task Cancelling_a_grpc_stream_aborts_the_upstream_call(string upstream)
    {
        var fake = fixture.FakeFor(upstream);
        var abortsBefore = fake.AbortedCount;
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        using var cts = new CancellationTokenSource(E2e.Patience);

        var deltas = 0;
        var prompt = E2e.UniquePrompt();
        using (var call = client.CompleteStream(E2e.GrpcRequest(E2e.Expect(upstream, prompt).Model, prompt),
                   E2e.Bearer(RouterTestNode.DemoKey), cancellationToken: cts.Token))
        {
            while (deltas < 3 && await call.ResponseStream.MoveNext(cts.Token))
                if (call.ResponseStream.Current.KindCase == G.CompletionChunk.KindOneofCase.Delta) deltas++;
        }

        Assert.Equal(3, deltas);
        await fake.WaitForAbortsAsync(abortsBefore + 1, E2e.Patience);
        await fixture.Node.AssertStillServesAsync();
    }

    private static bool IsContent(string ingress, SseEvent e) => ingress == "openai"
        ? e.Data != "[DONE]" && e.Json["choices"] is JsonArray { Count: > 0 } choices && choices[0]!["delta"]?["content"] is not null
        : e.Event == "content_block_delta";
}

using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Upstreams;
using Router.Testing;
using static Router.Node.Tests.Upstreams.UpstreamTestKit;

namespace Router.Node.Tests.Upstreams;

public sealed class AnthropicUpstreamClientTests : IAsyncLifetime
{
    private FakeUpstream _fake = null!;
    private HttpClient _http = null!;
    private AnthropicUpstreamClient _client = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _http = NewHttpClient();
        _client = new AnthropicUpstreamClient(_http, _fake.BaseUrl, defaultMaxTokens: 1024);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Completes_with_the_upstream_answer_and_usage()
    {
        var completion = await _client.CompleteAsync(Call("hello world"), CancellationToken.None);

        Assert.Equal("echo: hello world", completion.Content);
        Assert.Equal(FinishReason.Stop, completion.FinishReason);
        Assert.Equal("upstream-model-x", completion.Model);
        Assert.StartsWith("msg_fake_", completion.Id);
        Assert.Equal(new TokenUsage(7, 3), completion.Usage);
    }

    [Fact]
    public async Task Sends_system_at_top_level_stop_sequences_and_anthropic_headers()
    {
        var call = new UpstreamCall(new ChatRequest
        {
            Model = "client-alias",
            Messages = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hi"), new(ChatRole.Assistant, "hello"),
                new(ChatRole.System, "and polite"), new(ChatRole.User, "again")],
            Temperature = 0.5,
            TopP = 0.9,
            MaxTokens = 300,
            Stop = ["\n\nHuman:"],
            User = "tenant-7",
        }, "claude-haiku-4", "sk-ant-xyz", "claude-haiku/anthropic");

        await _client.CompleteAsync(call, CancellationToken.None);

        var sent = _fake.LastRequest;
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal("sk-ant-xyz", sent.Header("x-api-key"));
        Assert.Null(sent.Header("Authorization"));
        Assert.Equal("2023-06-01", sent.Header("anthropic-version"));
        var body = sent.Body!.Value;
        Assert.Equal("claude-haiku-4", body.GetProperty("model").GetString());
        Assert.Equal(300, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal("be brief\n\nand polite", body.GetProperty("system").GetString());
        Assert.Equal(["user", "assistant", "user"],
            body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("\n\nHuman:", body.GetProperty("stop_sequences")[0].GetString());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal("tenant-7", body.GetProperty("metadata").GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task Sends_the_default_max_tokens_when_the_request_sets_none()
    {
        var client = new AnthropicUpstreamClient(_http, _fake.BaseUrl, defaultMaxTokens: 333);

        await client.CompleteAsync(Call(maxTokens: null), CancellationToken.None);

        Assert.Equal(333, _fake.LastRequest.Body!.Value.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Streams_deltas_then_finish_with_usage_from_message_start_and_message_delta()
    {
        var events = await CollectAsync(_client.StreamAsync(Call("one two three"), CancellationToken.None));

        Assert.Equal(["echo:", " one", " two", " three"], events.OfType<ContentDelta>().Select(d => d.Text));
        var finished = Assert.IsType<StreamFinished>(events[^1]);
        Assert.Equal(FinishReason.Stop, finished.Reason);
        Assert.Equal(new TokenUsage(8, 4), finished.Usage);
        Assert.True(_fake.LastRequest.Body!.Value.GetProperty("stream").GetBoolean());
    }

    [Fact]
    public async Task Max_tokens_stop_reason_maps_to_length()
    {
        var completion = await _client.CompleteAsync(Call("a b c d", maxTokens: 2), CancellationToken.None);
        var events = await CollectAsync(_client.StreamAsync(Call("a b c d", maxTokens: 2), CancellationToken.None));

        Assert.Equal(FinishReason.Length, completion.FinishReason);
        Assert.Equal("echo: a", completion.Content);
        Assert.Equal(FinishReason.Length, Assert.IsType<StreamFinished>(events[^1]).Reason);
    }

    [Fact]
    public async Task Finished_streams_give_their_connection_back_to_the_pool()
    {
        // The fake ends the body a little after the terminal event, as slow relays do: the client must read to the end.
        _fake.Always(Behaviour.Echo with { DelayBeforeEnd = TimeSpan.FromMilliseconds(100) });
        await CollectAsync(_client.StreamAsync(Call("x"), CancellationToken.None));
        await CollectAsync(_client.StreamAsync(Call("y"), CancellationToken.None));

        Assert.Single(_fake.Requests.Select(r => r.ConnectionId).Distinct());
    }

    [Fact]
    public async Task Maps_429_with_retry_after_to_rate_limited()
    {
        _fake.Enqueue(Behaviour.Status(429, ("Retry-After", "30")));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.RateLimited, ex.Kind);
        Assert.Equal(TimeSpan.FromSeconds(30), ex.RetryAfter);
        Assert.Contains("rate_limit_error", ex.Message);
    }

    [Theory]
    [InlineData(500, UpstreamFailureKind.ServerError)]
    [InlineData(529, UpstreamFailureKind.Overloaded)]
    [InlineData(400, UpstreamFailureKind.BadRequest)]
    [InlineData(401, UpstreamFailureKind.AuthFailed)]
    [InlineData(403, UpstreamFailureKind.AuthFailed)]
    [InlineData(404, UpstreamFailureKind.NotFound)]
    public async Task Maps_status_to_failure_kind(int status, UpstreamFailureKind expected)
    {
        _fake.Enqueue(Behaviour.Status(status));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(expected, ex.Kind);
    }

    [Fact]
    public async Task Maps_overloaded_529_with_its_message()
    {
        _fake.Enqueue(Behaviour.Status(529));

        var (_, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.Overloaded, ex.Kind);
        Assert.Contains("overloaded_error", ex.Message);
    }

    [Fact]
    public async Task Maps_prompt_too_long_to_context_length_exceeded()
    {
        _fake.Enqueue(Behaviour.ContextLengthExceeded());

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.ContextLengthExceeded, ex.Kind);
        Assert.Contains("prompt is too long", ex.Message);
    }

    [Fact]
    public async Task Other_invalid_request_errors_stay_bad_requests()
    {
        _fake.Enqueue(Behaviour.ProviderError(400, "invalid_request_error", "temperature: range is 0..1"));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.BadRequest, ex.Kind);
        Assert.Contains("temperature: range is 0..1", ex.Message);
    }

    [Fact]
    public async Task Garbage_is_an_invalid_response_for_both_shapes()
    {
        _fake.Enqueue(Behaviour.Garbage()).Enqueue(Behaviour.Garbage());

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));
        var (_, streamed) = await StreamUntilFailureAsync(_client.StreamAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.InvalidResponse, ex.Kind);
        Assert.Equal(UpstreamFailureKind.InvalidResponse, streamed.Kind);
    }

    [Fact]
    public async Task Stream_cut_mid_way_raises_reset_after_the_deltas_already_received()
    {
        _fake.Enqueue(Behaviour.CutStreamAfter(2));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call("one two three"), CancellationToken.None));

        Assert.Equal(["echo:", " one"], deltas);
        Assert.Equal(UpstreamFailureKind.Reset, ex.Kind);
    }

    [Fact]
    public async Task Stream_ending_before_message_stop_is_a_reset_even_after_all_content()
    {
        // Cut after every content chunk: the body ends before content_block_stop/message_delta/message_stop.
        _fake.Enqueue(Behaviour.CutStreamAfter(100));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call("x y"), CancellationToken.None));

        Assert.Equal(["echo:", " x", " y"], deltas);
        Assert.Equal(UpstreamFailureKind.Reset, ex.Kind);
    }

    [Fact]
    public async Task In_band_overloaded_error_event_maps_to_overloaded()
    {
        _fake.Enqueue(Behaviour.StreamErrorAfter(1, "overloaded_error", "Overloaded"));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call("a b"), CancellationToken.None));

        Assert.Equal(["echo:"], deltas);
        Assert.Equal(UpstreamFailureKind.Overloaded, ex.Kind);
    }

    [Fact]
    public async Task Closed_port_is_a_connect_failure()
    {
        var client = new AnthropicUpstreamClient(_http, $"http://127.0.0.1:{ClosedPort()}/v1");

        var (_, ex) = await StreamUntilFailureAsync(client.StreamAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.ConnectFailure, ex.Kind);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_cancellation_and_the_upstream_sees_the_abort()
    {
        _fake.Enqueue(Behaviour.SlowStream(TimeSpan.FromMinutes(5)));
        using var cts = new CancellationTokenSource();
        await using var events = _client.StreamAsync(Call("one two three"), cts.Token).GetAsyncEnumerator();

        // The upstream's own id comes first, then the text.
        Assert.True(await events.MoveNextAsync());
        Assert.StartsWith("msg_fake_", Assert.IsType<StreamStarted>(events.Current).Id);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("echo:", Assert.IsType<ContentDelta>(events.Current).Text);
        var next = events.MoveNextAsync();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        await _fake.WaitForAbortAsync(Patience);
        Assert.Equal(1, _fake.AbortedCount);
    }
}

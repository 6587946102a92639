using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Upstreams;
using Router.Testing;
using static Router.Node.Tests.Upstreams.UpstreamTestKit;

namespace Router.Node.Tests.Upstreams;

public sealed class OpenAiUpstreamClientTests : IAsyncLifetime
{
    private FakeUpstream _fake = null!;
    private HttpClient _http = null!;
    private OpenAiUpstreamClient _client = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _http = NewHttpClient();
        _client = new OpenAiUpstreamClient(_http, _fake.BaseUrl);
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
        Assert.StartsWith("chatcmpl-fake-", completion.Id);
        // "hello world" = 11 chars -> ceil(11/4) + 4 = 7 prompt tokens; three chunks "echo:", " hello", " world".
        Assert.Equal(new TokenUsage(7, 3), completion.Usage);
    }

    [Fact]
    public async Task Sends_upstream_model_sampling_fields_and_bearer_key()
    {
        var call = new UpstreamCall(new ChatRequest
        {
            Model = "client-alias",
            Messages = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hi"), new(ChatRole.Assistant, "hello"), new(ChatRole.User, "again")],
            Temperature = 0.25,
            TopP = 0.5,
            MaxTokens = 77,
            Stop = ["END"],
            User = "tenant-7",
        }, "gpt-4o-mini-2024-07-18", "sk-live-abc", "gpt-4o-mini/openai");

        await _client.CompleteAsync(call, CancellationToken.None);

        var sent = _fake.LastRequest;
        Assert.Equal("/v1/chat/completions", sent.Path);
        Assert.Equal("Bearer sk-live-abc", sent.Header("Authorization"));
        Assert.Equal("sk-live-abc", sent.ApiKey);
        var body = sent.Body!.Value;
        Assert.Equal("gpt-4o-mini-2024-07-18", body.GetProperty("model").GetString());
        Assert.Equal(77, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.25, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.5, body.GetProperty("top_p").GetDouble());
        Assert.Equal("END", body.GetProperty("stop")[0].GetString());
        Assert.Equal("tenant-7", body.GetProperty("user").GetString());
        Assert.False(body.TryGetProperty("stream", out _));
        var roles = body.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()!).ToArray();
        Assert.Equal(["system", "user", "assistant", "user"], roles);
    }

    [Fact]
    public async Task Streams_deltas_then_finish_with_usage()
    {
        var events = await CollectAsync(_client.StreamAsync(Call("one two three"), CancellationToken.None));

        var deltas = events.OfType<ContentDelta>().Select(d => d.Text).ToList();
        Assert.Equal(["echo:", " one", " two", " three"], deltas);
        var finished = Assert.IsType<StreamFinished>(events[^1]);
        Assert.Equal(FinishReason.Stop, finished.Reason);
        Assert.Equal(new TokenUsage(8, 4), finished.Usage);
        Assert.Single(events.OfType<StreamFinished>());
    }

    [Fact]
    public async Task Stream_always_asks_for_usage_even_when_the_client_did_not()
    {
        var call = Call("hi", stream: true) with { Request = Call("hi").Request with { Stream = true, IncludeUsage = false } };

        await CollectAsync(_client.StreamAsync(call, CancellationToken.None));

        var body = _fake.LastRequest.Body!.Value;
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("text/event-stream", _fake.LastRequest.Header("Accept"));
    }

    [Fact]
    public async Task Stream_cut_by_max_tokens_finishes_with_length()
    {
        var events = await CollectAsync(_client.StreamAsync(Call("a b c d e f", maxTokens: 2), CancellationToken.None));

        Assert.Equal(["echo:", " a"], events.OfType<ContentDelta>().Select(d => d.Text));
        Assert.Equal(FinishReason.Length, Assert.IsType<StreamFinished>(events[^1]).Reason);
    }

    [Fact]
    public async Task Maps_429_with_retry_after_seconds_to_rate_limited()
    {
        _fake.Enqueue(Behaviour.Status(429, ("Retry-After", "30")));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.RateLimited, ex.Kind);
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), ex.RetryAfter);
        Assert.Contains("Rate limit reached", ex.Message);
        Assert.True(ex.IsRetryable);
    }

    [Fact]
    public async Task Prefers_retry_after_ms_over_retry_after()
    {
        _fake.Enqueue(Behaviour.Status(429, ("Retry-After", "2"), ("retry-after-ms", "1500")));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), ex.RetryAfter);
    }

    [Fact]
    public async Task Stream_request_refused_with_429_fails_before_any_event()
    {
        _fake.Enqueue(Behaviour.Status(429, ("Retry-After", "7")));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call(), CancellationToken.None));

        Assert.Empty(deltas);
        Assert.Equal(UpstreamFailureKind.RateLimited, ex.Kind);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Theory]
    [InlineData(500, UpstreamFailureKind.ServerError)]
    [InlineData(502, UpstreamFailureKind.ServerError)]
    [InlineData(503, UpstreamFailureKind.ServerError)]
    [InlineData(504, UpstreamFailureKind.ServerError)]
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
        Assert.Equal(status, ex.StatusCode);
    }

    [Fact]
    public async Task Maps_context_length_400_to_context_length_exceeded()
    {
        _fake.Enqueue(Behaviour.ContextLengthExceeded());

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.ContextLengthExceeded, ex.Kind);
        Assert.Contains("maximum context length", ex.Message);
        Assert.False(ex.IsRetryable);
    }

    [Fact]
    public async Task Error_message_carries_the_upstream_message_but_never_the_key()
    {
        _fake.Enqueue(Behaviour.ProviderError(401, "invalid_request_error", "Incorrect API key provided: sk-secret-123456.", "invalid_api_key"));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(key: "sk-secret-123456"), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.AuthFailed, ex.Kind);
        Assert.Contains("Incorrect API key provided", ex.Message);
        Assert.Contains("invalid_api_key", ex.Message);
        Assert.DoesNotContain("sk-secret-123456", ex.ToString());
    }

    [Fact]
    public async Task Garbage_body_is_an_invalid_response()
    {
        _fake.Enqueue(Behaviour.Garbage());

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.InvalidResponse, ex.Kind);
    }

    [Fact]
    public async Task Garbage_stream_is_an_invalid_response()
    {
        _fake.Enqueue(Behaviour.Garbage());

        var (_, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.InvalidResponse, ex.Kind);
    }

    [Fact]
    public async Task Stream_cut_mid_way_raises_reset_after_the_deltas_already_received()
    {
        _fake.Enqueue(Behaviour.CutStreamAfter(2));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call("one two three four"), CancellationToken.None));

        Assert.Equal(["echo:", " one"], deltas);
        Assert.Equal(UpstreamFailureKind.Reset, ex.Kind);
        Assert.Equal(0, _fake.AbortedCount); // the server cut it, not the client
        Assert.Equal(0, _fake.CompletedCount);
    }

    [Fact]
    public async Task Body_cut_mid_way_is_a_reset()
    {
        _fake.Enqueue(Behaviour.CutStreamAfter(1));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.Reset, ex.Kind);
    }

    [Fact]
    public async Task In_band_stream_error_after_deltas_is_mapped()
    {
        _fake.Enqueue(Behaviour.StreamErrorAfter(1, "server_error", "The server had an error"));

        var (deltas, ex) = await StreamUntilFailureAsync(_client.StreamAsync(Call("a b"), CancellationToken.None));

        Assert.Equal(["echo:"], deltas);
        Assert.Equal(UpstreamFailureKind.ServerError, ex.Kind);
        Assert.Contains("The server had an error", ex.Message);
    }

    [Fact]
    public async Task Closed_port_is_a_connect_failure()
    {
        var client = new OpenAiUpstreamClient(_http, $"http://127.0.0.1:{ClosedPort()}/v1");

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => client.CompleteAsync(Call(), CancellationToken.None));

        Assert.Equal(UpstreamFailureKind.ConnectFailure, ex.Kind);
        Assert.True(ex.IsRetryable);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_cancellation_and_the_upstream_sees_the_abort()
    {
        _fake.Enqueue(Behaviour.SlowStream(TimeSpan.FromMinutes(5)));
        using var cts = new CancellationTokenSource();
        await using var events = _client.StreamAsync(Call("one two three"), cts.Token).GetAsyncEnumerator();

        // The upstream's own id comes first, then the text.
        Assert.True(await events.MoveNextAsync());
        Assert.StartsWith("chatcmpl-fake-", Assert.IsType<StreamStarted>(events.Current).Id);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("echo:", Assert.IsType<ContentDelta>(events.Current).Text);
        var next = events.MoveNextAsync();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        await _fake.WaitForAbortAsync(Patience);
        Assert.Equal(1, _fake.AbortedCount);
    }

    [Fact]
    public async Task Abandoning_a_stream_closes_the_connection_so_the_upstream_stops()
    {
        _fake.Enqueue(Behaviour.SlowStream(TimeSpan.FromMinutes(5)));

        await foreach (var e in _client.StreamAsync(Call("one two three"), CancellationToken.None))
        {
            if (e is StreamStarted) continue;
            Assert.IsType<ContentDelta>(e);
            break;
        }

        await _fake.WaitForAbortAsync(Patience);
        Assert.Equal(0, _fake.CompletedCount);
    }

    [Fact]
    public async Task Cancelling_while_waiting_for_headers_throws_cancellation_and_the_upstream_sees_the_abort()
    {
        _fake.Enqueue(Behaviour.Hang());
        using var cts = new CancellationTokenSource();

        var call = _client.CompleteAsync(Call(), cts.Token);
        await _fake.WaitForRequestsAsync(1, Patience);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await _fake.WaitForAbortAsync(Patience);
    }

    [Fact]
    public async Task Completed_stream_leaves_no_abort_behind()
    {
        await CollectAsync(_client.StreamAsync(Call("x"), CancellationToken.None));
        await CollectAsync(_client.StreamAsync(Call("y"), CancellationToken.None));

        Assert.Equal(2, _fake.CompletedCount);
        Assert.Equal(0, _fake.AbortedCount);
    }

    [Fact]
    public async Task Finished_streams_give_their_connection_back_to_the_pool()
    {
        // The fake ends the body a little after the terminal event, as slow relays do: the client must read to the end.
        _fake.Always(Behaviour.Echo with { DelayBeforeEnd = TimeSpan.FromMilliseconds(100) });
        await CollectAsync(_client.StreamAsync(Call("x"), CancellationToken.None));
        await CollectAsync(_client.StreamAsync(Call("y"), CancellationToken.None));
        await _client.CompleteAsync(Call("z"), CancellationToken.None);

        Assert.Single(_fake.Requests.Select(r => r.ConnectionId).Distinct());
    }

    [Fact]
    public async Task Key_scoped_script_throttles_one_key_while_another_succeeds()
    {
        _fake.ForKey("sk-primary").Always(Behaviour.Status(429, ("Retry-After", "30")));

        var ex = await Assert.ThrowsAsync<UpstreamException>(() => _client.CompleteAsync(Call(key: "sk-primary"), CancellationToken.None));
        var ok = await _client.CompleteAsync(Call("fine", key: "sk-backup"), CancellationToken.None);

        Assert.Equal(UpstreamFailureKind.RateLimited, ex.Kind);
        Assert.Equal("echo: fine", ok.Content);
        Assert.Equal(["sk-primary", "sk-backup"], _fake.Requests.Select(r => r.ApiKey));
    }

    [Fact]
    public void Request_body_is_valid_json_with_only_the_fields_set()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) Router.Node.Wire.OpenAi.OpenAiChatWire.WriteRequest(w, Call("q").Request, Call("q").UpstreamModel, stream: false);

        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["model", "messages"], names);
    }
}

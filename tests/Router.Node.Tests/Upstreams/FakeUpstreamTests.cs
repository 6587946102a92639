using System.ClientModel;
using System.Net;
using System.Text;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using Router.Testing;
using static Router.Node.Tests.Upstreams.UpstreamTestKit;

namespace Router.Node.Tests.Upstreams;

/// <summary>
/// The fake upstream itself: that the providers' own SDKs understand it (so our clients are tested against
/// the real shapes, not against our own idea of them) and that its scripting works as tests rely on.
/// </summary>
public sealed class FakeUpstreamTests : IAsyncLifetime
{
    private FakeUpstream _fake = null!;
    private readonly HttpClient _raw = new();

    public async Task InitializeAsync() => _fake = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _raw.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Official_OpenAI_sdk_reads_its_answers_and_streams()
    {
        var client = new ChatClient("gpt-test", new ApiKeyCredential("sk-sdk"), new OpenAIClientOptions { Endpoint = new Uri(_fake.BaseUrl) });

        OpenAI.Chat.ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hello sdk")]);
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hello sdk")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("echo: hello sdk", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
        Assert.Equal("echo: hello sdk", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(3, usage?.OutputTokenCount);
        Assert.Equal("sk-sdk", _fake.LastRequest.ApiKey);
    }

    [Fact]
    public async Task Official_Anthropic_sdk_reads_its_answers_and_streams()
    {
        var client = new AnthropicClient { ApiKey = "sk-ant-sdk", BaseUrl = $"http://127.0.0.1:{_fake.Port}", MaxRetries = 0 };
        var parameters = new MessageCreateParams
        {
            MaxTokens = 64,
            Messages = [new UserMessageParam("hello sdk")],
            Model = "claude-test",
        };

        var message = await client.Messages.Create(parameters);
        var text = new StringBuilder();
        long? outputTokens = null;
        await foreach (var e in client.Messages.CreateStreaming(parameters))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t)) text.Append(t.Text);
            if (e.TryPickDelta(out var messageDelta)) outputTokens = messageDelta.Usage.OutputTokens;
        }

        Assert.True(message.Content[0].TryPickText(out var block));
        Assert.Equal("echo: hello sdk", block.Text);
        Assert.Equal(3, message.Usage.OutputTokens);
        Assert.Equal("echo: hello sdk", text.ToString());
        Assert.Equal(3, outputTokens);
        Assert.Equal("sk-ant-sdk", _fake.LastRequest.ApiKey);
    }

    [Fact]
    public async Task Queued_behaviours_answer_in_order_then_the_standing_one()
    {
        _fake.Enqueue(Behaviour.Status(429)).Enqueue(Behaviour.Status(503));

        var statuses = new List<int>();
        for (var i = 0; i < 3; i++) statuses.Add((int)(await PostOpenAiAsync("sk-a")).StatusCode);

        Assert.Equal([429, 503, 200], statuses);
        Assert.Equal(3, _fake.RequestCount);
    }

    [Fact]
    public async Task Key_script_claims_only_its_own_key_and_falls_through_when_empty()
    {
        _fake.ForKey("sk-primary").Enqueue(Behaviour.Status(401));
        _fake.Always(Behaviour.Status(500));

        var primary = await PostOpenAiAsync("sk-primary");
        var other = await PostOpenAiAsync("sk-other");
        var primaryAgain = await PostOpenAiAsync("sk-primary");

        Assert.Equal(HttpStatusCode.Unauthorized, primary.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, other.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, primaryAgain.StatusCode);
    }

    [Fact]
    public async Task Refuses_what_the_real_apis_refuse()
    {
        using var noKey = await _raw.PostAsync(_fake.BaseUrl + "/chat/completions",
            new StringContent("""{"model":"m","messages":[]}""", Encoding.UTF8, "application/json"));
        using var anthropicWithoutMaxTokens = new HttpRequestMessage(HttpMethod.Post, _fake.BaseUrl + "/messages")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        anthropicWithoutMaxTokens.Headers.Add("x-api-key", "sk-ant");
        anthropicWithoutMaxTokens.Headers.Add("anthropic-version", "2023-06-01");
        using var refused = await _raw.SendAsync(anthropicWithoutMaxTokens);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("max_tokens", await refused.Content.ReadAsStringAsync());
        Assert.Contains("\"type\":\"error\"", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Records_requests_without_printing_keys()
    {
        await PostOpenAiAsync("sk-recorded-secret");

        var recorded = Assert.Single(_fake.Requests);
        Assert.Equal(FakeApi.OpenAi, recorded.Api);
        Assert.Equal("m", recorded.Body!.Value.GetProperty("model").GetString());
        Assert.Equal("sk-recorded-secret", recorded.ApiKey);
        Assert.DoesNotContain("sk-recorded-secret", recorded.ToString());
    }

    [Fact]
    public async Task Waiting_for_an_abort_that_never_comes_times_out()
    {
        await PostOpenAiAsync("sk-a");

        await Assert.ThrowsAsync<TimeoutException>(() => _fake.WaitForAbortAsync(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(1, _fake.CompletedCount);
    }

    [Fact]
    public async Task Disposing_ends_hanging_requests()
    {
        var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Hang());
        using var http = NewHttpClient();
        var pending = http.SendAsync(OpenAiRequest(fake, "sk-a"));
        await fake.WaitForRequestsAsync(1, Patience);

        await fake.DisposeAsync();

        await Assert.ThrowsAsync<HttpRequestException>(() => pending);
        Assert.Equal(0, fake.AbortedCount);
    }

    private Task<HttpResponseMessage> PostOpenAiAsync(string key) => _raw.SendAsync(OpenAiRequest(_fake, key));

    private static HttpRequestMessage OpenAiRequest(FakeUpstream fake, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, fake.BaseUrl + "/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return request;
    }
}

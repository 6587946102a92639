using System.ClientModel;
using System.Text;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// "Just change base_url": the providers' official .NET SDKs, configured with nothing but Router's endpoint and a
/// Router key, complete and stream against every upstream kind, and surface Router's auth errors as their own.
/// </summary>
public sealed class OfficialSdkTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> UpstreamKinds => new() { "openai", "anthropic", "simulated" };

    private ChatClient OpenAiSdk(string model, string key = RouterTestNode.DemoKey) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(fixture.Node.HttpBase, "v1") });

    private AnthropicClient AnthropicSdk(string key = RouterTestNode.DemoKey) =>
        new() { ApiKey = key, BaseUrl = fixture.Node.HttpBase.ToString().TrimEnd('/'), MaxRetries = 0 };

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task OpenAi_sdk_completes_a_chat(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        ClientResult<OpenAI.Chat.ChatCompletion> result = await OpenAiSdk(expected.Model).CompleteChatAsync([new UserChatMessage(prompt)]);
        var completion = result.Value;

        Assert.Equal(expected.Text, Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(expected.Deployment, result.GetRawResponse().Headers.TryGetValue("x-router-deployment", out var d) ? d : null);
        fixture.AssertUpstreamSaw(kind, prompt, stream: false);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task OpenAi_sdk_streams_a_chat(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in OpenAiSdk(expected.Model).CompleteChatStreamingAsync([new UserChatMessage(prompt)]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(expected.PromptTokens, usage?.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, usage?.OutputTokenCount);
        fixture.AssertUpstreamSaw(kind, prompt, stream: true);
    }

    [Fact]
    public async Task OpenAi_sdk_reports_an_invalid_key_as_401()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAiSdk(E2e.SimModel, "sk-not-a-router-key").CompleteChatAsync([new UserChatMessage("hello")]));

        Assert.Equal(401, ex.Status);
        Assert.Contains("invalid_api_key", ex.Message);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Anthropic_sdk_creates_a_message(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);
        using var client = AnthropicSdk();

        var message = await client.Messages.Create(new MessageCreateParams
        {
            Model = expected.Model, MaxTokens = 256, Messages = [new UserMessageParam(prompt)],
        });

        Assert.True(Assert.Single(message.Content).TryPickText(out var block));
        Assert.Equal(expected.Text, block.Text);
        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.Equal(expected.PromptTokens, message.Usage.InputTokens);
        Assert.Equal(expected.CompletionTokens, message.Usage.OutputTokens);
        fixture.AssertUpstreamSaw(kind, prompt, stream: false);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Anthropic_sdk_streams_a_message(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);
        using var client = AnthropicSdk();

        var text = new StringBuilder();
        string? stopReason = null;
        long? outputTokens = null;
        var stopped = false;
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = expected.Model, MaxTokens = 256, Messages = [new UserMessageParam(prompt)],
        }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t)) text.Append(t.Text);
            if (e.TryPickDelta(out var messageDelta))
            {
                stopReason = messageDelta.Delta.StopReason?.Raw();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
            if (e.TryPickStop(out _)) stopped = true;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.Equal("end_turn", stopReason);
        Assert.Equal(expected.CompletionTokens, outputTokens);
        Assert.True(stopped);
        fixture.AssertUpstreamSaw(kind, prompt, stream: true);
    }

    [Fact]
    public async Task Anthropic_sdk_reports_an_invalid_key_as_its_auth_exception()
    {
        using var client = AnthropicSdk("sk-not-a-router-key");

        var ex = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => client.Messages.Create(new MessageCreateParams
        {
            Model = E2e.SimModel, MaxTokens = 16, Messages = [new UserMessageParam("hello")],
        }));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Contains("authentication_error", ex.ResponseBody);
    }
}

using Anthropic.Models.Messages;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// <c>count_tokens</c> through the Anthropic SDK: Router answers with its own count whatever the model's upstream,
/// and no provider is called (nor charged).
/// </summary>
public sealed class CountTokensTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    [Theory]
    [InlineData(ProtocolFixture.AnthropicModel)]
    [InlineData(ProtocolFixture.OpenAiModel)]
    [InlineData(ProtocolFixture.SimModel)]
    public async Task Anthropic_sdk_counts_tokens_without_an_upstream_request(string model)
    {
        using var client = fixture.AnthropicSdk();
        var openAiBefore = fixture.OpenAi.RequestCount;
        var anthropicBefore = fixture.Anthropic.RequestCount;

        var shortCount = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = model, Messages = [new UserMessageParam("Hello, Claude")],
        });
        var longCount = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = model,
            System = "You are a meticulous assistant who answers in full sentences.",
            Messages =
            [
                new UserMessageParam("Hello, Claude"),
                new AssistantMessageParam("Hello! How can I help you today?"),
                new UserMessageParam("Tell me, in some detail, how a tokenizer splits a long sentence into tokens."),
            ],
        });

        Assert.True(shortCount.InputTokens > 0, $"count_tokens said {shortCount.InputTokens}");
        Assert.True(longCount.InputTokens > shortCount.InputTokens + 20,
            $"A longer conversation counted {longCount.InputTokens}, the short one {shortCount.InputTokens}.");
        Assert.Equal(openAiBefore, fixture.OpenAi.RequestCount);
        Assert.Equal(anthropicBefore, fixture.Anthropic.RequestCount);
    }
}

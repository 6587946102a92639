using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Router.Actors.Usage;
using Router.Contracts.Chat;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>TPM: the estimate (prompt + max_tokens) is taken at admission and settled to the real usage afterwards.</summary>
[Collection(LimitsCollection.Name)]
public sealed class TokenRateTests
{
    private const string Key = "sk-limits-tpm";
    private const int Tpm = 1000;
    private const int MaxTokens = 100;

    private static JsonObject Router() => SimulatedRouter(new JsonArray { LimitsTestKit.Key("tpm", Key, tpm: Tpm) }, completionTokens: 5);

    /// <summary>Router's own count of the prompt, as admission makes it for the deployment's upstream model.</summary>
    private static int CountedPrompt(string prompt) => new TokenCounter().CountPromptTokens(
        new ChatRequest { Model = Model, Messages = [new ChatMessage(ChatRole.User, prompt)] }, UpstreamModel);

    [Fact]
    public async Task Charges_prompt_plus_max_tokens_at_admission_and_gives_back_what_the_completion_did_not_use()
    {
        await using var node = await StartNodeAsync(Router(), clock: FrozenClock());
        const string prompt = "How many tokens does this question take?";
        var estimate = CountedPrompt(prompt) + MaxTokens;

        using var first = await node.ChatAsync(Key, ChatBody(prompt: prompt, maxTokens: MaxTokens));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(Tpm.ToString(CultureInfo.InvariantCulture), first.Header("x-ratelimit-limit-tokens"));
        // Reported right after admission: the whole estimate is taken.
        Assert.Equal(Tpm - estimate, int.Parse(first.Header("x-ratelimit-remaining-tokens")!, CultureInfo.InvariantCulture));
        var used = (int)(await first.JsonAsync())["usage"]!["total_tokens"]!;
        Assert.True(used < estimate, $"the test needs a completion cheaper than its estimate ({used} vs {estimate})");

        // Reconciled: only what the completion really used stays taken (the clock is frozen, nothing refilled).
        var state = await node.GetKeyAsync(KeyId(Key));
        Assert.Equal(Tpm - used, Long(state["live"]!["tokensRemaining"]));

        using var second = await node.ChatAsync(Key, ChatBody(prompt: prompt, maxTokens: MaxTokens));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(Tpm - used - estimate, int.Parse(second.Header("x-ratelimit-remaining-tokens")!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Refuses_a_prompt_larger_than_the_whole_tpm_as_never_fitting_without_retry_after()
    {
        await using var node = await StartNodeAsync(Router(), clock: FrozenClock());
        var prompt = string.Join(' ', Enumerable.Range(0, 1200).Select(i => $"word{i}"));
        Assert.True(CountedPrompt(prompt) > Tpm, "the prompt alone must exceed the TPM");

        using var response = await node.ChatAsync(Key, ChatBody(prompt: prompt, maxTokens: 1));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Null(response.Header("Retry-After"));
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
        Assert.Contains("never fit", (string)error["message"]!, StringComparison.Ordinal);
        // A refusal takes nothing.
        Assert.Equal(Tpm.ToString(CultureInfo.InvariantCulture), response.Header("x-ratelimit-remaining-tokens"));
        Assert.Equal(Tpm, Long((await node.GetKeyAsync(KeyId(Key)))["live"]!["tokensRemaining"]));
    }

    [Fact]
    public async Task Refuses_with_retry_after_when_the_estimate_fits_the_limit_but_not_what_is_left_this_minute()
    {
        await using var node = await StartNodeAsync(Router(), clock: FrozenClock());
        using var first = await node.ChatAsync(Key, ChatBody(maxTokens: MaxTokens));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var used = (int)(await first.JsonAsync())["usage"]!["total_tokens"]!;

        // Asks for the whole TPM: it could fit one day, but `used` tokens are missing now.
        using var second = await node.ChatAsync(Key, ChatBody(maxTokens: Tpm - CountedPrompt("hello there")));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("rate_limit_exceeded", (string?)(await second.JsonAsync())["error"]!["code"]);
        // The missing tokens refill at TPM per minute; whole seconds round up.
        var expected = Math.Max(1, (int)Math.Ceiling(used * 60.0 / Tpm));
        Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), second.Header("Retry-After"));
        Assert.Equal((Tpm - used).ToString(CultureInfo.InvariantCulture), second.Header("x-ratelimit-remaining-tokens"));
    }
}

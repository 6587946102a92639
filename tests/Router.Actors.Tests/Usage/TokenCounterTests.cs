using Microsoft.ML.Tokenizers;
using Router.Actors.Usage;
using Router.Contracts.Chat;

namespace Router.Actors.Tests.Usage;

public sealed class TokenCounterTests
{
    private static readonly TokenCounter Counter = new();

    private static ChatRequest Request(params ChatMessage[] messages) =>
        new() { Model = "any", Messages = messages };

    private static ChatMessage User(string text) => new(ChatRole.User, text);

    [Theory]
    [InlineData("gpt-4o", TokenEncoding.O200kBase)]
    [InlineData("gpt-4o-mini-2024-07-18", TokenEncoding.O200kBase)]
    [InlineData("GPT-4.1-nano", TokenEncoding.O200kBase)]
    [InlineData("gpt-5", TokenEncoding.O200kBase)]
    [InlineData("o1", TokenEncoding.O200kBase)]
    [InlineData("o3-mini", TokenEncoding.O200kBase)]
    [InlineData("o4-mini", TokenEncoding.O200kBase)]
    [InlineData("chatgpt-4o-latest", TokenEncoding.O200kBase)]
    [InlineData("openai/gpt-4o", TokenEncoding.O200kBase)]
    [InlineData("gpt-4", TokenEncoding.Cl100kBase)]
    [InlineData("gpt-4-turbo", TokenEncoding.Cl100kBase)]
    [InlineData("gpt-3.5-turbo", TokenEncoding.Cl100kBase)]
    [InlineData("text-embedding-3-small", TokenEncoding.Cl100kBase)]
    [InlineData("claude-haiku-4", TokenEncoding.Estimated)]
    [InlineData("gemini-2.5-flash", TokenEncoding.Estimated)]
    [InlineData("deepseek-chat", TokenEncoding.Estimated)]
    [InlineData("simulated", TokenEncoding.Estimated)]
    [InlineData("o100-something", TokenEncoding.Estimated)]
    [InlineData("gpt-40", TokenEncoding.Estimated)]
    [InlineData("", TokenEncoding.Estimated)]
    public void Maps_model_names_to_their_encoding(string model, TokenEncoding expected) =>
        Assert.Equal(expected, TokenCounter.EncodingFor(model));

    [Fact]
    public void Request_without_messages_costs_only_the_reply_priming() =>
        Assert.Equal(TokenCounter.ReplyPrimingTokens, Counter.CountPromptTokens(Request(), "gpt-4o"));

    [Fact]
    public void Empty_message_costs_framing_and_role_only()
    {
        // "user" is a single o200k token: 3 framing + 1 role + 0 content + 3 reply priming.
        Assert.Equal(7, Counter.CountPromptTokens(Request(User("")), "gpt-4o"));
    }

    [Fact]
    public void Counts_short_english_with_the_o200k_tokenizer()
    {
        // "Hello", ",", " world", "!" — checked against o200k_base directly below.
        const string text = "Hello, world!";
        var o200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
        Assert.Equal(4, o200k.CountTokens(text));
        Assert.Equal(1, o200k.CountTokens("user"));

        Assert.Equal(3 + 1 + 4 + 3, Counter.CountPromptTokens(Request(User(text)), "gpt-4o-mini"));
        Assert.Equal(4, Counter.CountText(text, "gpt-4o-mini"));
    }

    [Fact]
    public void Counts_a_fixed_sentence_exactly_as_o200k_does()
    {
        const string text = "The quick brown fox jumps over the lazy dog.";
        var o200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
        Assert.Equal(10, o200k.CountTokens(text));
        Assert.Equal(10, Counter.CountText(text, "gpt-5"));
    }

    [Fact]
    public void Each_message_adds_three_framing_tokens_plus_its_role_and_content()
    {
        var one = Counter.CountPromptTokens(Request(User("Hello, world!")), "gpt-4o");
        var two = Counter.CountPromptTokens(
            Request(new ChatMessage(ChatRole.System, "Be brief."), User("Hello, world!")), "gpt-4o");
        var o200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

        Assert.Equal(TokenCounter.TokensPerMessage + o200k.CountTokens("system") + o200k.CountTokens("Be brief."), two - one);
    }

    [Fact]
    public void Uses_cl100k_for_older_openai_models()
    {
        const string text = "Xin chào thế giới, hôm nay trời đẹp quá! 你好，世界。";
        var cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");
        var o200k = TiktokenTokenizer.CreateForEncoding("o200k_base");
        Assert.NotEqual(cl100k.CountTokens(text), o200k.CountTokens(text)); // the test text tells the encodings apart

        Assert.Equal(cl100k.CountTokens(text), Counter.CountText(text, "gpt-4"));
        Assert.Equal(o200k.CountTokens(text), Counter.CountText(text, "gpt-4o"));
    }

    [Theory]
    [InlineData("claude-haiku-4")]
    [InlineData("gemini-2.5-pro")]
    [InlineData("deepseek-chat")]
    [InlineData("simulated")]
    [InlineData("some-unknown-model")]
    public void Estimates_other_providers_as_o200k_plus_fifteen_percent_rounded_up(string model)
    {
        var request = Request(
            new ChatMessage(ChatRole.System, "You are a helpful assistant."),
            User("Summarise the plot of Hamlet in three sentences, please."));
        var exact = Counter.CountPromptTokens(request, "gpt-4o");
        var estimate = Counter.CountPromptTokens(request, model);

        Assert.True(estimate >= exact, $"estimate {estimate} < o200k count {exact}");
        Assert.Equal((int)Math.Ceiling(exact * 1.15m), estimate);
    }

    [Fact]
    public void Estimate_rounds_up_even_for_a_tiny_prompt() =>
        // 3 reply priming tokens × 1.15 = 3.45 → 4.
        Assert.Equal(4, Counter.CountPromptTokens(Request(), "claude-haiku-4"));

    [Fact]
    public async Task Gives_the_same_counts_from_many_threads()
    {
        var request = Request(User(string.Join(' ', Enumerable.Repeat("concurrency is fun", 50))));
        var expected = Counter.CountPromptTokens(request, "gpt-4o");

        var counts = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            Counter.CountPromptTokens(request, i % 2 == 0 ? "gpt-4o" : "o3-mini"))));

        Assert.All(counts, c => Assert.Equal(expected, c));
    }

    [Theory]
    [InlineData(100, 50, 1000, 150)]
    [InlineData(100, null, 1000, 1100)]
    [InlineData(0, 0, 1000, 0)]
    [InlineData(int.MaxValue, 10, 1000, int.MaxValue)]
    public void Admission_estimate_reserves_prompt_plus_answer_ceiling(int prompt, int? max, int fallback, int expected) =>
        Assert.Equal(expected, TokenCounter.EstimateAdmissionTokens(prompt, max, fallback));

    [Fact]
    public void Admission_estimate_refuses_negative_figures()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenCounter.EstimateAdmissionTokens(-1, null, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenCounter.EstimateAdmissionTokens(1, -5, 10));
    }
}

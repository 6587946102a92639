using Router.Actors.Routing;
using Router.Contracts.Chat;

namespace Router.Actors.Tests.Routing;

public sealed class ComplexityClassifierTests
{
    private static ChatRequest Ask(string text, int messages = 1, int? maxTokens = null)
    {
        var list = new List<ChatMessage>();
        for (var i = 1; i < messages; i++) list.Add(new ChatMessage(i % 2 == 1 ? ChatRole.User : ChatRole.Assistant, "earlier"));
        list.Add(new ChatMessage(ChatRole.User, text));
        return new ChatRequest { Model = "auto", Messages = list, MaxTokens = maxTokens };
    }

    [Fact]
    public void A_short_plain_question_is_simple()
    {
        Assert.Equal(ComplexityTier.Simple, ComplexityClassifier.Classify(Ask("What is the capital of France?"), 12));
    }

    [Theory]
    [InlineData(300, ComplexityTier.Simple)]
    [InlineData(301, ComplexityTier.Standard)]
    [InlineData(2_000, ComplexityTier.Standard)]
    [InlineData(2_001, ComplexityTier.Standard)]
    public void Prompt_length_counts_one_above_300_tokens_and_two_above_2000(int promptTokens, ComplexityTier expected)
    {
        Assert.Equal(expected, ComplexityClassifier.Classify(Ask("hello"), promptTokens));
    }

    [Fact]
    public void A_long_prompt_plus_one_more_signal_is_complex()
    {
        // 2 (length) + 1 (code) = 3.
        Assert.Equal(ComplexityTier.Complex, ComplexityClassifier.Classify(Ask("fix ```x```"), 2_001));
        // 1 (length) + 1 (code) = 2: still standard.
        Assert.Equal(ComplexityTier.Standard, ComplexityClassifier.Classify(Ask("fix ```x```"), 2_000));
    }

    [Theory]
    [InlineData(8, ComplexityTier.Simple)]
    [InlineData(9, ComplexityTier.Standard)]
    public void A_conversation_longer_than_eight_messages_counts_one(int messages, ComplexityTier expected)
    {
        Assert.Equal(expected, ComplexityClassifier.Classify(Ask("and then?", messages), 10));
    }

    [Theory]
    [InlineData(null, ComplexityTier.Simple)]
    [InlineData(2_000, ComplexityTier.Simple)]
    [InlineData(2_001, ComplexityTier.Standard)]
    public void Asking_for_more_than_2000_output_tokens_counts_one(int? maxTokens, ComplexityTier expected)
    {
        Assert.Equal(expected, ComplexityClassifier.Classify(Ask("write", maxTokens: maxTokens), 10));
    }

    [Fact]
    public void A_code_fence_in_the_last_user_message_counts_one()
    {
        Assert.Equal(ComplexityTier.Standard, ComplexityClassifier.Classify(Ask("what does ```print(1)``` do"), 10));
        Assert.Equal(ComplexityTier.Simple, ComplexityClassifier.Classify(Ask("what does `print(1)` do"), 10));
    }

    [Theory]
    [InlineData("Explain it STEP BY STEP", ComplexityTier.Standard)]
    [InlineData("Prove the theorem", ComplexityTier.Standard)] // two markers: prove, theorem
    [InlineData("Analyze the algorithm and refactor it, optimize the trade-off", ComplexityTier.Standard)] // five markers, capped at two
    [InlineData("Hello there", ComplexityTier.Simple)]
    public void Reasoning_words_count_one_each_ignoring_case_at_most_two(string text, ComplexityTier expected)
    {
        Assert.Equal(expected, ComplexityClassifier.Classify(Ask(text), 10));
    }

    [Fact]
    public void Reasoning_words_capped_at_two_plus_code_are_complex()
    {
        Assert.Equal(ComplexityTier.Complex,
            ComplexityClassifier.Classify(Ask("Analyze the algorithm and refactor it: ```code```"), 10));
    }

    [Fact]
    public void Only_the_last_user_message_is_read_for_words_and_code()
    {
        var request = new ChatRequest
        {
            Model = "auto",
            Messages =
            [
                new ChatMessage(ChatRole.System, "You prove theorems step by step. ```rules```"),
                new ChatMessage(ChatRole.User, "Prove this theorem step by step"),
                new ChatMessage(ChatRole.Assistant, "Sure: ```proof```"),
                new ChatMessage(ChatRole.User, "thanks"),
            ],
        };

        Assert.Equal(ComplexityTier.Simple, ComplexityClassifier.Classify(request, 10));
    }

    [Fact]
    public void A_request_without_a_user_message_scores_only_its_size()
    {
        var request = new ChatRequest { Model = "auto", Messages = [new ChatMessage(ChatRole.System, "prove step by step")] };

        Assert.Equal(ComplexityTier.Simple, ComplexityClassifier.Classify(request, 10));
        Assert.Equal(ComplexityTier.Standard, ComplexityClassifier.Classify(request, 2_500));
    }

    [Fact]
    public void Every_signal_at_once_is_complex()
    {
        Assert.Equal(ComplexityTier.Complex,
            ComplexityClassifier.Classify(Ask("Prove it step by step ```x```", messages: 9, maxTokens: 4_000), 3_000));
    }
}

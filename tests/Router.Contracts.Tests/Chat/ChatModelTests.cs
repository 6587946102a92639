using Router.Contracts.Chat;

namespace Router.Contracts.Tests.Chat;

public sealed class ChatModelTests
{
    [Fact]
    public void A_message_of_several_text_parts_reads_as_lines_and_skips_images()
    {
        var message = new ChatMessage(ChatRole.User,
            [new TextPart("first"), new ImagePart { Url = "https://example.com/a.png" }, new TextPart("second")]);

        Assert.Equal("first\nsecond", message.Text);
    }

    [Fact]
    public void A_message_of_one_image_has_no_text()
    {
        Assert.Equal("", new ChatMessage(ChatRole.User, [new ImagePart { Base64Data = "AAAA", MediaType = "image/png" }]).Text);
        Assert.Equal("hello", new ChatMessage(ChatRole.Assistant, "hello").Text);
    }

    [Fact]
    public void An_answer_of_several_text_parts_is_joined_without_separator()
    {
        // Streamed answers arrive in pieces: joining them must not invent line breaks.
        var choice = new ChatChoice(0, [new TextPart("Hel"), new ReasoningPart { Text = "hmm" }, new TextPart("lo")], [], FinishReason.Stop);

        Assert.Equal("Hello", choice.Text);
    }

    [Fact]
    public void A_completion_without_choices_has_empty_content_and_stops()
    {
        var empty = new ChatCompletion("id-1", "gpt-4o-mini", [], new TokenUsage(3, 0));
        var text = new ChatCompletion("id-2", "gpt-4o-mini", "Hi!", FinishReason.Length, new TokenUsage(3, 2));

        Assert.Equal("", empty.Content);
        Assert.Equal(FinishReason.Stop, empty.FinishReason);
        Assert.Equal("Hi!", text.Content);
        Assert.Equal(FinishReason.Length, text.FinishReason);
        Assert.Equal(0, Assert.Single(text.Choices).Index);
    }

    [Fact]
    public void Usage_splits_the_prompt_into_cached_written_and_plain_tokens()
    {
        var usage = new TokenUsage(1_000, 250) { CachedInputTokens = 600, CacheWriteInputTokens = 100, ReasoningTokens = 50 };

        Assert.Equal(1_250, usage.TotalTokens);
        Assert.Equal(300, usage.UncachedInputTokens);
    }

    [Fact]
    public void Uncached_prompt_tokens_never_go_negative_when_an_upstream_over_reports_its_cache()
    {
        Assert.Equal(0, new TokenUsage(100, 0) { CachedInputTokens = 80, CacheWriteInputTokens = 40 }.UncachedInputTokens);
    }

    [Theory]
    [InlineData(WireFormat.OpenAiChat, WireFormat.OpenAiChat, true, true)]
    [InlineData(WireFormat.OpenAiChat, WireFormat.AnthropicMessages, true, false)]
    [InlineData(WireFormat.OpenAiChat, WireFormat.OpenAiChat, false, false)]
    [InlineData(WireFormat.None, WireFormat.None, true, false)]
    public void Passes_through_only_to_an_upstream_of_its_own_wire_and_only_with_a_body(
        WireFormat source, WireFormat upstream, bool hasBody, bool expected)
    {
        var request = new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.User, "hi")],
            Source = source,
            RawBody = hasBody ? """{"model":"m"}"""u8.ToArray() : ReadOnlyMemory<byte>.Empty,
        };

        Assert.Equal(expected, request.IsPassthroughTo(upstream));
    }

    [Fact]
    public void Only_a_preamble_leaves_a_stream_uncommitted()
    {
        Assert.False(new StreamStarted("chatcmpl-1").Commits);
        Assert.False(new RawStreamEvent(WireFormat.AnthropicMessages, "message_start", "{}"u8.ToArray(), IsPreamble: true).Commits);
        Assert.True(new RawStreamEvent(WireFormat.AnthropicMessages, "content_block_delta", "{}"u8.ToArray()).Commits);
        Assert.True(new ContentDelta("").Commits);
        Assert.True(new ReasoningDelta("thinking").Commits);
        Assert.True(new ToolCallStarted(0, "call_1", "get_weather").Commits);
        Assert.True(new ToolCallDelta(0, "{").Commits);
        Assert.True(new StreamFinished(FinishReason.Stop, null).Commits);
    }

    [Fact]
    public void A_request_defaults_to_no_tools_no_unmapped_fields_and_no_wire()
    {
        var request = new ChatRequest { Model = "m", Messages = [] };

        Assert.Empty(request.Tools);
        Assert.Empty(request.UnmappedFields);
        Assert.Equal(WireFormat.None, request.Source);
        Assert.True(request.RawBody.IsEmpty);
        Assert.False(request.Stream);
        Assert.Null(request.MaxTokens);
    }
}

using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Tests.Wire.Anthropic;

public sealed class AnthropicMessageTests
{
    private static JsonElement Write(ChatCompletion completion) =>
        JsonDocument.Parse(GoldenFiles.Write(w => AnthropicWire.WriteMessage(w, "msg_1", "claude", completion))).RootElement;

    [Fact]
    public void An_answer_without_content_still_has_one_empty_text_block()
    {
        var body = Write(new ChatCompletion("c", "m", [new ChatChoice(0, [], [], FinishReason.Stop)], new TokenUsage(3, 0)));

        var block = Assert.Single(body.GetProperty("content").EnumerateArray());
        Assert.Equal("", block.GetProperty("text").GetString());
        Assert.Equal("end_turn", body.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void An_openai_refusal_is_shown_as_text_with_stop_reason_refusal()
    {
        var body = Write(new ChatCompletion("c", "m",
            [new ChatChoice(0, [], [], FinishReason.ContentFilter) { Refusal = "I can't help with that." }], new TokenUsage(3, 4)));

        Assert.Equal("I can't help with that.", body.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("refusal", body.GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Tool_calls_with_empty_arguments_get_an_empty_input_object()
    {
        var body = Write(new ChatCompletion("c", "m",
            [new ChatChoice(0, [new TextPart("")], [new ToolCall("call_1", "now", "")], FinishReason.ToolCalls)], new TokenUsage(3, 4)));

        var block = Assert.Single(body.GetProperty("content").EnumerateArray());
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Object, block.GetProperty("input").ValueKind);
    }

    [Fact]
    public void Tool_calls_whose_arguments_are_not_json_cannot_be_written()
    {
        var completion = new ChatCompletion("c", "m",
            [new ChatChoice(0, [], [new ToolCall("call_1", "now", "{\"a\"")], FinishReason.ToolCalls)], new TokenUsage(3, 4));

        Assert.Throws<InvalidDataException>(() => Write(completion));
    }

    [Fact]
    public void Reports_the_uncached_prompt_beside_cache_reads_and_writes()
    {
        var body = Write(new ChatCompletion("c", "m", "ok", FinishReason.Stop,
            new TokenUsage(1000, 5) { CachedInputTokens = 600, CacheWriteInputTokens = 300 }));

        var usage = body.GetProperty("usage");
        Assert.Equal(100, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(600, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(300, usage.GetProperty("cache_creation_input_tokens").GetInt32());
    }
}

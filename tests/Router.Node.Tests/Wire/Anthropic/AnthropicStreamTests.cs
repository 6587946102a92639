using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Tests.Wire.Anthropic;

public sealed class AnthropicStreamTests
{
    private static readonly ChatRequest Request = new() { Model = "claude-sonnet-4-5", Messages = [new ChatMessage(ChatRole.User, "hi")] };

    private static List<ChatStreamEvent> Read(AnthropicEventReader reader, params (string Type, string Data)[] events)
    {
        var list = new List<ChatStreamEvent>();
        foreach (var (type, data) in events)
        {
            using var doc = JsonDocument.Parse(data);
            reader.Read(type, doc.RootElement, list);
        }
        return list;
    }

    private static (string, string) Start(int index, string block) =>
        ("content_block_start", $$"""{"type":"content_block_start","index":{{index}},"content_block":{{block}}}""");

    private static (string, string) Delta(int index, string delta) =>
        ("content_block_delta", $$"""{"type":"content_block_delta","index":{{index}},"delta":{{delta}}}""");

    [Fact]
    public void Input_json_delta_on_a_text_block_is_malformed()
    {
        var reader = new AnthropicEventReader(Request);

        Assert.Throws<InvalidDataException>(() => Read(reader,
            Start(0, """{"type":"text","text":""}"""),
            Delta(0, """{"type":"input_json_delta","partial_json":"{}"}""")));
    }

    [Fact]
    public void A_delta_for_an_index_that_never_started_is_malformed()
    {
        var reader = new AnthropicEventReader(Request);

        Assert.Throws<InvalidDataException>(() => Read(reader, Delta(3, """{"type":"text_delta","text":"x"}""")));
    }

    [Fact]
    public void Server_tool_blocks_are_skipped_and_tool_calls_count_from_zero_after_them()
    {
        var reader = new AnthropicEventReader(Request);

        var events = Read(reader,
            Start(0, """{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}"""),
            Delta(0, """{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}"""),
            Start(1, """{"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]}"""),
            Start(2, """{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}"""),
            Delta(2, """{"type":"input_json_delta","partial_json":"{}"}"""));

        Assert.Equal<ChatStreamEvent>([new ToolCallStarted(0, "toolu_1", "get_weather"), new ToolCallDelta(0, "{}")], events);
    }

    [Fact]
    public void Reads_redacted_thinking_and_events_whose_name_a_relay_dropped()
    {
        var reader = new AnthropicEventReader(Request);

        var events = Read(reader,
            ("", """{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"cache_creation_input_tokens":7,"output_tokens":1}}}"""),
            Start(0, """{"type":"redacted_thinking","data":"opaque"}"""),
            ("", """{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":9}}"""),
            ("", """{"type":"message_stop"}"""));

        Assert.True(reader.Stopped);
        Assert.Equal("opaque", Assert.IsType<ReasoningDelta>(events[1]).RedactedData);
        var finished = reader.Finish();
        Assert.Equal(FinishReason.ContentFilter, finished.Reason);
        Assert.Equal(new TokenUsage(12, 9) { CacheWriteInputTokens = 7 }, finished.Usage);
    }

    [Fact]
    public void Usage_is_unknown_and_the_stream_open_until_the_upstream_says_otherwise()
    {
        var reader = new AnthropicEventReader(Request);

        Read(reader, ("ping", """{"type":"ping"}"""));

        Assert.False(reader.Stopped);
        Assert.Null(reader.Usage);
    }

    [Fact]
    public void Plain_text_keeps_todays_event_order()
    {
        var sse = Write(new AnthropicEventWriter("msg_1", "m", 7),
            new StreamStarted("up_1"), new ContentDelta("Hel"), new ContentDelta("lo"), new StreamFinished(FinishReason.Stop, null));

        Assert.Equal(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            sse.Select(e => e.Event));
        using var delta = JsonDocument.Parse(sse[6].Data);
        Assert.Equal(7, delta.RootElement.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal("end_turn", delta.RootElement.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void An_answer_without_content_still_gets_one_empty_text_block()
    {
        var sse = Write(new AnthropicEventWriter("msg_1", "m", 7), new StreamFinished(FinishReason.Length, new TokenUsage(10, 0)));

        Assert.Equal(["message_start", "content_block_start", "ping", "content_block_stop", "message_delta", "message_stop"], sse.Select(e => e.Event));
        Assert.Contains("\"stop_reason\":\"max_tokens\"", sse[4].Data, StringComparison.Ordinal);
    }

    [Fact]
    public void Thinking_after_a_signature_and_redacted_thinking_each_get_their_own_block()
    {
        var sse = Write(new AnthropicEventWriter("msg_1", "m", 7),
            new ReasoningDelta("a"), new ReasoningDelta(null, "sig"), new ReasoningDelta("b"),
            new ReasoningDelta(null) { RedactedData = "opaque" }, new ContentDelta("done"),
            new StreamFinished(FinishReason.Stop, null) { StopSequence = "END" });

        var starts = sse.Where(e => e.Event == "content_block_start").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.Equal(["thinking", "thinking", "redacted_thinking", "text"], starts.Select(s => s.GetProperty("content_block").GetProperty("type").GetString()));
        Assert.Equal([0, 1, 2, 3], starts.Select(s => s.GetProperty("index").GetInt32()));
        Assert.Equal(4, sse.Count(e => e.Event == "content_block_stop"));
        Assert.Contains("\"stop_sequence\":\"END\"", sse[^2].Data, StringComparison.Ordinal);
        Assert.Contains("\"stop_reason\":\"stop_sequence\"", sse[^2].Data, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_for_a_tool_call_that_is_not_the_open_block_are_refused()
    {
        var writer = new AnthropicEventWriter("msg_1", "m", 7);
        var output = new ArrayBufferWriter<byte>();
        writer.Write(new ToolCallStarted(0, "call_1", "a"), output);
        writer.Write(new ToolCallStarted(1, "call_2", "b"), output);

        Assert.Throws<InvalidDataException>(() => writer.Write(new ToolCallDelta(0, "{}"), output));
    }

    [Fact]
    public void Errors_are_written_in_anthropic_shape()
    {
        var output = new ArrayBufferWriter<byte>();

        new AnthropicEventWriter("msg_1", "m", 7).WriteError("overloaded_error", "Overloaded", output);

        Assert.Equal("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Non_ascii_text_is_written_as_is()
    {
        var sse = Write(new AnthropicEventWriter("msg_1", "m", 7), new ContentDelta("Grüße <3 & 日本"));

        Assert.Contains("Grüße <3 & 日本", sse[3].Data, StringComparison.Ordinal);
    }

    private static List<(string Event, string Data)> Write(AnthropicEventWriter writer, params ChatStreamEvent[] events)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        return GoldenFiles.ParseSse(Encoding.UTF8.GetString(output.WrittenSpan));
    }
}

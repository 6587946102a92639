using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Responses;
using static Router.Node.Tests.Wire.Responses.WireGolden;

namespace Router.Node.Tests.Wire.Responses;

public sealed class ResponsesStreamTests
{
    private static ChatRequest Request(string json = """{"model":"m","input":"hi","stream":true}""")
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return ResponsesWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes);
    }

    private static List<SseEvent> Stream(ChatRequest request, params ChatStreamEvent[] events)
    {
        var writer = new ResponsesEventWriter("resp_abc", 1700000000, "claude-haiku", request);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        return ParseSse(Encoding.UTF8.GetString(output.WrittenSpan));
    }

    private static JsonElement Data(SseEvent e) => JsonDocument.Parse(e.Data).RootElement;

    [Fact]
    public void Opens_a_new_message_item_for_text_after_a_tool_call()
    {
        var events = Stream(Request(),
            new ContentDelta("Let me check."), new ToolCallStarted(0, "toolu_1", "weather"), new ToolCallDelta(0, "{}"),
            new ContentDelta("Done."), new StreamFinished(FinishReason.ToolCalls, new TokenUsage(10, 5)));

        var added = events.Where(e => e.Event == "response.output_item.added").Select(Data).ToList();
        Assert.Equal([0, 1, 2], added.Select(a => a.GetProperty("output_index").GetInt32()));
        Assert.Equal(["message", "function_call", "message"], added.Select(a => a.GetProperty("item").GetProperty("type").GetString()));
        Assert.Equal(["msg_abc_0", "fc_abc_1", "msg_abc_2"], added.Select(a => a.GetProperty("item").GetProperty("id").GetString()));
        var completed = Data(events[^1]).GetProperty("response");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.Equal(3, completed.GetProperty("output").GetArrayLength());
    }

    [Fact]
    public void Numbers_every_event_in_order_from_zero()
    {
        var events = Stream(Request(), new ContentDelta("Hi"), new StreamFinished(FinishReason.Stop, null));

        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => Data(e).GetProperty("sequence_number").GetInt32()));
        Assert.Equal(events.Select(e => e.Event), events.Select(e => Data(e).GetProperty("type").GetString()));
        Assert.Equal(JsonValueKind.Null, Data(events[^1]).GetProperty("response").GetProperty("usage").ValueKind);
    }

    [Fact]
    public void Gives_an_empty_answer_one_empty_message_in_both_forms()
    {
        var request = Request();
        var events = Stream(request, new StreamFinished(FinishReason.Stop, new TokenUsage(3, 0)));
        var completion = new ChatCompletion("x", "claude-haiku", "", FinishReason.Stop, new TokenUsage(3, 0));

        var whole = WriteJson(w => ResponsesWire.WriteResponse(w, "resp_abc", 1700000000, "claude-haiku", completion, request));

        var streamed = Data(events[^1]).GetProperty("response");
        Assert.Equal(Normalize(whole), Normalize(streamed.GetRawText()));
        Assert.Equal("", streamed.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void Ends_a_cut_off_answer_with_response_incomplete()
    {
        var events = Stream(Request(), new ContentDelta("The sea"), new StreamFinished(FinishReason.Length, new TokenUsage(3, 16)));

        Assert.Equal("response.incomplete", events[^1].Event);
        var response = Data(events[^1]).GetProperty("response");
        Assert.Equal("incomplete", response.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", response.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("incomplete", response.GetProperty("output")[0].GetProperty("status").GetString());
    }

    [Fact]
    public void Refuses_arguments_for_a_call_that_is_no_longer_open()
    {
        var writer = new ResponsesEventWriter("resp_abc", 1, "m", Request());
        var output = new ArrayBufferWriter<byte>();
        writer.Write(new ToolCallStarted(0, "a", "f"), output);
        writer.Write(new ToolCallStarted(1, "b", "f"), output);

        Assert.Throws<InvalidOperationException>(() => writer.Write(new ToolCallDelta(0, "{}"), output));
    }

    [Fact]
    public void Writes_an_error_event_that_continues_the_numbering()
    {
        var writer = new ResponsesEventWriter("resp_abc", 1, "m", Request());
        var output = new ArrayBufferWriter<byte>();
        writer.Write(new ContentDelta("Hi"), output);
        writer.WriteError("server_error", "The upstream failed.", output);

        var events = ParseSse(Encoding.UTF8.GetString(output.WrittenSpan));
        var error = Data(events[^1]);
        Assert.Equal("error", events[^1].Event);
        Assert.Equal(("server_error", "The upstream failed."), (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        Assert.Equal(events.Count - 1, error.GetProperty("sequence_number").GetInt32());
    }

    [Fact]
    public void Writes_nothing_for_the_upstream_id_or_reasoning()
    {
        Assert.Empty(Stream(Request(), new StreamStarted("msg_01"), new ReasoningDelta("thinking…")));
    }

    [Fact]
    public void Echoes_instructions_metadata_and_settings_and_says_it_stored_nothing()
    {
        var request = Request("""
            {"model":"m","instructions":"Be brief.","input":"hi","metadata":{"team":"blue"},"store":true,"temperature":0.2,
             "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"tool_choice":"required","parallel_tool_calls":false}
            """);
        var completion = new ChatCompletion("x", "m", [new ChatChoice(0, [], [new ToolCall("call_1", "f", "{}")], FinishReason.ToolCalls)], new TokenUsage(5, 2));

        var r = JsonDocument.Parse(WriteJson(w => ResponsesWire.WriteResponse(w, "resp_1", 1, "m", completion, request))).RootElement;

        Assert.Equal("Be brief.", r.GetProperty("instructions").GetString());
        Assert.Equal("blue", r.GetProperty("metadata").GetProperty("team").GetString());
        Assert.False(r.GetProperty("store").GetBoolean());
        Assert.Equal(0.2, r.GetProperty("temperature").GetDouble());
        Assert.Equal("required", r.GetProperty("tool_choice").GetString());
        Assert.False(r.GetProperty("parallel_tool_calls").GetBoolean());
        var call = Assert.Single(r.GetProperty("output").EnumerateArray());
        Assert.Equal(("function_call", "call_1", "fc_1_0"), (call.GetProperty("type").GetString(), call.GetProperty("call_id").GetString(), call.GetProperty("id").GetString()));
    }

    [Fact]
    public void Reads_a_refusal_from_an_upstream_response()
    {
        var c = ResponsesWire.ParseResponse(JsonDocument.Parse("""
            {"id":"resp_1","model":"gpt","status":"completed","output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't help with that."}]}]}
            """).RootElement);

        Assert.Equal("I can't help with that.", c.Choices[0].Refusal);
        Assert.Equal("", c.Content);
    }

    [Theory]
    [InlineData("response.created", """{"type":"response.created","response":"resp_1"}""")]
    [InlineData("response.output_text.delta", """{"type":"response.output_text.delta","delta":5}""")]
    [InlineData("response.function_call_arguments.delta", """{"type":"response.function_call_arguments.delta","output_index":3,"delta":"{"}""")]
    [InlineData("response.completed", """{"type":"response.completed","response":{"usage":{"input_tokens":"many"}}}""")]
    [InlineData("response.created", "[]")]
    public void Rejects_malformed_upstream_events(string type, string data)
    {
        var reader = new ResponsesEventReader();

        Assert.Throws<InvalidDataException>(() => reader.Read(type, JsonDocument.Parse(data).RootElement, []));
    }

    [Fact]
    public void Finishes_a_stream_cut_before_its_final_event_with_what_it_saw()
    {
        var reader = new ResponsesEventReader();
        var events = new List<ChatStreamEvent>();
        reader.Read("", JsonDocument.Parse("""
            {"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}
            """).RootElement, events);

        Assert.False(reader.Completed);
        Assert.Equal(new ToolCallStarted(0, "call_1", "f"), Assert.Single(events));
        Assert.Equal(new StreamFinished(FinishReason.ToolCalls, null), reader.Finish());
    }
}

using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.OpenAi;

namespace Router.Node.Tests.Wire.OpenAi;

public sealed class OpenAiStreamTests
{
    private static List<ChatStreamEvent> ReadAll(OpenAiChunkReader reader, params string[] chunks)
    {
        var events = new List<ChatStreamEvent>();
        foreach (var c in chunks)
        {
            using var doc = JsonDocument.Parse(c);
            reader.Read(doc.RootElement, events);
        }
        return events;
    }

    private static string Chunk(string delta, string finish = "null") =>
        $$$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{{{delta}}},"logprobs":null,"finish_reason":{{{finish}}}}]}""";

    private static string WriteAll(OpenAiChunkWriter writer, params ChatStreamEvent[] events)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        writer.WriteDone(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Starts_with_the_upstream_id_once_and_skips_empty_content()
    {
        var reader = new OpenAiChunkReader();

        var events = ReadAll(reader, Chunk("""{"role":"assistant","content":""}"""), Chunk("""{"content":"Hi"}"""), Chunk("{}", "\"length\""));

        Assert.Equal([new StreamStarted("chatcmpl-1"), new ContentDelta("Hi")], events);
        Assert.True(reader.SawFinishReason);
        Assert.Equal(new StreamFinished(FinishReason.Length, null), reader.Finish());
    }

    [Fact]
    public void Reports_no_finish_reason_for_a_stream_cut_short()
    {
        var reader = new OpenAiChunkReader();

        ReadAll(reader, Chunk("""{"content":"Hi"}"""));

        Assert.False(reader.SawFinishReason);
    }

    [Fact]
    public void Reads_usage_with_cached_and_reasoning_tokens_from_the_last_chunk()
    {
        var reader = new OpenAiChunkReader();

        ReadAll(reader, Chunk("{}", "\"stop\""), """
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],
             "usage":{"prompt_tokens":2000,"completion_tokens":300,"total_tokens":2300,
                      "prompt_tokens_details":{"cached_tokens":1536},"completion_tokens_details":{"reasoning_tokens":256}}}
            """);

        var expected = new TokenUsage(2000, 300) { CachedInputTokens = 1536, ReasoningTokens = 256 };
        Assert.Equal(expected, reader.Usage);
        Assert.Equal(new StreamFinished(FinishReason.Stop, expected), reader.Finish());
    }

    [Fact]
    public void Reads_only_the_first_choice_of_a_multi_choice_stream()
    {
        var events = ReadAll(new OpenAiChunkReader(),
            """{"id":"c","choices":[{"index":1,"delta":{"content":"second"},"finish_reason":null},{"index":0,"delta":{"content":"first"},"finish_reason":null}]}""");

        Assert.Equal([new StreamStarted("c"), new ContentDelta("first")], events);
    }

    [Fact]
    public void Relays_a_streamed_refusal_as_text()
    {
        var events = ReadAll(new OpenAiChunkReader(), Chunk("""{"refusal":"I can't help with that."}"""));

        Assert.Contains(new ContentDelta("I can't help with that."), events);
    }

    [Fact]
    public void Numbers_tool_calls_in_the_order_they_start_whatever_the_upstream_index()
    {
        var events = ReadAll(new OpenAiChunkReader(),
            Chunk("""{"tool_calls":[{"index":3,"id":"call_a","type":"function","function":{"name":"a","arguments":"{\"x\""}}]}"""),
            Chunk("""{"tool_calls":[{"index":7,"id":"call_b","type":"function","function":{"name":"b","arguments":""}}]}"""),
            Chunk("""{"tool_calls":[{"index":3,"function":{"arguments":":1}"}}]}"""));

        Assert.Equal(
        [
            new StreamStarted("chatcmpl-1"),
            new ToolCallStarted(0, "call_a", "a"), new ToolCallDelta(0, "{\"x\""),
            new ToolCallStarted(1, "call_b", "b"),
            new ToolCallDelta(0, ":1}"),
        ], events);
    }

    [Fact]
    public void Throws_on_arguments_for_a_tool_call_never_started()
    {
        var reader = new OpenAiChunkReader();

        Assert.Throws<InvalidDataException>(() => ReadAll(reader, Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}""")));
    }

    [Fact]
    public void Throws_on_a_new_tool_call_without_id_or_name()
    {
        Assert.Throws<InvalidDataException>(() => ReadAll(new OpenAiChunkReader(),
            Chunk("""{"tool_calls":[{"index":0,"type":"function","function":{"name":"f","arguments":""}}]}""")));
        Assert.Throws<InvalidDataException>(() => ReadAll(new OpenAiChunkReader(),
            Chunk("""{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"arguments":""}}]}""")));
    }

    [Fact]
    public void Writes_a_text_stream_exactly_as_todays_ingress_does()
    {
        var sse = WriteAll(new OpenAiChunkWriter("chatcmpl-r", 1700000000, "gpt-4o", includeUsage: true),
            new StreamStarted("upstream-id"), new ContentDelta("Hel"), new ReasoningDelta("hmm"), new ContentDelta("lo"),
            new StreamFinished(FinishReason.Stop, new TokenUsage(5, 2)));

        const string head = "\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\"";
        Assert.Equal(
            "data: {" + head + ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n" +
            "data: {" + head + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n" +
            "data: {" + head + ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n" +
            "data: {" + head + ",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n" +
            "data: [DONE]\n\n",
            sse);
    }

    [Fact]
    public void Writes_no_usage_chunk_unless_the_client_asked()
    {
        var sse = WriteAll(new OpenAiChunkWriter("c", 1, "m", includeUsage: false),
            new ContentDelta("x"), new StreamFinished(FinishReason.Stop, new TokenUsage(5, 2)));

        Assert.DoesNotContain("usage", sse);
        Assert.EndsWith("\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", sse);
    }

    [Fact]
    public void Gives_the_role_to_the_finish_chunk_of_an_empty_answer()
    {
        var sse = WriteAll(new OpenAiChunkWriter("c", 1, "m", includeUsage: false), new StreamFinished(FinishReason.ContentFilter, null));

        Assert.Contains("\"delta\":{\"role\":\"assistant\"},\"logprobs\":null,\"finish_reason\":\"content_filter\"", sse);
    }
}

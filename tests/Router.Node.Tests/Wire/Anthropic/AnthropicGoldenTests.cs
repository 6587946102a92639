using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Tests.Wire.Anthropic;

/// <summary>
/// Table-driven golden cases built from Anthropic's documented examples. Adding a case is adding files:
/// <c>requests/x.client.json</c> (+ <c>x.canonical.json</c>, <c>x.upstream.json</c>);
/// <c>responses/x.upstream.json</c> (+ <c>x.canonical.json</c>, <c>x.client.json</c>);
/// <c>streams/x.upstream.sse</c> (+ <c>x.canonical.json</c>, <c>x.client.sse</c>). A <c>x.response_format.json</c>
/// (<c>{"name","schema"}</c>) beside an answer or a stream says the request asked for that JSON schema.
/// </summary>
public sealed class AnthropicGoldenTests
{
    private const string UpstreamModel = "claude-sonnet-4-5-20250929";

    public static TheoryData<string> RequestCases => GoldenFiles.Cases("requests", ".client.json");
    public static TheoryData<string> ResponseCases => GoldenFiles.Cases("responses", ".upstream.json");
    public static TheoryData<string> StreamCases => GoldenFiles.Cases("streams", ".upstream.sse");

    [Theory]
    [MemberData(nameof(RequestCases))]
    public void Client_request_maps_to_canonical_and_to_the_upstream_body(string name)
    {
        var raw = Encoding.UTF8.GetBytes(GoldenFiles.Read("requests", name + ".client.json"));
        using var doc = JsonDocument.Parse(raw);

        var request = AnthropicWire.ParseRequest(doc.RootElement, raw);

        Assert.Equal(WireFormat.AnthropicMessages, request.Source);
        Assert.True(request.RawBody.Span.SequenceEqual(raw));
        GoldenFiles.AssertJson("requests", name + ".canonical.json", GoldenFiles.Canonical(request));
        var translated = request with { Source = WireFormat.None, UnmappedFields = [] };
        Assert.Null(AnthropicWire.Unsupported(translated));
        GoldenFiles.AssertJson("requests", name + ".upstream.json",
            GoldenFiles.Write(w => AnthropicWire.WriteRequest(w, translated, UpstreamModel, request.Stream, 4096)));
    }

    [Theory]
    [MemberData(nameof(ResponseCases))]
    public void Upstream_answer_maps_to_canonical_and_to_the_client_message(string name)
    {
        var request = ContextRequest("responses", name);
        using var doc = JsonDocument.Parse(GoldenFiles.Read("responses", name + ".upstream.json"));

        var completion = AnthropicWire.ParseMessage(doc.RootElement, request);

        GoldenFiles.AssertJson("responses", name + ".canonical.json", GoldenFiles.Canonical(completion));
        GoldenFiles.AssertJson("responses", name + ".client.json",
            GoldenFiles.Write(w => AnthropicWire.WriteMessage(w, completion.Id, completion.Model, completion)));
    }

    [Theory]
    [MemberData(nameof(StreamCases))]
    public void Upstream_event_stream_maps_to_canonical_events_and_to_the_client_stream(string name)
    {
        var request = ContextRequest("streams", name);
        var reader = new AnthropicEventReader(request);
        var events = new List<ChatStreamEvent>();
        foreach (var (type, data) in GoldenFiles.ParseSse(GoldenFiles.Read("streams", name + ".upstream.sse")))
        {
            using var doc = JsonDocument.Parse(data);
            reader.Read(type, doc.RootElement, events);
        }
        Assert.True(reader.Stopped);
        events.Add(reader.Finish());

        GoldenFiles.AssertJson("streams", name + ".canonical.json", GoldenFiles.Canonical(events));
        var id = events.OfType<StreamStarted>().Single().Id;
        var writer = new AnthropicEventWriter(id, UpstreamModel, promptTokens: 25);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        GoldenFiles.AssertSse("streams", name + ".client.sse", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Json_schema_response_format_becomes_a_forced_tool_named_after_the_schema()
    {
        var request = new ChatRequest
        {
            Model = "claude-sonnet-4-5",
            Source = WireFormat.OpenAiChat,
            Messages =
            [
                new ChatMessage(ChatRole.System, "Extract the event."),
                new ChatMessage(ChatRole.User, "Alice and Bob are going to a science fair on Friday."),
            ],
            ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema)
            {
                Name = "calendar_event",
                Strict = true,
                SchemaJson = """{"type":"object","properties":{"name":{"type":"string"},"date":{"type":"string"},"participants":{"type":"array","items":{"type":"string"}}},"required":["name","date","participants"],"additionalProperties":false}""",
            },
            MaxTokens = 512,
        };

        Assert.Null(AnthropicWire.Unsupported(request));
        GoldenFiles.AssertJson("translated", "json-schema.upstream.json",
            GoldenFiles.Write(w => AnthropicWire.WriteRequest(w, request, UpstreamModel, stream: false, 4096)));
    }

    [Fact]
    public void Json_object_response_format_becomes_a_forced_tool_with_an_object_schema()
    {
        var request = new ChatRequest
        {
            Model = "claude-sonnet-4-5",
            Source = WireFormat.OpenAiChat,
            Messages = [new ChatMessage(ChatRole.User, "List three colours as JSON.")],
            ResponseFormat = ResponseFormat.JsonObject,
        };

        GoldenFiles.AssertJson("translated", "json-object.upstream.json",
            GoldenFiles.Write(w => AnthropicWire.WriteRequest(w, request, UpstreamModel, stream: true, 4096)));
    }

    [Fact]
    public void Openai_tool_loop_becomes_one_user_turn_of_tool_results_with_the_following_text()
    {
        var request = new ChatRequest
        {
            Model = "claude-sonnet-4-5",
            Source = WireFormat.OpenAiChat,
            Messages =
            [
                new ChatMessage(ChatRole.System, "You are terse."),
                new ChatMessage(ChatRole.User, "Weather in Paris and Tokyo?"),
                new ChatMessage(ChatRole.Assistant, [])
                {
                    ToolCalls = [new ToolCall("call_1", "get_weather", """{"city":"Paris"}"""), new ToolCall("call_2", "get_weather", "")],
                },
                new ChatMessage(ChatRole.Tool, "18C") { ToolCallId = "call_1" },
                new ChatMessage(ChatRole.Tool, "timeout") { ToolCallId = "call_2", IsError = true },
                new ChatMessage(ChatRole.User, [new TextPart("Also: what should I pack?"), new ImagePart { Url = "https://example.com/bag.png", Detail = "high" }]),
            ],
            Tools = [new ToolDefinition("get_weather", "Weather by city", """{"properties":{"city":{"type":"string"}}}""") { Strict = true }],
            ToolChoice = ToolChoice.Required,
            ParallelToolCalls = false,
            Reasoning = new ReasoningSettings { Effort = "minimal" },
            Temperature = 0.2,
            Stop = ["END"],
            User = "user-42",
            MaxTokens = 300,
        };

        Assert.Null(AnthropicWire.Unsupported(request));
        GoldenFiles.AssertJson("translated", "openai-tool-loop.upstream.json",
            GoldenFiles.Write(w => AnthropicWire.WriteRequest(w, request, UpstreamModel, stream: false, 4096)));
    }

    private static ChatRequest ContextRequest(string folder, string name)
    {
        ResponseFormat? format = null;
        if (GoldenFiles.Exists(folder, name + ".response_format.json"))
        {
            using var doc = JsonDocument.Parse(GoldenFiles.Read(folder, name + ".response_format.json"));
            format = new ResponseFormat(ResponseFormatKind.JsonSchema)
            {
                Name = doc.RootElement.GetProperty("name").GetString(),
                SchemaJson = doc.RootElement.GetProperty("schema").GetRawText(),
            };
        }
        return new ChatRequest
        {
            Model = "claude-sonnet-4-5",
            Messages = [new ChatMessage(ChatRole.User, "Hello")],
            ResponseFormat = format,
        };
    }
}

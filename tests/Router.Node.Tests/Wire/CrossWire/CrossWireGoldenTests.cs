using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Ingress;
using Router.Node.Tests.Wire.Responses;
using Router.Node.Wire;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.OpenAi;
using Router.Node.Wire.Responses;

namespace Router.Node.Tests.Wire.CrossWire;

/// <summary>
/// What a client of one wire sends and receives when its model is served by an upstream of another wire, end to end
/// through the translators, as golden files under <c>Wire/Golden/cross/&lt;direction&gt;/&lt;case&gt;/</c> (see the
/// README there). Each direction has three table-driven tests: the request (or the 400 that refuses it), the JSON
/// answer, and the recorded upstream stream. Adding a case is adding a folder.
/// </summary>
/// <remarks>
/// The chain of calls is the one the ingresses and upstream clients make: refusal is
/// <c>WireRefusals.Unmapped ?? &lt;Upstream&gt;Wire.Unsupported</c>, answers are written with the client's requested
/// model and Router's own ids. <c>ROUTER_UPDATE_GOLDEN=1</c> writes missing or differing expected files.
/// </remarks>
public sealed class CrossWireGoldenTests
{
    private const string OpenAiToAnthropic = "cross/openai-to-anthropic";
    private const string AnthropicToOpenAi = "cross/anthropic-to-openai";
    private const string ResponsesToAnthropic = "cross/responses-to-anthropic";

    private const string ClientRequest = "client-request.json";
    private const string UpstreamRequest = "upstream-request.json";
    private const string Refusal = "refusal.json";
    private const string UpstreamResponse = "upstream-response.json";
    private const string ClientResponse = "client-response.json";
    private const string UpstreamStream = "upstream-stream.sse";
    private const string ClientStream = "client-stream.sse";

    /// <summary>The deployment's model names: what the upstream is asked for.</summary>
    private const string AnthropicModel = "claude-sonnet-4-5-20250929";
    private const string OpenAiModel = "gpt-4o-2024-08-06";

    /// <summary>max_tokens Router sends to Anthropic when the client set none (the configuration's default).</summary>
    private const int DefaultMaxTokens = 1024;

    /// <summary>Router's ids and clock for the answers it writes.</summary>
    private const string ChatId = "chatcmpl-router-0001";
    private const string MessageId = "msg_router_0001";
    private const string ResponseId = "resp_router_0001";
    private const long Created = 1767225600;

    /// <summary>Router's own count of the prompt, which a translated Anthropic stream announces in message_start.</summary>
    private const int RouterPromptTokens = 25;

    public static TheoryData<string> OpenAiToAnthropicRequests => WireGolden.Cases(OpenAiToAnthropic, ClientRequest);
    public static TheoryData<string> OpenAiToAnthropicResponses => WireGolden.Cases(OpenAiToAnthropic, ClientRequest, UpstreamResponse);
    public static TheoryData<string> OpenAiToAnthropicStreams => WireGolden.Cases(OpenAiToAnthropic, ClientRequest, UpstreamStream);
    public static TheoryData<string> AnthropicToOpenAiRequests => WireGolden.Cases(AnthropicToOpenAi, ClientRequest);
    public static TheoryData<string> AnthropicToOpenAiResponses => WireGolden.Cases(AnthropicToOpenAi, ClientRequest, UpstreamResponse);
    public static TheoryData<string> AnthropicToOpenAiStreams => WireGolden.Cases(AnthropicToOpenAi, ClientRequest, UpstreamStream);
    public static TheoryData<string> ResponsesToAnthropicRequests => WireGolden.Cases(ResponsesToAnthropic, ClientRequest);
    public static TheoryData<string> ResponsesToAnthropicResponses => WireGolden.Cases(ResponsesToAnthropic, ClientRequest, UpstreamResponse);
    public static TheoryData<string> ResponsesToAnthropicStreams => WireGolden.Cases(ResponsesToAnthropic, ClientRequest, UpstreamStream);

    // --- OpenAI Chat Completions client, Anthropic Messages upstream ---

    [Theory]
    [MemberData(nameof(OpenAiToAnthropicRequests))]
    public void OpenAi_chat_request_becomes_the_anthropic_request_or_a_400(string @case)
    {
        var request = ReadRequest(OpenAiToAnthropic, @case, OpenAiChatWire.ParseRequest);
        AssertTranslatedOrRefused(OpenAiToAnthropic, @case,
            WireRefusals.Unmapped(request, "Anthropic") ?? AnthropicWire.Unsupported(request),
            w => AnthropicWire.WriteRequest(w, request, AnthropicModel, request.Stream, DefaultMaxTokens));
    }

    [Theory]
    [MemberData(nameof(OpenAiToAnthropicResponses))]
    public void Anthropic_message_becomes_the_openai_chat_completion(string @case)
    {
        var request = ReadRequest(OpenAiToAnthropic, @case, OpenAiChatWire.ParseRequest);
        var completion = WithUpstreamJson(OpenAiToAnthropic, @case, root => AnthropicWire.ParseMessage(root, request));

        WireGolden.AssertJson(OpenAiToAnthropic, @case, ClientResponse,
            WireGolden.WriteJson(w => OpenAiChatWire.WriteCompletion(w, ChatId, Created, request.Model, completion)));
    }

    [Theory]
    [MemberData(nameof(OpenAiToAnthropicStreams))]
    public void Anthropic_event_stream_becomes_openai_chat_chunks(string @case)
    {
        var request = ReadRequest(OpenAiToAnthropic, @case, OpenAiChatWire.ParseRequest);
        var events = ReadAnthropicStream(OpenAiToAnthropic, @case, request);

        var writer = new OpenAiChunkWriter(ChatId, Created, request.Model, request.IncludeUsage);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        writer.WriteDone(output);

        WireGolden.AssertSse(OpenAiToAnthropic, @case, ClientStream, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    // --- Anthropic Messages client, OpenAI Chat Completions upstream ---

    [Theory]
    [MemberData(nameof(AnthropicToOpenAiRequests))]
    public void Anthropic_request_becomes_the_openai_chat_request_or_a_400(string @case)
    {
        var request = ReadRequest(AnthropicToOpenAi, @case, AnthropicWire.ParseRequest);
        AssertTranslatedOrRefused(AnthropicToOpenAi, @case,
            WireRefusals.Unmapped(request, "OpenAI") ?? OpenAiChatWire.Unsupported(request),
            w => OpenAiChatWire.WriteRequest(w, request, OpenAiModel, request.Stream));
    }

    [Theory]
    [MemberData(nameof(AnthropicToOpenAiResponses))]
    public void OpenAi_chat_completion_becomes_the_anthropic_message(string @case)
    {
        var request = ReadRequest(AnthropicToOpenAi, @case, AnthropicWire.ParseRequest);
        var completion = WithUpstreamJson(AnthropicToOpenAi, @case, OpenAiChatWire.ParseCompletion);

        WireGolden.AssertJson(AnthropicToOpenAi, @case, ClientResponse,
            WireGolden.WriteJson(w => AnthropicWire.WriteMessage(w, MessageId, request.Model, completion)));
    }

    [Theory]
    [MemberData(nameof(AnthropicToOpenAiStreams))]
    public void OpenAi_chat_chunks_become_the_anthropic_event_stream(string @case)
    {
        var request = ReadRequest(AnthropicToOpenAi, @case, AnthropicWire.ParseRequest);
        var events = ReadOpenAiStream(AnthropicToOpenAi, @case);

        var writer = new AnthropicEventWriter(MessageId, request.Model, RouterPromptTokens);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);

        WireGolden.AssertSse(AnthropicToOpenAi, @case, ClientStream, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    // --- OpenAI Responses client, Anthropic Messages upstream ---

    [Theory]
    [MemberData(nameof(ResponsesToAnthropicRequests))]
    public void Responses_request_becomes_the_anthropic_request_or_a_400(string @case)
    {
        var request = ReadRequest(ResponsesToAnthropic, @case, ResponsesWire.ParseRequest);
        AssertTranslatedOrRefused(ResponsesToAnthropic, @case,
            WireRefusals.Unmapped(request, "Anthropic") ?? AnthropicWire.Unsupported(request),
            w => AnthropicWire.WriteRequest(w, request, AnthropicModel, request.Stream, DefaultMaxTokens));
    }

    [Theory]
    [MemberData(nameof(ResponsesToAnthropicResponses))]
    public void Anthropic_message_becomes_the_responses_response(string @case)
    {
        var request = ReadRequest(ResponsesToAnthropic, @case, ResponsesWire.ParseRequest);
        var completion = WithUpstreamJson(ResponsesToAnthropic, @case, root => AnthropicWire.ParseMessage(root, request));

        WireGolden.AssertJson(ResponsesToAnthropic, @case, ClientResponse,
            WireGolden.WriteJson(w => ResponsesWire.WriteResponse(w, ResponseId, Created, request.Model, completion, request)));
    }

    [Theory]
    [MemberData(nameof(ResponsesToAnthropicStreams))]
    public void Anthropic_event_stream_becomes_the_responses_event_stream(string @case)
    {
        var request = ReadRequest(ResponsesToAnthropic, @case, ResponsesWire.ParseRequest);
        var events = ReadAnthropicStream(ResponsesToAnthropic, @case, request);

        var writer = new ResponsesEventWriter(ResponseId, Created, request.Model, request);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);

        WireGolden.AssertSse(ResponsesToAnthropic, @case, ClientStream, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    // --- plumbing ---

    private static ChatRequest ReadRequest(string direction, string @case, Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> parse)
    {
        var bytes = WireGolden.ReadBytes(direction, @case, ClientRequest);
        using var doc = JsonDocument.Parse(bytes);
        return parse(doc.RootElement, bytes);
    }

    private static ChatCompletion WithUpstreamJson(string direction, string @case, Func<JsonElement, ChatCompletion> parse)
    {
        using var doc = JsonDocument.Parse(WireGolden.ReadBytes(direction, @case, UpstreamResponse));
        return parse(doc.RootElement);
    }

    /// <summary>A case holds the translated request or the 400 that refuses it, never both.</summary>
    private static void AssertTranslatedOrRefused(string direction, string @case, RouterException? refusal, Action<Utf8JsonWriter> write)
    {
        if (refusal is null)
        {
            Assert.False(WireGolden.Exists(direction, @case, Refusal), $"{@case}: expected a 400, but the request was translated.");
            WireGolden.AssertJson(direction, @case, UpstreamRequest, WireGolden.WriteJson(write));
            return;
        }
        Assert.False(WireGolden.Exists(direction, @case, UpstreamRequest), $"{@case}: expected a translation, but got 400 '{refusal.Param}': {refusal.Message}");
        var body = new JsonObject
        {
            ["status"] = ErrorMapping.HttpStatus(refusal.Code),
            ["param"] = refusal.Param,
            ["message"] = refusal.Message,
        };
        WireGolden.AssertJson(direction, @case, Refusal, body.ToJsonString());
    }

    /// <summary>Feeds a recorded Anthropic SSE stream through <see cref="AnthropicEventReader"/> as the upstream client does.</summary>
    private static List<ChatStreamEvent> ReadAnthropicStream(string direction, string @case, ChatRequest request)
    {
        var reader = new AnthropicEventReader(request);
        var events = new List<ChatStreamEvent>();
        foreach (var e in WireGolden.ParseSse(WireGolden.Read(direction, @case, UpstreamStream)))
        {
            using var doc = JsonDocument.Parse(e.Data);
            reader.Read(e.Event ?? "", doc.RootElement, events);
            if (reader.Stopped) break;
        }
        Assert.True(reader.Stopped, "The recorded stream has no message_stop.");
        events.Add(reader.Finish());
        return events;
    }

    /// <summary>Feeds recorded Chat Completions chunks through <see cref="OpenAiChunkReader"/> up to <c>[DONE]</c>.</summary>
    private static List<ChatStreamEvent> ReadOpenAiStream(string direction, string @case)
    {
        var reader = new OpenAiChunkReader();
        var events = new List<ChatStreamEvent>();
        var done = false;
        foreach (var e in WireGolden.ParseSse(WireGolden.Read(direction, @case, UpstreamStream)))
        {
            if (e.Data == "[DONE]")
            {
                done = true;
                break;
            }
            using var doc = JsonDocument.Parse(e.Data);
            reader.Read(doc.RootElement, events);
        }
        Assert.True(done, "The recorded stream has no [DONE].");
        events.Add(reader.Finish());
        return events;
    }
}

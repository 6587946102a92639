using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Upstreams;
using Router.Node.Wire.OpenAi;
using static Router.Node.Tests.Wire.OpenAi.OpenAiGolden;

namespace Router.Node.Tests.Wire.OpenAi;

/// <summary>Canonical requests from other wires: what the OpenAI chat wire refuses and what it writes.</summary>
public sealed class OpenAiCrossWireTests
{
    private static readonly ImagePart Png = new() { MediaType = "image/png", Base64Data = "iVBORw0KGgo=" };

    private static ChatRequest Request(params ChatMessage[] messages) => new() { Model = "m", Messages = messages };

    private static JsonElement Written(ChatRequest request, bool stream = false)
    {
        using var doc = JsonDocument.Parse(Write(w => OpenAiChatWire.WriteRequest(w, request, "gpt-4o-2024-08-06", stream)));
        return doc.RootElement.Clone();
    }

    private static ChatMessage ToolCalling(params string[] ids) =>
        new(ChatRole.Assistant, []) { ToolCalls = ids.Select(id => new ToolCall(id, "lookup", "{}")).ToArray() };

    private static void AssertRefused(RouterException? ex, string param)
    {
        Assert.NotNull(ex);
        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
    }

    [Fact]
    public void Accepts_a_plain_canonical_request()
    {
        Assert.Null(OpenAiChatWire.Unsupported(Request(new ChatMessage(ChatRole.User, "hi"))));
    }

    [Fact]
    public void Refuses_top_k_in_the_clients_notation()
    {
        var request = Request(new ChatMessage(ChatRole.User, "hi")) with { TopK = 40, Source = WireFormat.AnthropicMessages };

        AssertRefused(OpenAiChatWire.Unsupported(request), "top_k");
    }

    [Fact]
    public void Refuses_more_than_four_stop_sequences_naming_stop_sequences_for_an_anthropic_client()
    {
        var request = Request(new ChatMessage(ChatRole.User, "hi")) with { Stop = ["a", "b", "c", "d", "e"], Source = WireFormat.AnthropicMessages };

        AssertRefused(OpenAiChatWire.Unsupported(request), "stop_sequences");
        AssertRefused(OpenAiChatWire.Unsupported(request with { Source = WireFormat.None }), "stop");
    }

    [Fact]
    public void Refuses_a_tool_result_with_an_image_naming_the_part_in_the_clients_notation()
    {
        var request = Request(
            new ChatMessage(ChatRole.System, "be brief"),
            new ChatMessage(ChatRole.User, "look"),
            ToolCalling("toolu_1", "toolu_2"),
            new ChatMessage(ChatRole.Tool, "first") { ToolCallId = "toolu_1" },
            new ChatMessage(ChatRole.Tool, [new TextPart("chart:"), Png]) { ToolCallId = "toolu_2" });

        // Anthropic: system is top-level; the two tool_result blocks are content 0 and 1 of user message 2.
        AssertRefused(OpenAiChatWire.Unsupported(request with { Source = WireFormat.AnthropicMessages }), "messages.2.content.1.content.1");
        AssertRefused(OpenAiChatWire.Unsupported(request), "messages[4].content[1]");
    }

    [Fact]
    public void Refuses_an_image_in_an_assistant_message()
    {
        var request = Request(new ChatMessage(ChatRole.User, "hi"), new ChatMessage(ChatRole.Assistant, [new TextPart("see"), Png]));

        AssertRefused(OpenAiChatWire.Unsupported(request with { Source = WireFormat.AnthropicMessages }), "messages.1.content.1");
        AssertRefused(OpenAiChatWire.Unsupported(request), "messages[1].content[1]");
    }

    [Fact]
    public void Refuses_a_tool_result_without_a_call_id()
    {
        var request = Request(new ChatMessage(ChatRole.User, "hi"), ToolCalling("c1"), new ChatMessage(ChatRole.Tool, "x"));

        AssertRefused(OpenAiChatWire.Unsupported(request), "messages[2].tool_call_id");
    }

    [Fact]
    public void Refuses_a_tool_name_openai_rejects()
    {
        var request = Request(new ChatMessage(ChatRole.User, "hi")) with
        {
            Tools = [new ToolDefinition("ok_tool", null, "{}"), new ToolDefinition("bad.name", null, "{}")],
            Source = WireFormat.AnthropicMessages,
        };

        AssertRefused(OpenAiChatWire.Unsupported(request), "tools.1.name");
    }

    [Fact]
    public void Refuses_the_first_unmapped_field_of_another_wire_but_not_an_openai_passthrough()
    {
        var anthropic = Request(new ChatMessage(ChatRole.User, "hi")) with
        {
            Source = WireFormat.AnthropicMessages,
            UnmappedFields = ["mcp_servers", "container"],
            RawBody = "{}"u8.ToArray(),
        };
        var openAi = anthropic with { Source = WireFormat.OpenAiChat, UnmappedFields = ["logit_bias"] };

        AssertRefused(OpenAiChatWire.Unsupported(anthropic), "mcp_servers");
        Assert.Null(OpenAiChatWire.Unsupported(openAi));
        AssertRefused(OpenAiChatWire.Unsupported(openAi with { RawBody = default }), "logit_bias");
    }

    [Theory]
    [InlineData(1024, "low")]
    [InlineData(2048, "low")]
    [InlineData(2049, "medium")]
    [InlineData(8192, "medium")]
    [InlineData(16000, "high")]
    public void Maps_a_thinking_budget_to_a_reasoning_effort_and_caps_with_max_completion_tokens(int budget, string effort)
    {
        var request = Request(new ChatMessage(ChatRole.User, "think")) with
        {
            MaxTokens = 20000,
            Reasoning = new ReasoningSettings { Enabled = true, BudgetTokens = budget },
        };

        var body = Written(request);

        Assert.Equal(effort, body.GetProperty("reasoning_effort").GetString());
        Assert.Equal(20000, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_tokens", out _));
    }

    [Fact]
    public void Sends_no_reasoning_effort_when_thinking_is_disabled()
    {
        var body = Written(Request(new ChatMessage(ChatRole.User, "hi")) with
        {
            MaxTokens = 100,
            Reasoning = new ReasoningSettings { Enabled = false },
        });

        Assert.False(body.TryGetProperty("reasoning_effort", out _));
        Assert.Equal(100, body.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public void Drops_reasoning_parts_and_cache_control_and_keeps_failed_tool_results_as_text()
    {
        var request = Request(
            new ChatMessage(ChatRole.System, [new TextPart("long rules") { CacheControlJson = """{"type":"ephemeral"}""" }]),
            new ChatMessage(ChatRole.User, "weather in Oslo?"),
            new ChatMessage(ChatRole.Assistant, [new ReasoningPart { Text = "use the tool", Signature = "sig" }, new TextPart("Checking.")])
            {
                ToolCalls = [new ToolCall("toolu_01", "get_weather", """{"city":"Oslo"}""")],
            },
            new ChatMessage(ChatRole.Tool, "service unavailable") { ToolCallId = "toolu_01", IsError = true }) with
        {
            Tools = [new ToolDefinition("get_weather", "Weather by city", """{"type":"object"}""") { CacheControlJson = """{"type":"ephemeral"}""" }],
        };

        Assert.Null(OpenAiChatWire.Unsupported(request));
        var body = Written(request);

        var messages = body.GetProperty("messages");
        Assert.Equal("long rules", messages[0].GetProperty("content").GetString());
        Assert.Equal("Checking.", messages[2].GetProperty("content").GetString());
        Assert.Equal("toolu_01", messages[2].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal("tool", messages[3].GetProperty("role").GetString());
        Assert.Equal("toolu_01", messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("service unavailable", messages[3].GetProperty("content").GetString());
        Assert.DoesNotContain("cache_control", body.GetRawText());
        Assert.DoesNotContain("use the tool", body.GetRawText());
    }

    [Fact]
    public void Writes_inline_images_as_data_urls()
    {
        var body = Written(Request(new ChatMessage(ChatRole.User, [new TextPart("what is it?"), Png])));

        var part = body.GetProperty("messages")[0].GetProperty("content")[1];
        Assert.Equal("image_url", part.GetProperty("type").GetString());
        Assert.Equal("data:image/png;base64,iVBORw0KGgo=", part.GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public void Always_asks_a_streaming_upstream_for_usage()
    {
        var body = Written(Request(new ChatMessage(ChatRole.User, "hi")) with { Stream = true, IncludeUsage = false }, stream: true);

        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public void Writes_a_plain_text_request_byte_for_byte_as_todays_upstream_client()
    {
        var request = new ChatRequest
        {
            Model = "alias",
            Messages = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hi"), new(ChatRole.Assistant, "hello"), new(ChatRole.User, "again")],
            Temperature = 0.25,
            TopP = 0.5,
            MaxTokens = 77,
            Stop = ["END"],
            User = "tenant-7",
        };
        // The exact bytes the text-only upstream client sent before tools existed.
        const string before = """{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}],"temperature":0.25,"top_p":0.5,"max_tokens":77,"stop":["END"],"user":"tenant-7"}""";
        Assert.Equal(before, Write(w => OpenAiChatWire.WriteRequest(w, request, "gpt-4o-mini", stream: false)));
        Assert.Equal(before[..^1] + ""","stream":true,"stream_options":{"include_usage":true}}""",
            Write(w => OpenAiChatWire.WriteRequest(w, request, "gpt-4o-mini", stream: true)));
    }
}

using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Tests.Wire.Anthropic;

/// <summary>Canonical requests from other wires going to an Anthropic upstream: what is refused and how the rest is written.</summary>
public sealed class AnthropicTranslationTests
{
    private static readonly ToolDefinition Weather = new("get_weather", null, """{"type":"object"}""");

    private static ChatRequest OpenAi(params ChatMessage[] messages) => new()
    {
        Model = "claude-sonnet-4-5",
        Source = WireFormat.OpenAiChat,
        Messages = messages.Length > 0 ? messages : [new ChatMessage(ChatRole.User, "hi")],
    };

    private static ChatMessage CallTurn(string arguments) =>
        new(ChatRole.Assistant, []) { ToolCalls = [new ToolCall("call_1", "get_weather", arguments)] };

    public static TheoryData<string, ChatRequest> Refusals => new()
    {
        { "n", OpenAi() with { N = 2 } },
        { "seed", OpenAi() with { Seed = 7 } },
        { "presence_penalty", OpenAi() with { PresencePenalty = 0.5 } },
        { "frequency_penalty", OpenAi() with { FrequencyPenalty = -1 } },
        { "temperature", OpenAi() with { Temperature = 1.5 } },
        { "stop", OpenAi() with { Stop = ["\n"] } },
        { "logprobs", OpenAi() with { UnmappedFields = ["logprobs", "top_logprobs"] } },
        { "messages[1].name", OpenAi(new ChatMessage(ChatRole.System, "s"), new ChatMessage(ChatRole.User, "hi") { Name = "alice" }) },
        { "messages[0].content[1].image_url.url", OpenAi(new ChatMessage(ChatRole.User, [new TextPart("look"), new ImagePart { MediaType = "image/bmp", Base64Data = "AAAA" }])) },
        { "messages[0].content[0].image_url.url", OpenAi(new ChatMessage(ChatRole.User, [new ImagePart { Url = "file:///etc/passwd" }])) },
        { "messages[0].content[0]", OpenAi(new ChatMessage(ChatRole.System, [new ImagePart { Url = "https://x/y.png" }]), new ChatMessage(ChatRole.User, "hi")) },
        { "messages[1].tool_calls[0].function.arguments", OpenAi(new ChatMessage(ChatRole.User, "hi"), CallTurn("{not json")) with { Tools = [Weather] } },
        { "messages[1].tool_calls[0].function.arguments", OpenAi(new ChatMessage(ChatRole.User, "hi"), CallTurn("[1,2]")) with { Tools = [Weather] } },
        { "messages[1].tool_call_id", OpenAi(new ChatMessage(ChatRole.User, "hi"), new ChatMessage(ChatRole.Tool, "x") { ToolCallId = "call_9" }) },
        { "messages", OpenAi(new ChatMessage(ChatRole.System, "only a system prompt")) },
        { "response_format", OpenAi() with { Tools = [Weather], ResponseFormat = ResponseFormat.JsonObject } },
        { "response_format", OpenAi() with { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema) { Name = "x", SchemaJson = "[]" } } },
        { "response_format", OpenAi() with { ResponseFormat = ResponseFormat.JsonObject, Reasoning = new ReasoningSettings { Effort = "low" } } },
        { "tools[0].function.name", OpenAi() with { Tools = [new ToolDefinition("get.weather", null, "{}")] } },
        { "tools[0].function.parameters", OpenAi() with { Tools = [new ToolDefinition("get_weather", null, "true")] } },
        { "tool_choice", OpenAi() with { Tools = [Weather], ToolChoice = new ToolChoice(ToolChoiceMode.Named, "other") } },
        { "tool_choice", OpenAi() with { Tools = [Weather], ToolChoice = ToolChoice.Required, Reasoning = new ReasoningSettings { Effort = "high" } } },
        { "temperature", OpenAi() with { Temperature = 0.3, Reasoning = new ReasoningSettings { Effort = "medium" } } },
        { "reasoning_effort", OpenAi() with { Reasoning = new ReasoningSettings { Effort = "extreme" } } },
        { "text.format", OpenAi() with { Source = WireFormat.OpenAiResponses, Tools = [Weather], ResponseFormat = ResponseFormat.JsonObject } },
        { "container", OpenAi() with { Source = WireFormat.AnthropicMessages, UnmappedFields = ["container"] } },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refuses_what_anthropic_cannot_express_naming_the_client_field(string param, ChatRequest request)
    {
        var ex = AnthropicWire.Unsupported(request);

        Assert.NotNull(ex);
        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
    }

    [Fact]
    public void Accepts_default_penalties_single_choice_and_effort_without_sampling_conflicts()
    {
        var request = OpenAi() with { N = 1, PresencePenalty = 0, FrequencyPenalty = 0, Temperature = 1, Reasoning = new ReasoningSettings { Effort = "high" } };

        Assert.Null(AnthropicWire.Unsupported(request));
    }

    [Fact]
    public void Writing_invalid_tool_arguments_throws_the_same_400()
    {
        var request = OpenAi(new ChatMessage(ChatRole.User, "hi"), CallTurn("{\"a\":")) with { Tools = [Weather] };

        var ex = Assert.Throws<RouterException>(() => Write(request));

        Assert.Equal("messages[1].tool_calls[0].function.arguments", ex.Param);
    }

    [Theory]
    [InlineData("low", 1000, 1024, 2024)]
    [InlineData("medium", 8000, 4096, 8000)]
    [InlineData("high", null, 16384, 16384 + 4096)]
    public void Reasoning_effort_becomes_a_thinking_budget_and_max_tokens_grows_past_it(string effort, int? maxTokens, int budget, int expectedMax)
    {
        var body = Write(OpenAi() with { MaxTokens = maxTokens, Reasoning = new ReasoningSettings { Effort = effort } });

        Assert.Equal("enabled", body.GetProperty("thinking").GetProperty("type").GetString());
        Assert.Equal(budget, body.GetProperty("thinking").GetProperty("budget_tokens").GetInt32());
        Assert.Equal(expectedMax, body.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public void Reasoning_parts_go_first_in_the_assistant_turn_and_images_keep_their_source_kind()
    {
        var body = Write(OpenAi(
            new ChatMessage(ChatRole.User, [new ImagePart { MediaType = "image/jpeg", Base64Data = "/9j/", Detail = "low" }]),
            new ChatMessage(ChatRole.Assistant, [new TextPart("Answer"), new ReasoningPart { Text = "why", Signature = "sig" }, new ReasoningPart { RedactedData = "opaque" }])));

        var user = body.GetProperty("messages")[0].GetProperty("content")[0];
        Assert.Equal("base64", user.GetProperty("source").GetProperty("type").GetString());
        Assert.Equal("image/jpeg", user.GetProperty("source").GetProperty("media_type").GetString());
        Assert.False(user.TryGetProperty("detail", out _));
        var assistant = body.GetProperty("messages")[1].GetProperty("content");
        Assert.Equal(["thinking", "redacted_thinking", "text"], assistant.EnumerateArray().Select(b => b.GetProperty("type").GetString()));
        Assert.Equal("sig", assistant[0].GetProperty("signature").GetString());
    }

    [Fact]
    public void Plain_text_conversation_is_written_as_plain_strings_with_one_system_prompt()
    {
        var body = Write(OpenAi(
            new ChatMessage(ChatRole.System, "One."),
            new ChatMessage(ChatRole.System, "Two."),
            new ChatMessage(ChatRole.User, "hi"),
            new ChatMessage(ChatRole.Assistant, "hello")) with { MaxTokens = null });

        Assert.Equal("One.\n\nTwo.", body.GetProperty("system").GetString());
        Assert.Equal(4096, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal("hello", body.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.False(body.TryGetProperty("tool_choice", out _));
        Assert.False(body.TryGetProperty("stream", out _));
    }

    private static JsonElement Write(ChatRequest request) =>
        JsonDocument.Parse(GoldenFiles.Write(w => AnthropicWire.WriteRequest(w, request, "claude-upstream", stream: false, 4096))).RootElement;
}

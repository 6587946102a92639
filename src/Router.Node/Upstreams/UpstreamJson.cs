using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Node.Upstreams;

// Shapes of what providers send back, read through source-generated metadata (no reflection per call).
// Every member is optional: providers and relays add, drop and null fields, and the clients decide what is missing.

internal sealed class UpstreamErrorDto
{
    public string? Type { get; set; }
    public string? Message { get; set; }
    /// <summary>OpenAI sends a string, some relays a number.</summary>
    public JsonElement? Code { get; set; }
}

internal sealed class OpenAiCompletionDto
{
    public string? Id { get; set; }
    public string? Model { get; set; }
    public List<OpenAiChoiceDto>? Choices { get; set; }
    public OpenAiUsageDto? Usage { get; set; }
    /// <summary>Only in streamed chunks, when the provider fails mid-stream.</summary>
    public UpstreamErrorDto? Error { get; set; }
}

internal sealed class OpenAiChoiceDto
{
    public int Index { get; set; }
    public OpenAiMessageDto? Message { get; set; }
    public OpenAiMessageDto? Delta { get; set; }
    public string? FinishReason { get; set; }
}

internal sealed class OpenAiMessageDto
{
    public string? Content { get; set; }
}

internal sealed class OpenAiUsageDto
{
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
}

internal sealed class AnthropicMessageDto
{
    public string? Id { get; set; }
    public string? Model { get; set; }
    public List<AnthropicContentDto>? Content { get; set; }
    public string? StopReason { get; set; }
    public AnthropicUsageDto? Usage { get; set; }
}

internal sealed class AnthropicContentDto
{
    public string? Type { get; set; }
    public string? Text { get; set; }
}

internal sealed class AnthropicUsageDto
{
    public int? InputTokens { get; set; }
    public int? OutputTokens { get; set; }
    public int? CacheCreationInputTokens { get; set; }
    public int? CacheReadInputTokens { get; set; }

    /// <summary>Anthropic counts cached prompt tokens apart; the prompt's size is the sum.</summary>
    [JsonIgnore]
    public int? TotalInputTokens => InputTokens is null && CacheCreationInputTokens is null && CacheReadInputTokens is null
        ? null
        : (InputTokens ?? 0) + (CacheCreationInputTokens ?? 0) + (CacheReadInputTokens ?? 0);
}

/// <summary>Any event of an Anthropic stream; which members are set depends on <see cref="Type"/>.</summary>
internal sealed class AnthropicEventDto
{
    public string? Type { get; set; }
    public AnthropicMessageDto? Message { get; set; }
    public AnthropicContentDto? ContentBlock { get; set; }
    public AnthropicDeltaDto? Delta { get; set; }
    public AnthropicUsageDto? Usage { get; set; }
    public UpstreamErrorDto? Error { get; set; }
}

internal sealed class AnthropicDeltaDto
{
    public string? Type { get; set; }
    public string? Text { get; set; }
    public string? StopReason { get; set; }
}

/// <summary>Either provider's error body: OpenAI <c>{"error":{…}}</c> and Anthropic <c>{"type":"error","error":{…}}</c> both fit.</summary>
internal sealed class UpstreamErrorEnvelopeDto
{
    public UpstreamErrorDto? Error { get; set; }
    /// <summary>Some relays answer <c>{"message": "…"}</c> only.</summary>
    public string? Message { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(OpenAiCompletionDto))]
[JsonSerializable(typeof(AnthropicMessageDto))]
[JsonSerializable(typeof(AnthropicEventDto))]
[JsonSerializable(typeof(UpstreamErrorEnvelopeDto))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;

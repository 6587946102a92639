namespace Router.Contracts.Chat;

/// <summary>Who wrote a message. Every ingress maps into these and every upstream maps out of them.</summary>
/// <remarks><see cref="Tool"/> carries the result of one tool call (OpenAI <c>role: tool</c>, Anthropic <c>tool_result</c> block).</remarks>
public enum ChatRole { System, User, Assistant, Tool }

/// <summary>
/// The wire a request arrived on (and so the shape its client expects back). When it equals an upstream's own wire,
/// the request's <see cref="ChatRequest.RawBody"/> is sent on as it is (only <c>model</c> and <c>stream_options</c> are
/// rewritten) and the answer comes back as the upstream wrote it: see docs/protocols.md.
/// </summary>
public enum WireFormat
{
    /// <summary>No JSON wire (gRPC, the simulated provider): always translated.</summary>
    None,
    /// <summary>OpenAI <c>POST /v1/chat/completions</c>.</summary>
    OpenAiChat,
    /// <summary>OpenAI <c>POST /v1/responses</c>.</summary>
    OpenAiResponses,
    /// <summary>OpenAI legacy <c>POST /v1/completions</c>.</summary>
    OpenAiCompletions,
    /// <summary>Anthropic <c>POST /v1/messages</c>.</summary>
    AnthropicMessages,
}

/// <summary>One piece of a message's content.</summary>
public abstract record ContentPart
{
    /// <summary>Anthropic's <c>cache_control</c> object as JSON text (e.g. <c>{"type":"ephemeral"}</c>), when the client set one.</summary>
    public string? CacheControlJson { get; init; }
}

/// <summary>Plain text.</summary>
public sealed record TextPart(string Text) : ContentPart;

/// <summary>
/// An image, either by URL (<see cref="Url"/>, http or https) or inline (<see cref="Base64Data"/> with
/// <see cref="MediaType"/>). OpenAI's <c>data:</c> URLs are split into the inline form when read.
/// </summary>
public sealed record ImagePart : ContentPart
{
    public string? Url { get; init; }
    public string? MediaType { get; init; }
    public string? Base64Data { get; init; }
    /// <summary>OpenAI's <c>detail</c> (auto, low, high); Anthropic has no such setting.</summary>
    public string? Detail { get; init; }
}

/// <summary>
/// A model's visible reasoning (Anthropic <c>thinking</c> / <c>redacted_thinking</c> blocks). Kept on assistant
/// messages so a tool loop can hand them back with their signatures, as Anthropic requires.
/// </summary>
public sealed record ReasoningPart : ContentPart
{
    public string? Text { get; init; }
    public string? Signature { get; init; }
    /// <summary>The opaque <c>data</c> of a <c>redacted_thinking</c> block.</summary>
    public string? RedactedData { get; init; }
}

/// <summary>A call the assistant asked for: <see cref="ArgumentsJson"/> is the raw JSON text of the arguments.</summary>
public sealed record ToolCall(string Id, string Name, string ArgumentsJson);

/// <summary>
/// One message of the conversation. Text, images and reasoning are <see cref="Parts"/>; an assistant's tool calls
/// are <see cref="ToolCalls"/>; a <see cref="ChatRole.Tool"/> message answers the call named by <see cref="ToolCallId"/>.
/// </summary>
public sealed record ChatMessage
{
    public ChatMessage(ChatRole role, IReadOnlyList<ContentPart> parts)
    {
        Role = role;
        Parts = parts;
    }

    /// <summary>A message of plain text.</summary>
    public ChatMessage(ChatRole role, string text) : this(role, [new TextPart(text)]) { }

    public ChatRole Role { get; init; }
    public IReadOnlyList<ContentPart> Parts { get; init; }
    /// <summary>Tool calls of an assistant message (empty otherwise).</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
    /// <summary>For <see cref="ChatRole.Tool"/>: the id of the call this message answers.</summary>
    public string? ToolCallId { get; init; }
    /// <summary>For <see cref="ChatRole.Tool"/>: the tool failed (Anthropic <c>is_error</c>).</summary>
    public bool IsError { get; init; }
    /// <summary>OpenAI's participant <c>name</c>.</summary>
    public string? Name { get; init; }

    /// <summary>The text parts joined (no separator between parts that came as one string).</summary>
    public string Text
    {
        get
        {
            if (Parts.Count == 1) return Parts[0] is TextPart t ? t.Text : "";
            var sb = new System.Text.StringBuilder();
            foreach (var p in Parts)
            {
                if (p is not TextPart t) continue;
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(t.Text);
            }
            return sb.ToString();
        }
    }
}

/// <summary>A function the model may call. <see cref="ParametersJson"/> is the JSON Schema of its arguments, as raw JSON text.</summary>
public sealed record ToolDefinition(string Name, string? Description, string ParametersJson)
{
    /// <summary>OpenAI's <c>strict</c> (structured outputs for the arguments).</summary>
    public bool? Strict { get; init; }
    /// <summary>Anthropic's <c>cache_control</c> on the definition, as JSON text.</summary>
    public string? CacheControlJson { get; init; }
}

public enum ToolChoiceMode { Auto, None, Required, Named }

/// <summary>Whether and which tool the model must call. <see cref="Name"/> is set for <see cref="ToolChoiceMode.Named"/>.</summary>
public sealed record ToolChoice(ToolChoiceMode Mode, string? Name = null)
{
    public static readonly ToolChoice Auto = new(ToolChoiceMode.Auto);
    public static readonly ToolChoice None = new(ToolChoiceMode.None);
    public static readonly ToolChoice Required = new(ToolChoiceMode.Required);
}

public enum ResponseFormatKind { Text, JsonObject, JsonSchema }

/// <summary>OpenAI's <c>response_format</c>: for <see cref="ResponseFormatKind.JsonSchema"/> the schema's name, JSON text and <c>strict</c>.</summary>
public sealed record ResponseFormat(ResponseFormatKind Kind)
{
    public static readonly ResponseFormat Text = new(ResponseFormatKind.Text);
    public static readonly ResponseFormat JsonObject = new(ResponseFormatKind.JsonObject);

    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? SchemaJson { get; init; }
    public bool? Strict { get; init; }
}

/// <summary>
/// Reasoning settings: OpenAI's <c>reasoning_effort</c> (minimal, low, medium, high) or Anthropic's <c>thinking</c>
/// (enabled with a token budget, or disabled). Translation between the two is documented in docs/protocols.md.
/// </summary>
public sealed record ReasoningSettings
{
    public string? Effort { get; init; }
    /// <summary>Anthropic <c>thinking.type</c>: true for enabled, false for disabled, null when not said.</summary>
    public bool? Enabled { get; init; }
    public int? BudgetTokens { get; init; }
}

/// <summary>
/// The one canonical chat request. The OpenAI (chat, Responses, legacy completions), Anthropic and gRPC ingresses
/// map into it; the OpenAI, Anthropic and simulated upstreams map out of it. Immutable.
/// </summary>
public sealed record ChatRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    /// <summary>Anthropic's <c>top_k</c>.</summary>
    public int? TopK { get; init; }
    public int? MaxTokens { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public long? Seed { get; init; }
    /// <summary>How many answers (OpenAI <c>n</c>); null means one.</summary>
    public int? N { get; init; }
    public double? PresencePenalty { get; init; }
    public double? FrequencyPenalty { get; init; }
    public bool Stream { get; init; }
    /// <summary>OpenAI <c>stream_options.include_usage</c>: the client wants a final usage chunk.</summary>
    public bool IncludeUsage { get; init; }
    /// <summary>OpenAI <c>user</c>, Anthropic <c>metadata.user_id</c>.</summary>
    public string? User { get; init; }
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];
    public ToolChoice? ToolChoice { get; init; }
    /// <summary>OpenAI <c>parallel_tool_calls</c>; Anthropic <c>tool_choice.disable_parallel_tool_use</c> is its negation.</summary>
    public bool? ParallelToolCalls { get; init; }
    public ResponseFormat? ResponseFormat { get; init; }
    public ReasoningSettings? Reasoning { get; init; }

    /// <summary>The wire the request arrived on; <see cref="WireFormat.None"/> for gRPC and internal callers.</summary>
    public WireFormat Source { get; init; }

    /// <summary>
    /// The client's JSON body as received, for same-wire passthrough; empty when the request did not come as JSON.
    /// Router never changes these bytes: an upstream of the same wire copies them with <c>model</c> replaced.
    /// </summary>
    public ReadOnlyMemory<byte> RawBody { get; init; }

    /// <summary>
    /// Paths (in the client's own notation, e.g. <c>logprobs</c>, <c>messages[2].content[1]</c>, <c>tools.0</c>) of what the
    /// raw body holds that the canonical model does not, so only an upstream of the same wire can honour it. Translating
    /// to another wire refuses the request with a 400 whose <c>param</c> is the first one.
    /// </summary>
    public IReadOnlyList<string> UnmappedFields { get; init; } = [];

    /// <summary>True when an upstream speaking <paramref name="upstreamWire"/> can take <see cref="RawBody"/> as it is.</summary>
    public bool IsPassthroughTo(WireFormat upstreamWire) =>
        upstreamWire != WireFormat.None && Source == upstreamWire && !RawBody.IsEmpty;
}

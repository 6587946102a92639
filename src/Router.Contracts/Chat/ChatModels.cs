namespace Router.Contracts.Chat;

/// <summary>Who wrote a message. Every ingress maps into these and every upstream maps out of them.</summary>
public enum ChatRole { System, User, Assistant }

public sealed record ChatMessage(ChatRole Role, string Content);

/// <summary>
/// The one canonical chat request. OpenAI, Anthropic and gRPC ingresses map into it;
/// OpenAI, Anthropic and simulated upstreams map out of it.
/// </summary>
public sealed record ChatRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? MaxTokens { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public bool Stream { get; init; }
    /// <summary>OpenAI <c>stream_options.include_usage</c>: the client wants a final usage chunk.</summary>
    public bool IncludeUsage { get; init; }
    public string? User { get; init; }
}

public enum FinishReason { Stop, Length, ContentFilter, ToolCalls }

public readonly record struct TokenUsage(int InputTokens, int OutputTokens)
{
    public int TotalTokens => InputTokens + OutputTokens;
}

public sealed record ChatCompletion(string Id, string Model, string Content, FinishReason FinishReason, TokenUsage Usage);

/// <summary>An event of a streamed answer, in upstream-neutral form.</summary>
public abstract record ChatStreamEvent;

/// <summary>
/// The upstream's own id for the answer, sent before any text when the upstream names one, so an ingress can
/// hand the client the provider's id (clients and tracing correlate on it). Ingresses ignore it otherwise.
/// </summary>
public sealed record StreamStarted(string Id) : ChatStreamEvent;

/// <summary>A piece of generated text.</summary>
public sealed record ContentDelta(string Text) : ChatStreamEvent;

/// <summary>The last event of a stream: why it ended and, when the upstream told, the usage.</summary>
public sealed record StreamFinished(FinishReason Reason, TokenUsage? Usage) : ChatStreamEvent;

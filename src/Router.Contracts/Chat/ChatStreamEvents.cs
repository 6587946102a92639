namespace Router.Contracts.Chat;

/// <summary>An event of a streamed answer, in upstream-neutral form.</summary>
public abstract record ChatStreamEvent
{
    /// <summary>
    /// Whether this event commits the stream to its deployment (no fallback after it). Everything that carries part
    /// of the answer commits; an upstream's preamble (its id, Anthropic's <c>message_start</c>) does not.
    /// </summary>
    public virtual bool Commits => true;
}

/// <summary>
/// The upstream's own id for the answer, sent before any text when the upstream names one, so an ingress can
/// hand the client the provider's id (clients and tracing correlate on it). Ingresses ignore it otherwise.
/// </summary>
public sealed record StreamStarted(string Id) : ChatStreamEvent
{
    public override bool Commits => false;
}

/// <summary>A piece of generated text.</summary>
public sealed record ContentDelta(string Text) : ChatStreamEvent;

/// <summary>A piece of visible reasoning (Anthropic <c>thinking_delta</c>), or its closing signature.</summary>
public sealed record ReasoningDelta(string? Text, string? Signature = null) : ChatStreamEvent
{
    /// <summary>A <c>redacted_thinking</c> block's opaque data.</summary>
    public string? RedactedData { get; init; }
}

/// <summary>The start of the <paramref name="Index"/>-th tool call of the answer (0-based, in the order calls start).</summary>
public sealed record ToolCallStarted(int Index, string Id, string Name) : ChatStreamEvent;

/// <summary>A fragment of the <paramref name="Index"/>-th tool call's arguments (raw JSON text, to be concatenated).</summary>
public sealed record ToolCallDelta(int Index, string ArgumentsFragment) : ChatStreamEvent;

/// <summary>The last event of a stream: why it ended and, when the upstream told, the usage.</summary>
public sealed record StreamFinished(FinishReason Reason, TokenUsage? Usage) : ChatStreamEvent
{
    public string? StopSequence { get; init; }
}

/// <summary>
/// One event exactly as an upstream of the client's own wire sent it (same-wire passthrough): the SSE event name
/// (Anthropic) and its data. The ingress relays it with only <c>model</c> rewritten; the canonical events that
/// accompany it are for metering only. <see cref="Commits"/> is false for a preamble (no answer content yet).
/// </summary>
public sealed record RawStreamEvent(WireFormat Wire, string? EventName, ReadOnlyMemory<byte> Data, bool IsPreamble = false) : ChatStreamEvent
{
    public override bool Commits => !IsPreamble;
}

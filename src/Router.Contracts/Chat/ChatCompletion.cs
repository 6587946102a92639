namespace Router.Contracts.Chat;

public enum FinishReason { Stop, Length, ContentFilter, ToolCalls }

/// <summary>
/// Tokens of one answer. <see cref="InputTokens"/> is the whole prompt, cached or not (OpenAI's <c>prompt_tokens</c>;
/// Anthropic's <c>input_tokens + cache_read_input_tokens + cache_creation_input_tokens</c>);
/// <see cref="CachedInputTokens"/> and <see cref="CacheWriteInputTokens"/> are parts of it.
/// <see cref="OutputTokens"/> includes <see cref="ReasoningTokens"/>.
/// </summary>
public readonly record struct TokenUsage(int InputTokens, int OutputTokens)
{
    /// <summary>Prompt tokens read from the provider's prompt cache.</summary>
    public int CachedInputTokens { get; init; }
    /// <summary>Prompt tokens written to the provider's prompt cache (Anthropic bills them at a premium).</summary>
    public int CacheWriteInputTokens { get; init; }
    /// <summary>Output tokens spent on reasoning.</summary>
    public int ReasoningTokens { get; init; }

    public int TotalTokens => InputTokens + OutputTokens;

    /// <summary>Prompt tokens billed at the plain input price.</summary>
    public int UncachedInputTokens => Math.Max(0, InputTokens - CachedInputTokens - CacheWriteInputTokens);
}

/// <summary>One answer of a completion (there are several only when the request asked for <c>n</c> &gt; 1).</summary>
public sealed record ChatChoice(int Index, IReadOnlyList<ContentPart> Parts, IReadOnlyList<ToolCall> ToolCalls, FinishReason FinishReason)
{
    /// <summary>The stop sequence that ended the answer, when the upstream said which.</summary>
    public string? StopSequence { get; init; }
    /// <summary>OpenAI's <c>message.refusal</c>.</summary>
    public string? Refusal { get; init; }

    /// <summary>The text parts joined.</summary>
    public string Text
    {
        get
        {
            if (Parts.Count == 1) return Parts[0] is TextPart t ? t.Text : "";
            return string.Concat(Parts.OfType<TextPart>().Select(p => p.Text));
        }
    }
}

/// <summary>
/// A finished answer. When the upstream spoke the client's own wire, <see cref="Raw"/> holds its body so the
/// ingress relays it unchanged (fields Router does not interpret survive); otherwise the ingress writes it anew.
/// </summary>
public sealed record ChatCompletion
{
    public ChatCompletion(string id, string model, IReadOnlyList<ChatChoice> choices, TokenUsage usage)
    {
        Id = id;
        Model = model;
        Choices = choices;
        Usage = usage;
    }

    /// <summary>A single plain-text answer.</summary>
    public ChatCompletion(string id, string model, string content, FinishReason finishReason, TokenUsage usage)
        : this(id, model, [new ChatChoice(0, [new TextPart(content)], [], finishReason)], usage) { }

    public string Id { get; init; }
    public string Model { get; init; }
    public IReadOnlyList<ChatChoice> Choices { get; init; }
    public TokenUsage Usage { get; init; }
    public string? SystemFingerprint { get; init; }
    /// <summary>The upstream's body and its wire, when Router may relay it as it is.</summary>
    public RawBody? Raw { get; init; }

    /// <summary>The first answer's text.</summary>
    public string Content => Choices.Count > 0 ? Choices[0].Text : "";
    /// <summary>Why the first answer ended.</summary>
    public FinishReason FinishReason => Choices.Count > 0 ? Choices[0].FinishReason : FinishReason.Stop;
}

/// <summary>A JSON body as an upstream sent it, with the wire it speaks.</summary>
public sealed record RawBody(WireFormat Wire, ReadOnlyMemory<byte> Json);

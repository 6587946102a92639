using Microsoft.ML.Tokenizers;
using Router.Contracts.Chat;

namespace Router.Actors.Usage;

/// <summary>Which tokenizer a model's prompt is counted with.</summary>
public enum TokenEncoding
{
    /// <summary>OpenAI's o200k_base (gpt-4o, gpt-4.1, gpt-5, o-series): exact.</summary>
    O200kBase,

    /// <summary>OpenAI's cl100k_base (gpt-4, gpt-3.5, text-embedding-*): exact.</summary>
    Cl100kBase,

    /// <summary>Providers whose tokenizer we do not have (Claude, Gemini, DeepSeek, simulated, unknown): an estimate.</summary>
    Estimated,
}

/// <summary>
/// Counts prompt tokens before a request is sent, so admission (TPM buckets, budget) and routing
/// (context-window filtering) work with a figure close to what the upstream will bill.
/// Thread-safe and stateless: create one per host and share it. The BPE tables are loaded lazily,
/// once per process, on first use.
/// </summary>
/// <remarks>
/// For models without a tokenizer we have, the count is the o200k_base count × <see cref="EstimateFactor"/>,
/// rounded up. Scaling a real BPE count was chosen over a characters-per-token ratio (chars / 3.5) because a
/// ratio is only right for English prose: CJK or Vietnamese text runs near one token per character or two, so
/// chars / 3.5 would under-count it severalfold and let oversized prompts through TPM limits and context-window
/// checks. o200k tracks the script and code density; Claude's, Gemini's and DeepSeek's tokenizers produce
/// somewhat more tokens than o200k's large vocabulary on typical text, so a 15 % margin errs on the side of
/// over-counting. The estimate is only used for admission; billing reconciles with the upstream's usage.
/// </remarks>
public sealed class TokenCounter
{
    /// <summary>Framing tokens OpenAI adds around every chat message (per the openai-cookbook accounting).</summary>
    public const int TokensPerMessage = 3;

    /// <summary>Tokens OpenAI adds to prime the assistant's reply (<c>&lt;|start|&gt;assistant&lt;|message|&gt;</c>).</summary>
    public const int ReplyPrimingTokens = 3;

    /// <summary>Multiplier applied to the o200k count for providers whose tokenizer we do not have.</summary>
    public const decimal EstimateFactor = 1.15m;

    private static readonly Lazy<Tokenizer> O200k =
        new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<Tokenizer> Cl100k =
        new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Picks the encoding for an upstream model name (case-insensitive; a <c>vendor/</c> prefix as relays use is ignored).</summary>
    public static TokenEncoding EncodingFor(string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(upstreamModel);
        var name = upstreamModel.Trim();
        var slash = name.LastIndexOf('/');
        if (slash >= 0) name = name[(slash + 1)..];

        // o200k first: "gpt-4o" and "gpt-4.1" also start with "gpt-4".
        if (HasPrefix(name, "gpt-4o") || HasPrefix(name, "gpt-4.1") || HasPrefix(name, "gpt-4.5")
            || HasPrefix(name, "gpt-5") || HasPrefix(name, "chatgpt-")
            || IsFamily(name, "o1") || IsFamily(name, "o3") || IsFamily(name, "o4"))
            return TokenEncoding.O200kBase;

        if (IsFamily(name, "gpt-4") || HasPrefix(name, "gpt-3.5") || HasPrefix(name, "text-embedding-"))
            return TokenEncoding.Cl100kBase;

        return TokenEncoding.Estimated;
    }

    /// <summary>
    /// Prompt tokens of <paramref name="request"/> as <paramref name="upstreamModel"/> would bill them:
    /// per message <see cref="TokensPerMessage"/> + role + content, plus <see cref="ReplyPrimingTokens"/>.
    /// </summary>
    public int CountPromptTokens(ChatRequest request, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(request);
        var encoding = EncodingFor(upstreamModel);
        var tokenizer = TokenizerFor(encoding);

        long total = ReplyPrimingTokens;
        foreach (var message in request.Messages)
        {
            total += TokensPerMessage;
            total += tokenizer.CountTokens(RoleName(message.Role));
            foreach (var part in message.Parts)
            {
                total += part switch
                {
                    TextPart t => tokenizer.CountTokens(t.Text),
                    ImagePart i => i.Detail == "low" ? LowDetailImageTokens : ImageTokens,
                    ReasoningPart r => r.Text is { } text ? tokenizer.CountTokens(text) : 0,
                    _ => 0,
                };
            }
            foreach (var call in message.ToolCalls)
                total += TokensPerToolCall + tokenizer.CountTokens(call.Name) + tokenizer.CountTokens(call.ArgumentsJson);
        }
        // Tool definitions and a response schema are part of the prompt the provider bills.
        foreach (var tool in request.Tools)
        {
            total += TokensPerToolCall + tokenizer.CountTokens(tool.Name) + tokenizer.CountTokens(tool.ParametersJson);
            if (tool.Description is { } d) total += tokenizer.CountTokens(d);
        }
        if (request.ResponseFormat?.SchemaJson is { } schema) total += tokenizer.CountTokens(schema);

        return encoding == TokenEncoding.Estimated ? Estimate(total) : checked((int)total);
    }

    /// <summary>
    /// Tokens charged for an image whose size Router does not decode: OpenAI's figure for a high-detail 512×512 image
    /// (85 base + 4 tiles × 170); low detail is a flat 85. Providers report the exact count in usage afterwards.
    /// </summary>
    public const int ImageTokens = 765;
    public const int LowDetailImageTokens = 85;
    /// <summary>Framing of one tool definition or tool call (type, name and argument wrappers).</summary>
    public const int TokensPerToolCall = 8;

    /// <summary>
    /// Tokens of a bare text (no message framing), e.g. to count a streamed answer whose upstream did not report usage.
    /// </summary>
    public int CountText(string text, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(text);
        var encoding = EncodingFor(upstreamModel);
        var count = TokenizerFor(encoding).CountTokens(text);
        return encoding == TokenEncoding.Estimated ? Estimate(count) : count;
    }

    /// <summary>
    /// Tokens to reserve at admission: the prompt plus the most the answer may use. Reserving the ceiling keeps TPM
    /// limits exact; the difference is given back when the real usage is known.
    /// </summary>
    public static int EstimateAdmissionTokens(int promptTokens, int? maxTokens, int defaultMaxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(defaultMaxTokens);
        if (maxTokens is < 0) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "must not be negative");
        var sum = (long)promptTokens + (maxTokens ?? defaultMaxTokens);
        return sum > int.MaxValue ? int.MaxValue : (int)sum;
    }

    private static Tokenizer TokenizerFor(TokenEncoding encoding) =>
        encoding == TokenEncoding.Cl100kBase ? Cl100k.Value : O200k.Value;

    private static int Estimate(long o200kCount) => checked((int)decimal.Ceiling(o200kCount * EstimateFactor));

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        ChatRole.Tool => "tool",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    private static bool HasPrefix(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    // "o1" and "o1-mini" but not "o100-something"; "gpt-4" and "gpt-4-turbo" but not "gpt-40".
    private static bool IsFamily(string name, string family) =>
        name.Equals(family, StringComparison.OrdinalIgnoreCase)
        || (name.Length > family.Length && HasPrefix(name, family) && name[family.Length] == '-');
}

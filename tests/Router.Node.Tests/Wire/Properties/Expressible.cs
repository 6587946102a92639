using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// What a canonical value must look like after a trip through a wire: the value itself, less the wire's documented
/// drops and reshapings (each one named here with where it is documented). Anything else that changes is a loss.
/// </summary>
internal static class Expressible
{
    // ---------------- Requests ----------------

    /// <summary>After OpenAI Chat Completions (WriteRequest, then ParseRequest).</summary>
    public static ChatRequest ThroughOpenAi(ChatRequest r, bool stream) => r with
    {
        Messages = r.Messages.Select(OpenAiMessage).ToList(),
        Stop = r.Stop is { Count: > 0 } ? r.Stop : null,
        // Streams always ask for usage: Router meters every answer (OpenAiChatWire.WriteRequest).
        Stream = stream,
        IncludeUsage = stream,
        // OpenAI caches prompts itself, so cache_control is dropped (OpenAiChatWire remarks).
        Tools = r.Tools.Select(t => t with { CacheControlJson = null }).ToList(),
        // OpenAI requires a schema name; "response" stands in for a missing one (WriteResponseFormat).
        ResponseFormat = r.ResponseFormat is { Kind: ResponseFormatKind.JsonSchema, Name: null } f ? f with { Name = "response" } : r.ResponseFormat,
        Reasoning = OpenAiEffort(r.Reasoning) is { } effort ? new ReasoningSettings { Effort = effort } : null,
        Source = WireFormat.OpenAiChat,
        UnmappedFields = [],
    };

    private static ChatMessage OpenAiMessage(ChatMessage m)
    {
        // Reasoning parts and cache_control are documented drops; so is is_error (the text is all Chat Completions has).
        var parts = m.Parts.Where(p => p is not ReasoningPart).Select(p => p with { CacheControlJson = null }).ToList();
        var callsOnly = m.Role == ChatRole.Assistant && m.ToolCalls.Count > 0;
        // An assistant turn of only tool calls has content null; an empty string beside calls says nothing (ParseAssistant).
        if (callsOnly && parts is [TextPart { Text.Length: 0 }]) parts = [];
        // Any other message always has content: no parts at all is the empty string.
        if (!callsOnly && parts.Count == 0) parts = [new TextPart("")];
        return m with { Parts = parts, IsError = false };
    }

    /// <summary>OpenAiChatWire.EffortOf: an Anthropic budget maps to low (≤ 2048), medium (≤ 8192) or high; disabled to nothing.</summary>
    private static string? OpenAiEffort(ReasoningSettings? r)
    {
        if (r is null) return null;
        if (r.Effort is { } effort) return effort;
        if (r.Enabled == false) return null;
        return r.BudgetTokens switch
        {
            null => r.Enabled == true ? "medium" : null,
            <= 2048 => "low",
            <= 8192 => "medium",
            _ => "high",
        };
    }

    /// <summary>After Anthropic Messages (WriteRequest with <paramref name="defaultMaxTokens"/>, then ParseRequest).</summary>
    public static ChatRequest ThroughAnthropic(ChatRequest r, bool stream, int defaultMaxTokens)
    {
        var budget = AnthropicBudget(r.Reasoning);
        var maxTokens = r.MaxTokens ?? defaultMaxTokens;
        // Anthropic counts thinking inside max_tokens and wants it above the budget (AnthropicWire.WriteRequest).
        if (budget is { } b && maxTokens <= b) maxTokens += b;
        var (choice, parallel) = AnthropicToolChoice(r);
        return r with
        {
            Messages = AnthropicMessages(r.Messages),
            MaxTokens = maxTokens,
            Stop = r.Stop is { Count: > 0 } ? r.Stop : null,
            // n = 1 and zero penalties are the defaults, and not refused (AnthropicWire.Unsupported).
            N = null,
            PresencePenalty = null,
            FrequencyPenalty = null,
            Stream = stream,
            // Anthropic always reports usage.
            IncludeUsage = true,
            // strict is dropped: Anthropic validates tool input without an opt-in; input_schema must say "type":"object".
            Tools = r.Tools.Select(t => t with { Strict = null, ParametersJson = ObjectSchema(t.ParametersJson) }).ToList(),
            ToolChoice = choice,
            ParallelToolCalls = parallel,
            // "text" is Anthropic's only format; JSON formats are a forced tool (not a round trip, see the properties).
            ResponseFormat = r.ResponseFormat is { Kind: ResponseFormatKind.Text } ? null : r.ResponseFormat,
            Reasoning = budget is { } on
                ? new ReasoningSettings { Enabled = true, BudgetTokens = on }
                : r.Reasoning is { Enabled: false } || r.Reasoning?.Effort is "minimal" or "none" ? new ReasoningSettings { Enabled = false } : null,
            Source = WireFormat.AnthropicMessages,
            UnmappedFields = [],
        };
    }

    /// <summary>AnthropicWire.ThinkingBudget: low 1024, medium 4096, high 16384, or the budget given.</summary>
    private static int? AnthropicBudget(ReasoningSettings? r) => r switch
    {
        null or { Enabled: false } => null,
        { Enabled: true } => r.BudgetTokens ?? EffortBudget(r.Effort) ?? 1024,
        _ => EffortBudget(r.Effort),
    };

    private static int? EffortBudget(string? effort) => effort switch
    {
        "low" => 1024,
        "medium" => 4096,
        "high" => 16384,
        _ => null,
    };

    // Without tools there is nothing to choose; unsaid stays unsaid (auto with parallel calls is Anthropic's default);
    // "none" has no disable_parallel_tool_use.
    private static (ToolChoice?, bool?) AnthropicToolChoice(ChatRequest r)
    {
        if (r.Tools.Count == 0) return (null, null);
        if (r.ToolChoice is null && r.ParallelToolCalls != false) return (null, null);
        var choice = r.ToolChoice ?? ToolChoice.Auto;
        return (choice, r.ParallelToolCalls == false && choice.Mode != ToolChoiceMode.None ? false : null);
    }

    private static string ObjectSchema(string schema)
    {
        if (string.IsNullOrWhiteSpace(schema)) return """{"type":"object"}""";
        var node = JsonNode.Parse(schema)!.AsObject();
        if (node.ContainsKey("type")) return schema;
        var withType = new JsonObject { ["type"] = "object" };
        foreach (var (k, v) in node.ToList())
        {
            node.Remove(k);
            withType[k] = v;
        }
        return withType.ToJsonString();
    }

    private static List<ChatMessage> AnthropicMessages(IReadOnlyList<ChatMessage> messages)
    {
        var list = new List<ChatMessage>();
        // Every system message joins the one top-level prompt, at the front: as one string ("\n\n" between messages)
        // unless a cache breakpoint needs the blocks (AnthropicWire.WriteSystem).
        var system = messages.Where(m => m.Role == ChatRole.System).ToList();
        if (system.Count > 0)
        {
            var cached = system.Any(m => m.Parts.Any(p => p.CacheControlJson is not null));
            list.Add(cached
                ? new ChatMessage(ChatRole.System, system.SelectMany(m => m.Parts).Where(p => p is TextPart { Text.Length: > 0 }).ToList())
                : new ChatMessage(ChatRole.System, JoinSystem(system)));
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            switch (m.Role)
            {
                case ChatRole.System:
                    break;
                case ChatRole.Tool:
                    list.Add(m with { Parts = ToolResultParts(m.Parts) });
                    // A user message right after a run of results shares their turn, as blocks: empty texts are left
                    // out (Anthropic refuses them) and a turn of results only has no user message (WriteMessages).
                    if (i + 1 < messages.Count && messages[i + 1].Role == ChatRole.User)
                    {
                        var blocks = NoDetail(messages[++i].Parts).Where(NotEmptyText).ToList();
                        if (blocks.Count > 0) list.Add(messages[i] with { Parts = blocks });
                    }
                    break;
                default:
                    list.Add(m with { Parts = PlainOrBlocks(m), ToolCalls = m.ToolCalls.Select(ObjectArguments).ToList() });
                    break;
            }
        }
        return list;
    }

    // The separator goes between messages once some text has been written: leading empty prompts leave no trace.
    private static string JoinSystem(List<ChatMessage> system)
    {
        var text = "";
        foreach (var m in system) text = text.Length > 0 ? text + "\n\n" + m.Text : m.Text;
        return text;
    }

    // Anthropic has no image detail setting (AnthropicWire remarks).
    private static List<ContentPart> NoDetail(IReadOnlyList<ContentPart> parts) =>
        parts.Select(p => p is ImagePart image ? image with { Detail = null } : p).ToList();

    private static bool NotEmptyText(ContentPart p) => p is not TextPart { Text.Length: 0 };

    // One text without a breakpoint is a plain string (kept as it is, even empty); anything else is blocks, thinking
    // first (Anthropic checks the order), without empty texts.
    private static List<ContentPart> PlainOrBlocks(ChatMessage m)
    {
        if (m.ToolCalls.Count == 0 && m.Parts.Count == 0) return [new TextPart("")];
        if (m.ToolCalls.Count == 0 && m.Parts is [TextPart { CacheControlJson: null }]) return [.. m.Parts];
        var parts = NoDetail(m.Parts);
        return parts.Where(p => p is ReasoningPart).Concat(parts.Where(p => p is not ReasoningPart && NotEmptyText(p))).ToList();
    }

    // A single text result is the plain string form (its breakpoint on the block comes back on the text); otherwise blocks.
    private static List<ContentPart> ToolResultParts(IReadOnlyList<ContentPart> parts) =>
        parts is [TextPart] ? [.. parts] : NoDetail(parts).Where(NotEmptyText).ToList();

    // Anthropic's input is an object: empty arguments are {}.
    private static ToolCall ObjectArguments(ToolCall c) => string.IsNullOrWhiteSpace(c.ArgumentsJson) ? c with { ArgumentsJson = "{}" } : c;

    // ---------------- Completions ----------------

    /// <summary>After OpenAI's chat.completion: the text joined into one string, no reasoning, no stop sequence, no cache writes.</summary>
    public static ChatCompletion ThroughOpenAi(ChatCompletion c) => c with
    {
        Choices = c.Choices.Select(choice =>
        {
            var text = choice.Text;
            // content is null when the answer is only tool calls or a refusal (WriteCompletion).
            List<ContentPart> parts = text.Length == 0 && (choice.ToolCalls.Count > 0 || choice.Refusal is not null) ? [] : [new TextPart(text)];
            return choice with { Parts = parts, StopSequence = null };
        }).ToList(),
        // OpenAI's usage has no field for tokens written to a prompt cache (they stay inside prompt_tokens).
        Usage = c.Usage with { CacheWriteInputTokens = 0 },
    };

    /// <summary>After Anthropic's message: thinking, then each non-empty text (and a refusal) as a block; no reasoning-token count.</summary>
    public static ChatCompletion ThroughAnthropic(ChatCompletion c)
    {
        var choice = c.Choices[0];
        var parts = choice.Parts.Where(p => p is ReasoningPart)
            .Concat(choice.Parts.Where(p => p is TextPart { Text.Length: > 0 }).Select(p => p with { CacheControlJson = null }))
            .ToList();
        if (choice.Refusal is { Length: > 0 } refusal) parts.Add(new TextPart(refusal));
        // An answer with no blocks still gets one empty text block, as clients read content[0].text (WriteMessage).
        if (parts.Count == 0 && choice.ToolCalls.Count == 0) parts.Add(new TextPart(""));
        return new ChatCompletion(c.Id, c.Model,
            [choice with { Parts = parts, Refusal = null, ToolCalls = choice.ToolCalls.Select(ObjectArguments).ToList() }],
            c.Usage with { ReasoningTokens = 0 });
    }

    /// <summary>After a Responses object: one output_text, function calls, and a finish reason only when the answer was cut short.</summary>
    public static ChatCompletion ThroughResponses(ChatCompletion c)
    {
        var choice = c.Choices[0];
        var text = choice.Text;
        List<ContentPart> parts = text.Length > 0 || (choice.Refusal is null && choice.ToolCalls.Count == 0) ? [new TextPart(text)] : [];
        return new ChatCompletion(c.Id, c.Model, [choice with { Parts = parts, StopSequence = null, FinishReason = ResponsesFinish(choice.FinishReason, choice.ToolCalls.Count > 0) }], c.Usage);
    }

    /// <summary>Responses has a status, not a finish reason: "completed" reads back as tool calls when there are calls, else stop.</summary>
    public static FinishReason ResponsesFinish(FinishReason reason, bool hasCalls) =>
        reason is FinishReason.Length or FinishReason.ContentFilter ? reason : hasCalls ? FinishReason.ToolCalls : FinishReason.Stop;
}

using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Anthropic;

public static partial class AnthropicWire
{
    /// <summary>
    /// Maps an upstream's JSON answer (<c>"type":"message"</c>) into the canonical model. When the request asked for a
    /// JSON response format, the forced response tool's input comes back as the answer's text and its
    /// <c>tool_use</c> stop as <see cref="FinishReason.Stop"/>. Block types Router does not model (server tool blocks,
    /// which only a passthrough request can provoke) are skipped, as Anthropic asks clients to tolerate new types.
    /// Throws <see cref="InvalidDataException"/> when the answer is not a message.
    /// </summary>
    public static ChatCompletion ParseMessage(JsonElement root, ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("The answer is not a JSON object.");
        if (!root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("The answer has no content array.");

        var responseTool = ResponseToolName(request);
        var usedResponseTool = false;
        var parts = new List<ContentPart>();
        var calls = new List<ToolCall>();
        foreach (var block in content.EnumerateArray())
        {
            if (block.ValueKind != JsonValueKind.Object) throw new InvalidDataException("A content block is not an object.");
            switch (Str(block, "type"))
            {
                case "text":
                    parts.Add(new TextPart(Str(block, "text") ?? ""));
                    break;
                case "thinking":
                    parts.Add(new ReasoningPart { Text = Str(block, "thinking") ?? "", Signature = Str(block, "signature") });
                    break;
                case "redacted_thinking":
                    parts.Add(new ReasoningPart { RedactedData = Str(block, "data") ?? "" });
                    break;
                case "tool_use":
                    var name = Str(block, "name") ?? throw new InvalidDataException("A tool_use block has no name.");
                    var input = block.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.Object ? i.GetRawText() : "{}";
                    if (name == responseTool)
                    {
                        parts.Add(new TextPart(input));
                        usedResponseTool = true;
                    }
                    else
                    {
                        calls.Add(new ToolCall(Str(block, "id") ?? throw new InvalidDataException("A tool_use block has no id."), name, input));
                    }
                    break;
            }
        }

        var usage = new UsageCounts();
        if (root.TryGetProperty("usage", out var u)) usage.Apply(u);
        var choice = new ChatChoice(0, parts, calls, MapStopReason(Str(root, "stop_reason"), usedResponseTool))
        {
            StopSequence = Str(root, "stop_sequence"),
        };
        return new ChatCompletion(Str(root, "id") ?? "", Str(root, "model") ?? request.Model, [choice], usage.ToTokenUsage());
    }

    /// <summary>
    /// Writes the client's JSON answer (<c>"type":"message"</c>) for the first choice: thinking blocks, text, then
    /// tool_use blocks. OpenAI's <c>refusal</c> text becomes a text block. An answer with no content at all still gets
    /// one empty text block, as clients read <c>content[0].text</c>. Throws <see cref="InvalidDataException"/> when
    /// a tool call's arguments are not a JSON object, unless the answer was cut off at the token limit (see <see cref="WriteInput"/>).
    /// </summary>
    public static void WriteMessage(Utf8JsonWriter w, string id, string model, ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(completion);
        var choice = completion.Choices.Count > 0 ? completion.Choices[0] : null;

        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
        var blocks = 0;
        if (choice is not null)
        {
            foreach (var p in choice.Parts)
            {
                if (p is not ReasoningPart) continue;
                WritePart(w, p, skipEmptyText: true);
                blocks++;
            }
            foreach (var p in choice.Parts)
            {
                if (p is not TextPart { Text.Length: > 0 } t) continue;
                WriteTextBlock(w, t with { CacheControlJson = null });
                blocks++;
            }
            if (choice.Refusal is { Length: > 0 } refusal)
            {
                WriteTextBlock(w, new TextPart(refusal));
                blocks++;
            }
            foreach (var call in choice.ToolCalls)
            {
                w.WriteStartObject();
                w.WriteString("type", "tool_use");
                w.WriteString("id", call.Id);
                w.WriteString("name", call.Name);
                w.WritePropertyName("input");
                WriteInput(w, call.ArgumentsJson, truncated: choice.FinishReason == FinishReason.Length);
                w.WriteEndObject();
                blocks++;
            }
        }
        if (blocks == 0) WriteTextBlock(w, new TextPart(""));
        w.WriteEndArray();
        w.WriteString("stop_reason", StopReason(choice?.FinishReason ?? FinishReason.Stop, choice?.StopSequence));
        if (choice?.StopSequence is { } sequence) w.WriteString("stop_sequence", sequence); else w.WriteNull("stop_sequence");
        WriteUsage(w, completion.Usage);
        w.WriteEndObject();
    }

    /// <summary>Tool arguments as an <c>input</c> object (empty text is <c>{}</c>).</summary>
    /// <param name="truncated">
    /// The answer was cut off at the token limit, so the last call's arguments may be unfinished JSON (an OpenAI upstream
    /// sends them as far as they got). Anthropic answers such a cut-off tool_use block with an empty <c>input</c> beside
    /// <c>stop_reason: max_tokens</c>, so that is written instead of failing the whole, otherwise valid, answer.
    /// </param>
    internal static void WriteInput(Utf8JsonWriter w, string argumentsJson, bool truncated = false)
    {
        if (!TryParseArguments(argumentsJson, out var doc))
        {
            if (!truncated) throw new InvalidDataException("A tool call's arguments are not a JSON object.");
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }
        using (doc)
        {
            if (doc is null)
            {
                w.WriteStartObject();
                w.WriteEndObject();
            }
            else
            {
                doc.RootElement.WriteTo(w);
            }
        }
    }

    /// <summary>Anthropic's usage: <c>input_tokens</c> is the uncached part only, the cache reads and writes are beside it.</summary>
    internal static void WriteUsage(Utf8JsonWriter w, TokenUsage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", usage.UncachedInputTokens);
        w.WriteNumber("cache_creation_input_tokens", usage.CacheWriteInputTokens);
        w.WriteNumber("cache_read_input_tokens", usage.CachedInputTokens);
        w.WriteNumber("output_tokens", usage.OutputTokens);
        w.WriteEndObject();
    }

    internal static string StopReason(FinishReason reason, string? stopSequence) => reason switch
    {
        FinishReason.Length => "max_tokens",
        FinishReason.ToolCalls => "tool_use",
        FinishReason.ContentFilter => "refusal",
        _ => stopSequence is null ? "end_turn" : "stop_sequence",
    };

    /// <param name="usedResponseTool">The answer came through the forced response-format tool: its tool_use stop is a normal end.</param>
    internal static FinishReason MapStopReason(string? reason, bool usedResponseTool) => reason switch
    {
        "max_tokens" or "model_context_window_exceeded" => FinishReason.Length,
        "tool_use" => usedResponseTool ? FinishReason.Stop : FinishReason.ToolCalls,
        "refusal" => FinishReason.ContentFilter,
        _ => FinishReason.Stop, // end_turn, stop_sequence, pause_turn
    };

    internal static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>Anthropic's usage counters as they arrive (a stream's message_delta repeats or completes message_start's).</summary>
internal struct UsageCounts
{
    private int? _input, _output, _cacheRead, _cacheWrite;

    public readonly bool Seen => _input is not null || _output is not null;

    public void Apply(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object) return;
        _input = Int(usage, "input_tokens") ?? _input;
        _output = Int(usage, "output_tokens") ?? _output;
        _cacheRead = Int(usage, "cache_read_input_tokens") ?? _cacheRead;
        _cacheWrite = Int(usage, "cache_creation_input_tokens") ?? _cacheWrite;
    }

    /// <summary>Canonical usage: the whole prompt, cached or not, is <see cref="TokenUsage.InputTokens"/>.</summary>
    public readonly TokenUsage ToTokenUsage()
    {
        var read = _cacheRead ?? 0;
        var write = _cacheWrite ?? 0;
        return new TokenUsage((_input ?? 0) + read + write, _output ?? 0) { CachedInputTokens = read, CacheWriteInputTokens = write };
    }

    private static int? Int(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}

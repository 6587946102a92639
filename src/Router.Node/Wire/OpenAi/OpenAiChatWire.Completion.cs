using System.Text.Json;
using Router.Contracts.Chat;
using static Router.Node.Wire.OpenAi.OpenAiJson;

namespace Router.Node.Wire.OpenAi;

public static partial class OpenAiChatWire
{
    /// <summary>
    /// Reads an upstream's <c>chat.completion</c> answer: every choice with its text, refusal, tool calls and finish
    /// reason; usage with cached prompt tokens and reasoning tokens; id, model and <c>system_fingerprint</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The answer is not an object or has no choices.</exception>
    public static ChatCompletion ParseCompletion(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("The completion is not a JSON object.");
        if (!root.TryGetProperty("choices", out var choicesElement) || choicesElement.ValueKind != JsonValueKind.Array
            || choicesElement.GetArrayLength() == 0)
            throw new InvalidDataException("The completion has no choices.");

        var choices = new List<ChatChoice>(choicesElement.GetArrayLength());
        foreach (var c in choicesElement.EnumerateArray())
        {
            if (c.ValueKind != JsonValueKind.Object) throw new InvalidDataException("A choice is not a JSON object.");
            var index = c.TryGetProperty("index", out var ix) && ix.ValueKind == JsonValueKind.Number && ix.TryGetInt32(out var iv) ? iv : choices.Count;
            var message = c.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.Object ? msg : default;
            var parts = new List<ContentPart>(1);
            List<ToolCall> calls = [];
            string? refusal = null;
            if (message.ValueKind == JsonValueKind.Object)
            {
                ReadAnswerContent(message, parts);
                refusal = GetStringOrNull(message, "refusal");
                if (message.TryGetProperty("tool_calls", out var tc) && tc.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in tc.EnumerateArray())
                    {
                        if (call.ValueKind != JsonValueKind.Object) throw new InvalidDataException("A tool call is not a JSON object.");
                        var fn = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
                        var id = GetStringOrNull(call, "id");
                        var name = GetStringOrNull(fn, "name");
                        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(name))
                            throw new InvalidDataException("A tool call has no id or no function name.");
                        calls.Add(new ToolCall(id, name, GetStringOrNull(fn, "arguments") ?? ""));
                    }
                }
            }
            choices.Add(new ChatChoice(index, parts, calls, MapFinishReason(GetStringOrNull(c, "finish_reason"))) { Refusal = refusal });
        }

        return new ChatCompletion(GetStringOrNull(root, "id") ?? "", GetStringOrNull(root, "model") ?? "", choices,
            root.TryGetProperty("usage", out var u) ? ReadUsage(u) ?? default : default)
        {
            SystemFingerprint = GetStringOrNull(root, "system_fingerprint"),
        };
    }

    // OpenAI answers with a string or null; some compatible relays answer with an array of text parts.
    private static void ReadAnswerContent(JsonElement message, List<ContentPart> parts)
    {
        if (!message.TryGetProperty("content", out var content)) return;
        if (content.ValueKind == JsonValueKind.String)
        {
            parts.Add(new TextPart(content.GetString()!));
            return;
        }
        if (content.ValueKind != JsonValueKind.Array) return;
        foreach (var p in content.EnumerateArray())
        {
            if (GetStringOrNull(p, "type") == "text" && GetStringOrNull(p, "text") is { } text) parts.Add(new TextPart(text));
        }
    }

    /// <summary>OpenAI's <c>usage</c> object (null when absent or null), with its details.</summary>
    internal static TokenUsage? ReadUsage(JsonElement u)
    {
        if (u.ValueKind != JsonValueKind.Object) return null;
        var cached = u.TryGetProperty("prompt_tokens_details", out var pd) ? GetIntOrZero(pd, "cached_tokens") : 0;
        var reasoning = u.TryGetProperty("completion_tokens_details", out var cd) ? GetIntOrZero(cd, "reasoning_tokens") : 0;
        return new TokenUsage(GetIntOrZero(u, "prompt_tokens"), GetIntOrZero(u, "completion_tokens"))
        {
            CachedInputTokens = cached,
            ReasoningTokens = reasoning,
        };
    }

    internal static FinishReason MapFinishReason(string? reason) => reason switch
    {
        "length" => FinishReason.Length,
        "content_filter" => FinishReason.ContentFilter,
        "tool_calls" or "function_call" => FinishReason.ToolCalls,
        _ => FinishReason.Stop,
    };

    internal static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <summary>
    /// Writes the client's <c>chat.completion</c> answer. An answer of only tool calls (or a refusal) has <c>content: null</c>;
    /// <see cref="ReasoningPart"/>s are not written (Chat Completions has no field for them).
    /// </summary>
    public static void WriteCompletion(Utf8JsonWriter w, string id, long created, string model, ChatCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(completion);
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        foreach (var c in completion.Choices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", c.Index);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            var text = c.Text;
            // OpenAI says null, not "", when the answer is only tool calls or a refusal.
            if (text.Length == 0 && (c.ToolCalls.Count > 0 || c.Refusal is not null)) w.WriteNull("content");
            else w.WriteString("content", text);
            if (c.Refusal is { } refusal) w.WriteString("refusal", refusal);
            if (c.ToolCalls.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var call in c.ToolCalls) WriteToolCall(w, call, index: null);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReasonText(c.FinishReason));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteUsage(w, completion.Usage);
        if (completion.SystemFingerprint is { } fingerprint) w.WriteString("system_fingerprint", fingerprint);
        w.WriteEndObject();
    }

    internal static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.InputTokens);
        w.WriteNumber("completion_tokens", u.OutputTokens);
        w.WriteNumber("total_tokens", u.TotalTokens);
        if (u.CachedInputTokens > 0)
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", u.CachedInputTokens);
            w.WriteEndObject();
        }
        if (u.ReasoningTokens > 0)
        {
            w.WriteStartObject("completion_tokens_details");
            w.WriteNumber("reasoning_tokens", u.ReasoningTokens);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}

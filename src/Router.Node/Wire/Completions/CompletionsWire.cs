using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Ingress;

namespace Router.Node.Wire.Completions;

/// <summary>
/// OpenAI's legacy completions (<c>POST /v1/completions</c>) to and from the canonical model. The prompt becomes one
/// user message, so a chat upstream (Anthropic, simulated) can answer it. Pure: no I/O, no clock.
/// </summary>
public static class CompletionsWire
{
    /// <summary>OpenAI's default when <c>max_tokens</c> is not given (the legacy endpoint has one, chat does not).</summary>
    public const int DefaultMaxTokens = 16;

    /// <summary>
    /// Maps a client's request into the canonical model (<see cref="WireFormat.OpenAiCompletions"/>, with
    /// <paramref name="rawBody"/> kept for passthrough): <c>prompt</c> (a string, or an array holding one string) as
    /// one User message, <c>max_tokens</c> (default 16), sampling settings, <c>n</c>, <c>stop</c>, <c>seed</c>,
    /// <c>stream</c>, <c>stream_options.include_usage</c> and <c>user</c>.
    /// </summary>
    /// <remarks>
    /// <c>suffix</c>, <c>echo</c>, <c>logprobs</c>, <c>best_of</c>, <c>logit_bias</c>, several prompts and token-id
    /// prompts have no chat equivalent: they go to <see cref="ChatRequest.UnmappedFields"/> (only an <c>openai</c>
    /// upstream takes them). Several prompts are then joined into the one message, for token estimates only.
    /// <c>stream_options.include_obfuscation</c> is accepted and not carried (Router writes no obfuscation field).
    /// </remarks>
    public static ChatRequest ParseRequest(JsonElement root, ReadOnlyMemory<byte> rawBody)
    {
        JsonFields.RequireObject(root);
        var unmapped = new List<string>();
        var model = JsonFields.RequireString(root, "model");
        var prompt = ReadPrompt(root, unmapped);

        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object)
                throw JsonFields.Invalid("Invalid type for 'stream_options': expected an object.", "stream_options");
            if (so.TryGetProperty("include_usage", out var iu) && iu.ValueKind != JsonValueKind.Null)
            {
                if (iu.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw JsonFields.Invalid("Invalid type for 'stream_options.include_usage': expected a boolean.", "stream_options.include_usage");
                includeUsage = iu.GetBoolean();
            }
        }

        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model" or "prompt" or "max_tokens" or "temperature" or "top_p" or "n" or "stop" or "seed"
                    or "presence_penalty" or "frequency_penalty" or "stream" or "stream_options" or "user":
                    break;
                case "echo" when v.ValueKind is JsonValueKind.Null or JsonValueKind.False:
                case "best_of" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var b) && b == 1):
                case "logit_bias" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any()):
                    break;
                case var name when v.ValueKind != JsonValueKind.Null:
                    // suffix, echo, logprobs, best_of > 1, logit_bias, and anything newer than this code.
                    unmapped.Add(name);
                    break;
            }
        }

        return new ChatRequest
        {
            Model = model,
            Messages = [new ChatMessage(ChatRole.User, prompt)],
            MaxTokens = MaxTokens(root),
            Temperature = JsonFields.OptionalNumber(root, "temperature", 0, 2),
            TopP = JsonFields.OptionalNumber(root, "top_p", 0, 1),
            N = JsonFields.OptionalPositiveInt(root, "n"),
            Stop = JsonFields.OptionalStrings(root, "stop"),
            Seed = Seed(root),
            PresencePenalty = JsonFields.OptionalNumber(root, "presence_penalty", -2, 2),
            FrequencyPenalty = JsonFields.OptionalNumber(root, "frequency_penalty", -2, 2),
            Stream = JsonFields.OptionalBool(root, "stream"),
            IncludeUsage = includeUsage,
            User = JsonFields.OptionalString(root, "user"),
            Source = WireFormat.OpenAiCompletions,
            RawBody = rawBody,
            UnmappedFields = unmapped,
        };
    }

    private static string ReadPrompt(JsonElement root, List<string> unmapped)
    {
        if (!root.TryGetProperty("prompt", out var prompt))
            throw JsonFields.Invalid("Missing required parameter: 'prompt'.", "prompt");
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return prompt.GetString()!;
            case JsonValueKind.Null:
                // OpenAI then starts from <|endoftext|>, which no other provider has.
                unmapped.Add("prompt");
                return "";
            case JsonValueKind.Array when prompt.GetArrayLength() > 0:
                var strings = new List<string>();
                foreach (var p in prompt.EnumerateArray())
                {
                    switch (p.ValueKind)
                    {
                        case JsonValueKind.String:
                            strings.Add(p.GetString()!);
                            break;
                        case JsonValueKind.Number or JsonValueKind.Array:
                            // Token ids: only the model that made them can read them.
                            unmapped.Add("prompt");
                            return string.Join("\n", strings);
                        default:
                            throw JsonFields.Invalid("Invalid type for 'prompt': expected a string, an array of strings or token arrays.", "prompt");
                    }
                }
                if (strings.Count > 1) unmapped.Add("prompt");
                return string.Join("\n", strings);
            default:
                throw JsonFields.Invalid("Invalid type for 'prompt': expected a string, an array of strings or token arrays.", "prompt");
        }
    }

    private static int MaxTokens(JsonElement root)
    {
        if (!root.TryGetProperty("max_tokens", out var v) || v.ValueKind == JsonValueKind.Null) return DefaultMaxTokens;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n))
            throw JsonFields.Invalid("Invalid type for 'max_tokens': expected an integer.", "max_tokens");
        // 0 is valid at OpenAI (with echo, to score a prompt); a translating upstream refuses it as it must.
        if (n < 0) throw JsonFields.Invalid("Invalid 'max_tokens': must be at least 0.", "max_tokens");
        return n;
    }

    private static long? Seed(JsonElement root)
    {
        if (!root.TryGetProperty("seed", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var seed))
            throw JsonFields.Invalid("Invalid type for 'seed': expected an integer.", "seed");
        return seed;
    }

    /// <summary>
    /// Writes the canonical answer as a <c>text_completion</c>: one choice per answer (<c>logprobs</c> null), usage.
    /// A tool-call finish cannot happen here (the endpoint has no tools) and would read as <c>stop</c>.
    /// </summary>
    public static void WriteCompletion(Utf8JsonWriter w, string id, long created, string model, ChatCompletion completion)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        if (completion.SystemFingerprint is { } fp) w.WriteString("system_fingerprint", fp);
        w.WriteStartArray("choices");
        foreach (var choice in completion.Choices)
        {
            w.WriteStartObject();
            w.WriteString("text", choice.Text);
            w.WriteNumber("index", choice.Index);
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReasonText(choice.FinishReason));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteUsage(w, completion.Usage);
        w.WriteEndObject();
    }

    /// <summary>Reads an upstream's <c>text_completion</c> (passthrough) into the canonical model, for metering.</summary>
    /// <exception cref="InvalidDataException">The body is not a text completion.</exception>
    public static ChatCompletion ParseCompletion(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("Completions body: expected a JSON object.");
        var choices = new List<ChatChoice>();
        if (root.TryGetProperty("choices", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array) throw new InvalidDataException("Completions body: 'choices' is not an array.");
            foreach (var c in list.EnumerateArray())
            {
                choices.Add(new ChatChoice(
                    UpstreamInt(c, "index"), [new TextPart(UpstreamString(c, "text") ?? "")], [], MapFinishReason(UpstreamString(c, "finish_reason"))));
            }
        }
        var usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object ? ReadUsage(u) : new TokenUsage(0, 0);
        return new ChatCompletion(UpstreamString(root, "id") ?? "", UpstreamString(root, "model") ?? "", choices, usage)
        {
            SystemFingerprint = UpstreamString(root, "system_fingerprint"),
        };
    }

    internal static string FinishReasonText(FinishReason r) => r switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        _ => "stop",
    };

    internal static FinishReason MapFinishReason(string? reason) => reason switch
    {
        "length" => FinishReason.Length,
        "content_filter" => FinishReason.ContentFilter,
        _ => FinishReason.Stop,
    };

    internal static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.InputTokens);
        w.WriteNumber("completion_tokens", u.OutputTokens);
        w.WriteNumber("total_tokens", u.TotalTokens);
        w.WriteEndObject();
    }

    /// <summary>An OpenAI <c>usage</c> object (prompt/completion tokens, with optional details).</summary>
    internal static TokenUsage ReadUsage(JsonElement usage)
    {
        var prompt = usage.TryGetProperty("prompt_tokens_details", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var completion = usage.TryGetProperty("completion_tokens_details", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        return new TokenUsage(UpstreamInt(usage, "prompt_tokens"), UpstreamInt(usage, "completion_tokens"))
        {
            CachedInputTokens = UpstreamInt(prompt, "cached_tokens"),
            CacheWriteInputTokens = UpstreamInt(prompt, "cache_write_tokens"),
            ReasoningTokens = UpstreamInt(completion, "reasoning_tokens"),
        };
    }

    internal static string? UpstreamString(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new InvalidDataException($"Completions body: '{name}' is not a string.");
        return v.GetString();
    }

    internal static int UpstreamInt(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n)) throw new InvalidDataException($"Completions body: '{name}' is not an integer.");
        return n;
    }
}

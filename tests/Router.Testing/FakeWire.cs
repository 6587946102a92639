using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Router.Testing;

/// <summary>What a request asked for, read leniently: the fake must answer even odd requests so tests can see them.</summary>
internal sealed record FakeRequestView(
    string? Model, bool Stream, bool IncludeUsage, int? MaxTokens, string LastUserText, int PromptTokens)
{
    public static FakeRequestView Read(FakeApi api, JsonElement? body)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b) return new(null, false, false, null, "", 0);

        var model = b.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var stream = b.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var includeUsage = b.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        int? maxTokens = null;
        foreach (var name in (string[])["max_tokens", "max_completion_tokens"])
        {
            if (b.TryGetProperty(name, out var mt) && mt.ValueKind == JsonValueKind.Number && mt.TryGetInt32(out var v))
            {
                maxTokens = v;
                break;
            }
        }

        // Same estimate as the simulated provider: ceil(chars / 4) + 4 per message.
        var promptTokens = 0;
        var lastUser = "";
        if (api == FakeApi.Anthropic && b.TryGetProperty("system", out var system))
        {
            var text = TextOf(system);
            if (text.Length > 0) promptTokens += Estimate(text);
        }
        if (b.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object) continue;
                var text = message.TryGetProperty("content", out var c) ? TextOf(c) : "";
                promptTokens += Estimate(text);
                if (message.TryGetProperty("role", out var role) && role.ValueEquals("user")) lastUser = text;
            }
        }
        return new(model, stream, includeUsage, maxTokens, lastUser, promptTokens);
    }

    private static int Estimate(string text) => (text.Length + 3) / 4 + 4;

    // Content is a string or an array of parts/blocks with "text" (both APIs allow both).
    private static string TextOf(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString() ?? "",
        JsonValueKind.Array => string.Concat(content.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };
}

/// <summary>The answer to send, decided before any byte is written.</summary>
internal sealed record AnswerPlan(
    int Sequence, string Model, IReadOnlyList<string> Chunks, bool Truncated, int PromptTokens, int CompletionTokens,
    bool IncludeUsage)
{
    public string Text => string.Concat(Chunks);

    public static AnswerPlan Create(int sequence, FakeRequestView request, Behaviour behaviour)
    {
        var text = behaviour.Text ?? "echo: " + request.LastUserText;
        var chunks = Split(text);
        var truncated = request.MaxTokens is { } max && max >= 0 && max < chunks.Count;
        if (truncated) chunks = chunks.Take(request.MaxTokens!.Value).ToList();
        return new AnswerPlan(sequence, request.Model ?? "fake-model", chunks, truncated,
            behaviour.PromptTokens ?? request.PromptTokens, behaviour.CompletionTokens ?? chunks.Count, request.IncludeUsage);
    }

    // Word by word, the space kept in front of the word, so the chunks concatenate back to the text.
    private static List<string> Split(string text)
    {
        var chunks = new List<string>();
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] != ' ' || text[i - 1] == ' ') continue;
            chunks.Add(text[start..i]);
            start = i;
        }
        if (start < text.Length) chunks.Add(text[start..]);
        return chunks;
    }
}

/// <summary>One provider's wire format, as the fake writes it.</summary>
internal interface IFakeWire
{
    string Json(AnswerPlan plan);
    IEnumerable<string> StreamPreamble(AnswerPlan plan);
    string StreamDelta(AnswerPlan plan, string chunk);
    IEnumerable<string> StreamTail(AnswerPlan plan);
    string StreamError(string type, string message);
    string ErrorBody(int status, string? type, string? message, string? code);
}

internal static class JsonText
{
    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>OpenAI Chat Completions, as documented (chat.completion / chat.completion.chunk objects).</summary>
internal sealed class OpenAiWire : IFakeWire
{
    public static readonly OpenAiWire Instance = new();
    private const long Created = 1_700_000_000;

    private static string Id(AnswerPlan plan) => $"chatcmpl-fake-{plan.Sequence}";
    private static string Finish(AnswerPlan plan) => plan.Truncated ? "length" : "stop";

    public string Json(AnswerPlan plan) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("id", Id(plan));
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", Created);
        w.WriteString("model", plan.Model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", plan.Text);
        w.WriteNull("refusal");
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", Finish(plan));
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, plan);
        w.WriteString("system_fingerprint", "fp_fake");
        w.WriteEndObject();
    });

    public IEnumerable<string> StreamPreamble(AnswerPlan plan)
    {
        yield return Chunk(plan, w =>
        {
            w.WriteString("role", "assistant");
            w.WriteString("content", "");
            w.WriteNull("refusal");
        }, finishReason: null);
    }

    public string StreamDelta(AnswerPlan plan, string chunk) =>
        Chunk(plan, w => w.WriteString("content", chunk), finishReason: null);

    public IEnumerable<string> StreamTail(AnswerPlan plan)
    {
        yield return Chunk(plan, _ => { }, Finish(plan));
        if (plan.IncludeUsage)
        {
            yield return Data(JsonText.Write(w =>
            {
                WriteChunkHeader(w, plan);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, plan);
                w.WriteEndObject();
            }));
        }
        yield return "data: [DONE]\n\n";
    }

    public string StreamError(string type, string message) => Data(ErrorBody(500, type, message, null));

    public string ErrorBody(int status, string? type, string? message, string? code)
    {
        if (code == "context_length_exceeded" && message is null)
        {
            message = "This model's maximum context length is 128000 tokens. However, your messages resulted in "
                + "130000 tokens. Please reduce the length of the messages.";
            type ??= "invalid_request_error";
        }
        var (defaultType, defaultCode, defaultMessage) = status switch
        {
            400 => ("invalid_request_error", null, "Invalid request."),
            401 => ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
            403 => ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported."),
            404 => ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
            429 => ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
            503 => ("server_error", null, "The engine is currently overloaded, please try again later."),
            >= 500 => ("server_error", null, "The server had an error while processing your request."),
            _ => ("invalid_request_error", null, $"Fake upstream status {status}."),
        };
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message ?? defaultMessage);
            w.WriteString("type", type ?? defaultType);
            w.WriteNull("param");
            if ((code ?? defaultCode) is { } c) w.WriteString("code", c);
            else w.WriteNull("code");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static string Chunk(AnswerPlan plan, Action<Utf8JsonWriter> delta, string? finishReason) => Data(JsonText.Write(w =>
    {
        WriteChunkHeader(w, plan);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        delta(w);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finishReason is null) w.WriteNull("finish_reason");
        else w.WriteString("finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        // With include_usage every chunk carries "usage": null except the last one.
        if (plan.IncludeUsage) w.WriteNull("usage");
        w.WriteEndObject();
    }));

    private static void WriteChunkHeader(Utf8JsonWriter w, AnswerPlan plan)
    {
        w.WriteStartObject();
        w.WriteString("id", Id(plan));
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", Created);
        w.WriteString("model", plan.Model);
        w.WriteString("system_fingerprint", "fp_fake");
    }

    private static void WriteUsage(Utf8JsonWriter w, AnswerPlan plan)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", plan.PromptTokens);
        w.WriteNumber("completion_tokens", plan.CompletionTokens);
        w.WriteNumber("total_tokens", plan.PromptTokens + plan.CompletionTokens);
        w.WriteEndObject();
    }

    private static string Data(string json) => "data: " + json + "\n\n";
}

/// <summary>Anthropic Messages API, including its streaming event sequence.</summary>
internal sealed class AnthropicWire : IFakeWire
{
    public static readonly AnthropicWire Instance = new();

    private static string Id(AnswerPlan plan) => $"msg_fake_{plan.Sequence}";
    private static string StopReason(AnswerPlan plan) => plan.Truncated ? "max_tokens" : "end_turn";

    public string Json(AnswerPlan plan) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("id", Id(plan));
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", plan.Model);
        w.WriteStartArray("content");
        w.WriteStartObject();
        w.WriteString("type", "text");
        w.WriteString("text", plan.Text);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("stop_reason", StopReason(plan));
        w.WriteNull("stop_sequence");
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", plan.PromptTokens);
        w.WriteNumber("output_tokens", plan.CompletionTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public IEnumerable<string> StreamPreamble(AnswerPlan plan)
    {
        yield return Event("message_start", w =>
        {
            w.WriteStartObject("message");
            w.WriteString("id", Id(plan));
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteString("model", plan.Model);
            w.WriteNull("stop_reason");
            w.WriteNull("stop_sequence");
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", plan.PromptTokens);
            w.WriteNumber("output_tokens", 1);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        yield return Event("content_block_start", w =>
        {
            w.WriteNumber("index", 0);
            w.WriteStartObject("content_block");
            w.WriteString("type", "text");
            w.WriteString("text", "");
            w.WriteEndObject();
        });
        yield return Event("ping", _ => { });
    }

    public string StreamDelta(AnswerPlan plan, string chunk) => Event("content_block_delta", w =>
    {
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        w.WriteString("type", "text_delta");
        w.WriteString("text", chunk);
        w.WriteEndObject();
    });

    public IEnumerable<string> StreamTail(AnswerPlan plan)
    {
        yield return Event("content_block_stop", w => w.WriteNumber("index", 0));
        yield return Event("message_delta", w =>
        {
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", StopReason(plan));
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            w.WriteStartObject("usage");
            w.WriteNumber("output_tokens", plan.CompletionTokens);
            w.WriteEndObject();
        });
        yield return Event("message_stop", _ => { });
    }

    public string StreamError(string type, string message) =>
        "event: error\ndata: " + ErrorBody(500, type, message, null) + "\n\n";

    public string ErrorBody(int status, string? type, string? message, string? code)
    {
        if (code == "context_length_exceeded")
        {
            type ??= "invalid_request_error";
            message ??= "prompt is too long: 210000 tokens > 200000 maximum";
        }
        var (defaultType, defaultMessage) = status switch
        {
            400 => ("invalid_request_error", "Invalid request."),
            401 => ("authentication_error", "invalid x-api-key"),
            403 => ("permission_error", "Your API key does not have permission to use the specified resource."),
            404 => ("not_found_error", "The requested resource could not be found."),
            413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
            429 => ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
            529 => ("overloaded_error", "Overloaded"),
            >= 500 => ("api_error", "Internal server error"),
            _ => ("invalid_request_error", $"Fake upstream status {status}."),
        };
        return JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type ?? defaultType);
            w.WriteString("message", message ?? defaultMessage);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static string Event(string name, Action<Utf8JsonWriter> fields) =>
        "event: " + name + "\ndata: " + JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", name);
            fields(w);
            w.WriteEndObject();
        }) + "\n\n";
}

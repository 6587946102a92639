using System.Runtime.InteropServices;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Pipeline;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI <c>POST /v1/embeddings</c> (string or array input, <c>encoding_format</c> float or base64, <c>dimensions</c>):
/// same admission, routing, failover, limits and ledger as chat. An OpenAI upstream receives the client's body as it is
/// and its answer comes back as it came (model rewritten); the simulated provider's vectors are written here.
/// </summary>
public static class EmbeddingsIngress
{
    /// <summary>OpenAI's limit on inputs per request.</summary>
    public const int MaxInputs = 2048;

    internal static async Task EmbeddingsAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits)
    {
        try
        {
            var key = HttpIngress.PresentedKey(http.Request, allowXApiKey: false)
                ?? throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            var request = await HttpIngress.ReadAsync(http, limits, Parse);
            var execution = await pipeline.EmbedAsync(key, request, http.RequestAborted);
            HttpIngress.WriteRouterHeaders(http.Response, execution.Ticket, execution.ServedBy, execution.Plan);
            var model = execution.Plan.RequestedModel;
            if (execution.Embeddings.Raw is { } raw)
            {
                await HttpIngress.WriteRawJsonAsync(http.Response, raw.Json, model);
                return;
            }
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => Write(w, model, request.EncodingFormat, execution.Embeddings));
        }
        catch (RouterException ex)
        {
            await OpenAiIngress.WriteErrorAsync(http.Response, ex);
        }
    }

    /// <summary>Maps an OpenAI embeddings request into canonical form, refusing what OpenAI refuses with the same <c>param</c>.</summary>
    public static EmbeddingRequest Parse(JsonElement root, ReadOnlyMemory<byte> raw)
    {
        JsonFields.RequireObject(root);
        var model = JsonFields.RequireString(root, "model");
        if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            throw JsonFields.Invalid("Missing required parameter: 'input'.", "input");
        var inputs = new List<string>();
        var tokenArrayTokens = 0;
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                inputs.Add(NonEmpty(input.GetString()!, "input"));
                break;
            case JsonValueKind.Array:
                var length = input.GetArrayLength();
                if (length == 0) throw JsonFields.Invalid("Invalid 'input': expected a non-empty array.", "input");
                if (input[0].ValueKind == JsonValueKind.Number)
                {
                    // One input given as tokens.
                    tokenArrayTokens = CheckTokens(input, "input");
                    break;
                }
                if (length > MaxInputs) throw JsonFields.Invalid($"Invalid 'input': at most {MaxInputs} inputs per request, got {length}.", "input");
                var i = 0;
                foreach (var item in input.EnumerateArray())
                {
                    var path = $"input[{i++}]";
                    if (item.ValueKind == JsonValueKind.String) inputs.Add(NonEmpty(item.GetString()!, path));
                    else if (item.ValueKind == JsonValueKind.Array) tokenArrayTokens += CheckTokens(item, path);
                    else throw JsonFields.Invalid($"Invalid type for '{path}': expected a string or an array of token ids.", path);
                }
                break;
            default:
                throw JsonFields.Invalid("Invalid type for 'input': expected a string, an array of strings or token arrays.", "input");
        }
        var format = JsonFields.OptionalString(root, "encoding_format");
        if (format is not (null or "float" or "base64"))
            throw JsonFields.Invalid($"Invalid 'encoding_format': '{format}' is not one of float, base64.", "encoding_format");
        return new EmbeddingRequest
        {
            Model = model,
            Inputs = inputs,
            TokenArrayTokens = tokenArrayTokens,
            EncodingFormat = format,
            Dimensions = JsonFields.OptionalPositiveInt(root, "dimensions"),
            User = JsonFields.OptionalString(root, "user"),
            Source = WireFormat.OpenAiChat,
            RawBody = raw,
        };
    }

    private static string NonEmpty(string s, string path) =>
        s.Length > 0 ? s : throw JsonFields.Invalid($"Invalid '{path}': an input must not be empty.", path);

    private static int CheckTokens(JsonElement tokens, string path)
    {
        var n = 0;
        foreach (var t in tokens.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var id) || id < 0)
                throw JsonFields.Invalid($"Invalid '{path}': token ids must be non-negative integers.", path);
            n++;
        }
        if (n == 0) throw JsonFields.Invalid($"Invalid '{path}': an input must not be empty.", path);
        return n;
    }

    /// <summary>OpenAI's embeddings answer for vectors Router produced itself (the simulated provider).</summary>
    internal static void Write(Utf8JsonWriter w, string model, string? encodingFormat, EmbeddingResult result)
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        var vectors = result.Vectors ?? [];
        for (var i = 0; i < vectors.Count; i++)
        {
            w.WriteStartObject();
            w.WriteString("object", "embedding");
            w.WriteNumber("index", i);
            if (encodingFormat == "base64")
            {
                // OpenAI's base64 form: the little-endian float32 array's bytes.
                w.WriteBase64String("embedding", MemoryMarshal.AsBytes(vectors[i].AsSpan()));
            }
            else
            {
                w.WriteStartArray("embedding");
                foreach (var v in vectors[i]) w.WriteNumberValue(v);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("model", model);
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", result.PromptTokens);
        w.WriteNumber("total_tokens", result.PromptTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

using System.Buffers;
using System.Text.Json;

namespace Router.Node.Wire;

/// <summary>
/// Same-wire passthrough: edits a JSON body by splicing bytes, so every value Router does not interpret reaches the
/// other side exactly as it was written (numbers, escapes, key order and whitespace included). One forward pass of a
/// <see cref="Utf8JsonReader"/> finds the few ranges to replace; everything between them is copied as it is.
/// </summary>
public static class JsonPassthrough
{
    /// <summary>
    /// A client's request on its way to an upstream of the same wire: the top-level <c>model</c> becomes
    /// <paramref name="model"/>; with <paramref name="ensureIncludeUsage"/> (streamed OpenAI chat and completions),
    /// <c>stream_options.include_usage</c> is made true so Router can meter the answer.
    /// </summary>
    /// <exception cref="JsonException">The body is not a JSON object.</exception>
    public static void RewriteRequest(ReadOnlySpan<byte> body, string model, bool ensureIncludeUsage, IBufferWriter<byte> output)
    {
        var edits = new EditList();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("The body is not a JSON object.");
        var objectEnd = -1;
        var members = 0;
        var sawModel = false;
        var sawStreamOptions = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                objectEnd = (int)reader.TokenStartIndex;
                break;
            }
            members++;
            var isModel = reader.ValueTextEquals("model"u8);
            var isStreamOptions = ensureIncludeUsage && reader.ValueTextEquals("stream_options"u8);
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (isModel)
            {
                sawModel = true;
                edits.Add(start, end, JsonString(model));
            }
            else if (isStreamOptions)
            {
                sawStreamOptions = true;
                edits.Add(start, end, StreamOptionsWithUsage(body[start..end]));
            }
        }
        if (objectEnd < 0) throw new JsonException("The body ended inside its object.");
        if (!sawModel) edits.Add(objectEnd, objectEnd, Concat(members++ > 0 ? ", \"model\": "u8 : "\"model\": "u8, JsonString(model)));
        if (ensureIncludeUsage && !sawStreamOptions)
            edits.Add(objectEnd, objectEnd, members > 0
                ? ", \"stream_options\": {\"include_usage\": true}"u8.ToArray()
                : "\"stream_options\": {\"include_usage\": true}"u8.ToArray());
        edits.Apply(body, output);
    }

    /// <summary>
    /// An upstream's answer (a JSON body or one SSE event's data) on its way back to a client of the same wire: the
    /// <c>model</c> the client sees is the one it asked for, at the top level and inside <c>message</c> (Anthropic's
    /// <c>message_start</c>) or <c>response</c> (Responses events). With <paramref name="dropUsage"/> the top-level
    /// <c>usage</c> is removed (Router asked for usage the client did not).
    /// </summary>
    public static void RewriteResponse(ReadOnlySpan<byte> body, string model, bool dropUsage, IBufferWriter<byte> output)
    {
        var edits = new EditList();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            Copy(body, output);
            return;
        }
        var replacement = JsonString(model);
        ScanObject(ref reader, replacement, dropUsage, edits, depth: 1);
        edits.Apply(body, output);
    }

    private static void ScanObject(ref Utf8JsonReader reader, byte[] model, bool dropUsage, EditList edits, int depth)
    {
        // The end of the previous member's value: removing a member removes from there (its comma) to its own end.
        var previousEnd = -1;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var isModel = reader.ValueTextEquals("model"u8);
            var isUsage = depth == 1 && dropUsage && reader.ValueTextEquals("usage"u8);
            var isNested = depth == 1 && (reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("response"u8));
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            if (isNested && reader.TokenType == JsonTokenType.StartObject)
            {
                ScanObject(ref reader, model, dropUsage: false, edits, depth + 1);
                previousEnd = (int)reader.BytesConsumed;
                continue;
            }
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (isModel && reader.TokenType == JsonTokenType.String) edits.Add(start, end, model);
            else if (isUsage && previousEnd >= 0) edits.Add(previousEnd, end, []);
            previousEnd = end;
        }
    }

    private static byte[] StreamOptionsWithUsage(ReadOnlySpan<byte> value)
    {
        var buffer = new ArrayBufferWriter<byte>(value.Length + 24);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            var reader = new Utf8JsonReader(value);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isUsage = reader.ValueTextEquals("include_usage"u8);
                    var name = reader.GetString()!;
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    if (isUsage) continue;
                    w.WritePropertyName(name);
                    w.WriteRawValue(value[start..(int)reader.BytesConsumed], skipInputValidation: true);
                }
            }
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] JsonString(string value)
    {
        var buffer = new ArrayBufferWriter<byte>(value.Length + 8);
        using (var w = new Utf8JsonWriter(buffer)) w.WriteStringValue(value);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        return result;
    }

    private static void Copy(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        if (bytes.IsEmpty) return;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>Replacements of byte ranges, added in ascending order of position.</summary>
    private sealed class EditList
    {
        private readonly List<(int Start, int End, byte[] With)> _edits = new(2);

        public void Add(int start, int end, byte[] with) => _edits.Add((start, end, with));

        public void Apply(ReadOnlySpan<byte> body, IBufferWriter<byte> output)
        {
            var at = 0;
            foreach (var (start, end, with) in _edits)
            {
                Copy(body[at..start], output);
                Copy(with, output);
                at = end;
            }
            Copy(body[at..], output);
        }
    }
}

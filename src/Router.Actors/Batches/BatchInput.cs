using System.Text.Json;
using Router.Contracts.Batches;

namespace Router.Actors.Batches;

/// <summary>One request line of a batch input file that passed the structural checks.</summary>
/// <param name="Index">0-based position among the valid request lines (the output order).</param>
/// <param name="LineNumber">1-based line in the file, for error reports.</param>
/// <param name="Body">The request body as raw JSON; the endpoint's own parser validates it when the item runs.</param>
public sealed record BatchItem(int Index, int LineNumber, string CustomId, string Body);

/// <summary>
/// Reads a batch input file in OpenAI's JSONL format (<c>{"custom_id","method","url","body"}</c> a line).
/// A bad line never sinks the batch: it becomes a <see cref="BatchLineError"/> for the error file and the rest
/// runs. Deterministic, so the HTTP API (which validates and counts) and the job (which re-reads the file on
/// every start) always agree on the items.
/// </summary>
public sealed class BatchInput
{
    private BatchInput(IReadOnlyList<BatchItem> items, IReadOnlyList<BatchLineError> errors)
    {
        Items = items;
        Errors = errors;
    }

    public IReadOnlyList<BatchItem> Items { get; }
    public IReadOnlyList<BatchLineError> Errors { get; }
    /// <summary>Request lines (blank lines aside), valid or not.</summary>
    public int Total => Items.Count + Errors.Count;

    /// <summary>Counts request lines without parsing them, to refuse an oversized batch cheaply.</summary>
    public static int CountLines(ReadOnlySpan<byte> content)
    {
        var count = 0;
        foreach (var range in content.Split((byte)'\n'))
        {
            if (!IsBlank(content[range])) count++;
        }
        return count;
    }

    public static BatchInput Parse(ReadOnlySpan<byte> content, string endpoint)
    {
        var items = new List<BatchItem>();
        var errors = new List<BatchLineError>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var range in content.Split((byte)'\n'))
        {
            lineNumber++;
            var line = content[range];
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (IsBlank(line)) continue;
            if (lineNumber == 1 && line.StartsWith("\uFEFF"u8)) line = line[3..];
            var (item, error) = ParseLine(line, lineNumber, items.Count, endpoint, seen);
            if (item is not null) items.Add(item);
            else errors.Add(error!);
        }
        return new BatchInput(items, errors);
    }

    private static (BatchItem?, BatchLineError?) ParseLine(
        ReadOnlySpan<byte> line, int lineNumber, int index, string endpoint, HashSet<string> seen)
    {
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 64 });
            doc = JsonDocument.ParseValue(ref reader);
            // Anything after the value (a second object on the line) is a malformed line too.
            if (reader.BytesConsumed != line.TrimEnd(" \t"u8).Length) throw new JsonException("unexpected data after the JSON value");
        }
        catch (JsonException ex)
        {
            return (null, Error(lineNumber, null, "invalid_json", $"Line {lineNumber} is not valid JSON ({ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0].TrimEnd('.')})."));
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, Error(lineNumber, null, "invalid_json", $"Line {lineNumber} must be a JSON object."));
            string? customId = root.TryGetProperty("custom_id", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            if (string.IsNullOrEmpty(customId))
                return (null, Error(lineNumber, null, "missing_custom_id", $"Line {lineNumber} has no custom_id (a non-empty string)."));
            if (!root.TryGetProperty("method", out var m) || m.ValueKind != JsonValueKind.String || m.GetString() != "POST")
                return (null, Error(lineNumber, customId, "invalid_method", $"Line {lineNumber}: method must be \"POST\"."));
            if (!root.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String || u.GetString() != endpoint)
                return (null, Error(lineNumber, customId, "invalid_url", $"Line {lineNumber}: url must be \"{endpoint}\", the batch's endpoint."));
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
                return (null, Error(lineNumber, customId, "missing_body", $"Line {lineNumber}: body must be a JSON object."));
            if (!seen.Add(customId))
                return (null, Error(lineNumber, customId, "duplicate_custom_id", $"Line {lineNumber}: custom_id '{customId}' is used by an earlier line."));
            return (new BatchItem(index, lineNumber, customId, body.GetRawText()), null);
        }
    }

    private static BatchLineError Error(int line, string? customId, string code, string message) => new(line, customId, code, message);

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).Length == 0;
}

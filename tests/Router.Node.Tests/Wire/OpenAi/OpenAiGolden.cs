using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Router.Node.Tests.Wire.OpenAi;

/// <summary>Golden files of the OpenAI chat wire and semantic comparison of JSON and SSE.</summary>
internal static class OpenAiGolden
{
    public static string Folder(string kind) => Path.Combine(AppContext.BaseDirectory, "Wire", "Golden", "openai", kind);

    /// <summary>The case names of a folder: every <c>name{suffix}</c> file there.</summary>
    public static TheoryData<string> Cases(string kind, string suffix)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder(kind), "*" + suffix).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            data.Add(name[..^suffix.Length]);
        }
        return data;
    }

    public static string Read(string kind, string file) => File.ReadAllText(Path.Combine(Folder(kind), file));

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// JSON re-serialized with sorted keys, numbers in one notation and strings unescaped, so two documents with
    /// the same meaning compare equal and a difference shows as a readable diff.
    /// </summary>
    public static string Canonical(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var sb = new StringBuilder();
        Append(sb, doc.RootElement, 0);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, JsonElement e, int depth)
    {
        var indent = new string(' ', 2 * (depth + 1));
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append("{\n");
                foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    sb.Append(indent).Append(JsonSerializer.Serialize(p.Name)).Append(": ");
                    Append(sb, p.Value, depth + 1);
                    sb.Append(",\n");
                }
                sb.Append(new string(' ', 2 * depth)).Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append("[\n");
                foreach (var item in e.EnumerateArray())
                {
                    sb.Append(indent);
                    Append(sb, item, depth + 1);
                    sb.Append(",\n");
                }
                sb.Append(new string(' ', 2 * depth)).Append(']');
                break;
            case JsonValueKind.Number:
                sb.Append(e.GetDecimal().ToString(CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.String:
                sb.Append('"').Append(e.GetString()).Append('"');
                break;
            default:
                sb.Append(e.GetRawText());
                break;
        }
    }

    /// <summary>The <c>data:</c> payloads of an SSE stream, in order.</summary>
    public static List<string> SseData(string sse)
    {
        var list = new List<string>();
        foreach (var block in sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.StartsWith("data: ", block, StringComparison.Ordinal);
            list.Add(block["data: ".Length..]);
        }
        return list;
    }
}

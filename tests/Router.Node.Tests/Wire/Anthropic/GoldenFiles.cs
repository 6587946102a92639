using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Anthropic;

/// <summary>
/// Golden-file plumbing: case discovery, semantic JSON and SSE comparison, and a JSON dump of canonical objects.
/// Set <c>ROUTER_UPDATE_GOLDEN=1</c> to rewrite the expected files in the source tree from the actual output
/// (then review the diff before committing).
/// </summary>
internal static class GoldenFiles
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Wire", "Golden", "anthropic");

    private static bool Update => Environment.GetEnvironmentVariable("ROUTER_UPDATE_GOLDEN") == "1";

    /// <summary>Case names in <paramref name="folder"/>: the files ending in <paramref name="suffix"/>, without it.</summary>
    public static TheoryData<string> Cases(string folder, string suffix)
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Root, folder), "*" + suffix).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f)[..^suffix.Length]);
        return data;
    }

    public static string Read(string folder, string file) => File.ReadAllText(Path.Combine(Root, folder, file));

    public static bool Exists(string folder, string file) => File.Exists(Path.Combine(Root, folder, file));

    /// <summary>Asserts that <paramref name="actualJson"/> equals the expected file as JSON (key order and spacing ignored).</summary>
    public static void AssertJson(string folder, string file, string actualJson)
    {
        if (Update)
        {
            WriteSource(folder, file, Pretty(actualJson));
            return;
        }
        Assert.Equal(Normalize(Read(folder, file)), Normalize(actualJson));
    }

    /// <summary>Asserts an SSE stream event by event: same event names, same data as JSON.</summary>
    public static void AssertSse(string folder, string file, string actualSse)
    {
        if (Update)
        {
            WriteSource(folder, file, actualSse);
            return;
        }
        var expected = ParseSse(Read(folder, file));
        var actual = ParseSse(actualSse);
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            Assert.Equal(expected[i].Event, actual[i].Event);
            Assert.Equal(Normalize(expected[i].Data), Normalize(actual[i].Data));
        }
        Assert.Equal(expected.Count, actual.Count);
    }

    public static List<(string Event, string Data)> ParseSse(string text)
    {
        var events = new List<(string, string)>();
        foreach (var chunk in text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in chunk.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal)) name = line[6..].Trim();
                else if (line.StartsWith("data:", StringComparison.Ordinal)) data.Append(line[5..].TrimStart());
            }
            if (data.Length > 0) events.Add((name ?? "", data.ToString()));
        }
        return events;
    }

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A canonical object (request, completion, stream events) as JSON, polymorphic parts and events named by type.</summary>
    public static string Canonical(object value) => JsonSerializer.Serialize(value, CanonicalOptions);

    private static readonly JsonSerializerOptions CanonicalOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { Shape } },
    };

    // Derived views (Text, Content, TotalTokens, …) and raw bodies would only repeat what the dump already shows.
    private static readonly HashSet<string> Derived =
    [
        "ChatMessage.Text", "ChatChoice.Text", "ChatCompletion.Content", "ChatCompletion.FinishReason", "ChatCompletion.Raw",
        "TokenUsage.TotalTokens", "TokenUsage.UncachedInputTokens", "ChatRequest.RawBody",
    ];

    private static void Shape(JsonTypeInfo info)
    {
        if (info.Type == typeof(ContentPart))
            info.PolymorphismOptions = Polymorphism(typeof(TextPart), typeof(ImagePart), typeof(ReasoningPart));
        if (info.Type == typeof(ChatStreamEvent))
            info.PolymorphismOptions = Polymorphism(typeof(StreamStarted), typeof(ContentDelta), typeof(ReasoningDelta),
                typeof(ToolCallStarted), typeof(ToolCallDelta), typeof(StreamFinished));
        if (info.Kind != JsonTypeInfoKind.Object) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            var p = info.Properties[i];
            var owner = p.AttributeProvider is System.Reflection.MemberInfo m ? m.DeclaringType?.Name : null;
            if (p.Name == "Commits" || Derived.Contains($"{owner}.{p.Name}")) info.Properties.RemoveAt(i);
        }
    }

    private static JsonPolymorphismOptions Polymorphism(params Type[] types)
    {
        var options = new JsonPolymorphismOptions { TypeDiscriminatorPropertyName = "$type" };
        foreach (var t in types) options.DerivedTypes.Add(new JsonDerivedType(t, t.Name));
        return options;
    }

    private static string Normalize(string json) => Sort(JsonNode.Parse(json))?.ToJsonString() ?? "null";

    private static string Pretty(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sort).ToArray()),
        _ => node?.DeepClone(),
    };

    private static void WriteSource(string folder, string file, string content, [CallerFilePath] string self = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(self)!, "..", "Golden", "anthropic", folder);
        File.WriteAllText(Path.Combine(dir, file), content.EndsWith('\n') ? content : content + "\n");
    }
}

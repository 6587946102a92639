using System.Text.Json;
using System.Text.Json.Nodes;

namespace Router.Node.Tests.Infrastructure;

/// <summary>Semantic JSON comparison: key order and whitespace do not matter, values do.</summary>
internal static class Json
{
    public static void Equal(string expected, string? actual)
    {
        Assert.NotNull(actual);
        var e = JsonNode.Parse(expected);
        var a = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(e, a), $"Expected JSON {e?.ToJsonString()}\n     but got {a?.ToJsonString()}");
    }

    public static void Equal(string expected, JsonElement actual) => Equal(expected, actual.GetRawText());

    public static void Equal(string expected, JsonNode? actual) => Equal(expected, actual?.ToJsonString());

    /// <summary>The text of a tool result's content, whether sent as a string or as text blocks.</summary>
    public static string ContentText(JsonNode? content) => content switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray blocks => string.Concat(blocks.Select(b => (string?)b!["text"] ?? throw new InvalidOperationException($"Not a text block: {b.ToJsonString()}"))),
        _ => throw new InvalidOperationException($"No content: {content?.ToJsonString()}"),
    };
}

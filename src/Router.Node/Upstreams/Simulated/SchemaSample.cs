using System.Buffers;
using System.Text.Json;

namespace Router.Node.Upstreams.Simulated;

/// <summary>
/// A small JSON value that satisfies a JSON Schema's shape: every required property present with a value of its type
/// (the first <c>enum</c> value when there is one). Enough for the simulated provider's tool calls and JSON answers.
/// </summary>
public static class SchemaSample
{
    /// <summary>A sample value for <paramref name="schemaJson"/>, as JSON text; <c>{}</c> for an unreadable schema.</summary>
    public static string Json(string schemaJson)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(schemaJson); }
        catch (JsonException) { return "{}"; }
        using (doc)
        {
            var buffer = new ArrayBufferWriter<byte>(64);
            using (var w = new Utf8JsonWriter(buffer)) Write(w, doc.RootElement, depth: 0);
            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
    }

    private static void Write(Utf8JsonWriter w, JsonElement schema, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 16)
        {
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }
        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[0].WriteTo(w);
            return;
        }
        var type = schema.TryGetProperty("type", out var t) ? t : default;
        if (type.ValueKind == JsonValueKind.Array) type = type.GetArrayLength() > 0 ? type[0] : default;
        switch (type.ValueKind == JsonValueKind.String ? type.GetString() : "object")
        {
            case "string": w.WriteStringValue("example"); break;
            case "integer": w.WriteNumberValue(1); break;
            case "number": w.WriteNumberValue(1.5); break;
            case "boolean": w.WriteBooleanValue(true); break;
            case "null": w.WriteNullValue(); break;
            case "array":
                w.WriteStartArray();
                if (schema.TryGetProperty("minItems", out var min) && min.TryGetInt32(out var n) && n > 0
                    && schema.TryGetProperty("items", out var items))
                    for (var i = 0; i < Math.Min(n, 3); i++) Write(w, items, depth + 1);
                w.WriteEndArray();
                break;
            default:
                w.WriteStartObject();
                if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array
                    && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
                {
                    foreach (var name in required.EnumerateArray())
                    {
                        if (name.ValueKind != JsonValueKind.String) continue;
                        var key = name.GetString()!;
                        w.WritePropertyName(key);
                        if (properties.TryGetProperty(key, out var property)) Write(w, property, depth + 1);
                        else w.WriteStringValue("example");
                    }
                }
                w.WriteEndObject();
                break;
        }
    }
}

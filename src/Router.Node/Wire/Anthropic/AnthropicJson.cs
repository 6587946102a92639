using System.Text.Json;
using Router.Contracts.Errors;

namespace Router.Node.Wire.Anthropic;

/// <summary>
/// Typed reads from an Anthropic request with errors worded as Anthropic words them (<c>messages.0.content: Field
/// required</c>) and <c>param</c> in Anthropic's dotted notation.
/// </summary>
internal static class AnthropicJson
{
    public static RouterException Invalid(string path, string problem) =>
        new(RouterErrorCode.InvalidRequest, $"{path}: {problem}", path);

    /// <summary>The property, or false when it is absent or JSON null (Anthropic treats both alike).</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    public static JsonElement RequireObject(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) throw Invalid(path, "Field required");
        if (v.ValueKind != JsonValueKind.Object) throw Invalid(path, "Input should be an object");
        return v;
    }

    public static string RequireString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) throw Invalid(path, "Field required");
        if (v.ValueKind != JsonValueKind.String) throw Invalid(path, "Input should be a valid string");
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw Invalid(path, "Input should be a valid string");
        return v.GetString();
    }

    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(path, "Input should be a valid boolean"),
        };
    }

    public static int? OptionalInt(JsonElement obj, string name, string path, int min)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw Invalid(path, "Input should be a valid integer");
        if (i < min) throw Invalid(path, $"Input should be greater than or equal to {min}");
        return i;
    }

    public static double? OptionalNumber(JsonElement obj, string name, string path, double min, double max)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Invalid(path, "Input should be a valid number");
        var d = v.GetDouble();
        if (d < min || d > max) throw Invalid(path, $"Input should be between {min} and {max}");
        return d;
    }

    /// <summary><c>cache_control</c> as raw JSON text, or null.</summary>
    public static string? CacheControl(JsonElement obj, string path)
    {
        if (!TryGet(obj, "cache_control", out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Invalid(path + ".cache_control", "Input should be an object");
        return v.GetRawText();
    }

    /// <summary>Records every non-null property of <paramref name="obj"/> not in <paramref name="known"/> as unmapped.</summary>
    public static void CollectUnknown(JsonElement obj, string path, ReadOnlySpan<string> known, List<string> unmapped)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null || known.Contains(p.Name)) continue;
            unmapped.Add(path.Length == 0 ? p.Name : $"{path}.{p.Name}");
        }
    }

    /// <summary>Writes raw JSON text (a value Router kept verbatim, such as <c>cache_control</c>).</summary>
    public static void WriteRaw(Utf8JsonWriter w, string name, string json)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(json, skipInputValidation: false);
    }
}

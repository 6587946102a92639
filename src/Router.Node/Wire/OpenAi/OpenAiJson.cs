using System.Text.Json;
using Router.Contracts.Errors;

namespace Router.Node.Wire.OpenAi;

/// <summary>
/// Typed reads at a path (<c>messages[2].content[0].text</c>) with OpenAI's <c>param</c> naming and the messages of
/// <c>Ingress.JsonFields</c>. JSON <c>null</c> counts as absent, as OpenAI treats it for optional fields.
/// </summary>
internal static class OpenAiJson
{
    public static RouterException Invalid(string message, string? param) => new(RouterErrorCode.InvalidRequest, message, param);

    public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    public static string RequireString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) throw Invalid($"Missing required parameter: '{path}'.", path);
        if (v.ValueKind != JsonValueKind.String) throw Invalid($"Invalid type for '{path}': expected a string.", path);
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw Invalid($"Invalid type for '{path}': expected a string.", path);
        return v.GetString();
    }

    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid($"Invalid type for '{path}': expected a boolean.", path),
        };
    }

    public static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Invalid($"Invalid type for '{name}': expected a number.", name);
        var d = v.GetDouble();
        if (d < min || d > max) throw Invalid($"Invalid '{name}': {d} is outside [{min}, {max}].", name);
        return d;
    }

    public static int? OptionalInt(JsonElement obj, string name, int min, int max)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw Invalid($"Invalid type for '{name}': expected an integer.", name);
        if (i < min || i > max)
            throw Invalid(max == int.MaxValue ? $"Invalid '{name}': must be at least {min}." : $"Invalid '{name}': {i} is outside [{min}, {max}].", name);
        return i;
    }

    public static JsonElement RequireObject(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) throw Invalid($"Missing required parameter: '{path}'.", path);
        if (v.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid type for '{path}': expected an object.", path);
        return v;
    }

    /// <summary>A JSON object given as-is (schemas, parameters), as raw text; null when absent.</summary>
    public static string? OptionalObjectText(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid type for '{path}': expected a JSON object.", path);
        return v.GetRawText();
    }

    /// <summary>OpenAI's rule for function and schema names: <c>^[a-zA-Z0-9_-]{1,64}$</c>.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64) return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')) return false;
        }
        return true;
    }

    public static string? GetStringOrNull(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int GetIntOrZero(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : 0;
}

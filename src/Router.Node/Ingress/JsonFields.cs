using System.Text.Json;
using Router.Contracts.Errors;

namespace Router.Node.Ingress;

/// <summary>Typed reads from a request's JSON with errors that name the field, as OpenAI's <c>param</c> does.</summary>
internal static class JsonFields
{
    public static JsonElement RequireObject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Invalid("The request body must be a JSON object.", null);
        return root;
    }

    public static string RequireString(JsonElement obj, string name, string? path = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            throw Invalid($"Missing required parameter: '{path ?? name}'.", path ?? name);
        if (v.ValueKind != JsonValueKind.String)
            throw Invalid($"Invalid type for '{path ?? name}': expected a string.", path ?? name);
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Invalid($"Invalid type for '{name}': expected a string.", name);
        return v.GetString();
    }

    public static bool OptionalBool(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return false;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid($"Invalid type for '{name}': expected a boolean.", name),
        };
    }

    public static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Invalid($"Invalid type for '{name}': expected a number.", name);
        var d = v.GetDouble();
        if (d < min || d > max) throw Invalid($"Invalid '{name}': {d} is outside [{min}, {max}].", name);
        return d;
    }

    public static int? OptionalPositiveInt(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw Invalid($"Invalid type for '{name}': expected an integer.", name);
        if (i < 1) throw Invalid($"Invalid '{name}': must be at least 1.", name);
        return i;
    }

    /// <summary>A string or an array of strings (OpenAI <c>stop</c>, Anthropic <c>stop_sequences</c>).</summary>
    public static IReadOnlyList<string>? OptionalStrings(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw Invalid($"Invalid type for '{name}': expected a string or an array of strings.", name);
        var list = new List<string>();
        foreach (var s in v.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String) throw Invalid($"Invalid type for '{name}': expected an array of strings.", name);
            list.Add(s.GetString()!);
        }
        return list;
    }

    /// <summary>Text content: a string, or an array of <c>{"type":"text","text":…}</c> parts joined together.</summary>
    public static string Content(JsonElement content, string path)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var parts = new List<string>();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid '{path}': parts must be objects.", path);
                    var type = part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                    if (type != "text")
                        throw Invalid($"Invalid '{path}': content parts of type '{type}' are not supported; send text parts.", path);
                    parts.Add(RequireString(part, "text", path + ".text"));
                }
                return string.Join("\n", parts);
            default:
                throw Invalid($"Invalid type for '{path}': expected a string or an array of content parts.", path);
        }
    }

    public static RouterException Invalid(string message, string? param) => new(RouterErrorCode.InvalidRequest, message, param);
}

using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Ingress;

namespace Router.Node.Wire.Responses;

/// <summary>
/// Typed reads of nested request fields whose errors name the full OpenAI path (<c>input[2].content[0].image_url</c>),
/// which <see cref="JsonFields"/> (top-level names only) cannot.
/// </summary>
internal static class WireFields
{
    /// <summary>The property, or default when it is absent or JSON null (OpenAI treats both as "not given").</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    public static string RequireString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) throw JsonFields.Invalid($"Missing required parameter: '{path}'.", path);
        if (v.ValueKind != JsonValueKind.String) throw JsonFields.Invalid($"Invalid type for '{path}': expected a string.", path);
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw JsonFields.Invalid($"Invalid type for '{path}': expected a string.", path);
        return v.GetString();
    }

    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw JsonFields.Invalid($"Invalid type for '{path}': expected a boolean.", path),
        };
    }

    public static JsonElement RequireObject(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) throw JsonFields.Invalid($"Invalid type for '{path}': expected an object.", path);
        return value;
    }

    /// <summary>
    /// An image URL as OpenAI takes it: http(s), or a base64 <c>data:</c> URL which becomes the inline form.
    /// </summary>
    public static ImagePart Image(string url, string? detail, string path)
    {
        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            return new ImagePart { Url = url, Detail = detail };
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            // data:<media type>;base64,<data>: the only inline form an image part can take.
            var comma = url.IndexOf(',');
            var header = comma > 5 ? url[5..comma] : "";
            const string base64 = ";base64";
            if (comma < 0 || !header.EndsWith(base64, StringComparison.OrdinalIgnoreCase) || header.Length == base64.Length)
                throw JsonFields.Invalid($"Invalid '{path}': expected a base64 data URL (data:image/png;base64,...).", path);
            var data = url[(comma + 1)..];
            if (data.Length == 0) throw JsonFields.Invalid($"Invalid '{path}': the data URL holds no data.", path);
            return new ImagePart { MediaType = header[..^base64.Length], Base64Data = data, Detail = detail };
        }
        throw JsonFields.Invalid($"Invalid '{path}': expected an http(s) URL or a base64 data URL.", path);
    }

    /// <summary>Adds <c>path.key</c> for each key of <paramref name="obj"/> not in <paramref name="known"/>.</summary>
    public static void CollectUnknown(JsonElement obj, string path, ReadOnlySpan<string> known, List<string> unmapped)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null) continue;
            if (!known.Contains(p.Name)) unmapped.Add(path + "." + p.Name);
        }
    }
}

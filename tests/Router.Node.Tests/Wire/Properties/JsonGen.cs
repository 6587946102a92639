using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Arbitrary JSON as raw text (so it can hold what a client may send and .NET would not write: <c>1e400</c>, lone
/// surrogate escapes, huge integers), built from the wires' own field names and values so parsers get past their first
/// checks; and mutations of valid request bodies (a node replaced, removed, or a field added) to reach deep paths.
/// </summary>
internal static class JsonGen
{
    public static readonly string[] Names =
    [
        "model", "messages", "role", "content", "type", "text", "image_url", "url", "detail", "tool_calls", "function", "name",
        "arguments", "tool_call_id", "tools", "parameters", "strict", "tool_choice", "response_format", "json_schema", "schema",
        "stop", "max_tokens", "max_completion_tokens", "thinking", "budget_tokens", "system", "source", "data", "media_type",
        "tool_use_id", "input", "input_schema", "cache_control", "metadata", "user_id", "stream", "stream_options",
        "include_usage", "reasoning_effort", "seed", "n", "temperature", "top_p", "top_k", "instructions", "call_id", "output",
        "reasoning", "effort", "format", "max_output_tokens", "prompt", "suffix", "echo", "logprobs", "best_of", "id", "is_error",
        "disable_parallel_tool_use", "parallel_tool_calls", "stop_sequences", "user", "signature", "description", "refusal",
        "previous_response_id", "summary", "store", "modalities", "audio", "logit_bias",
    ];

    private static readonly string[] Words =
    [
        "user", "assistant", "system", "developer", "tool", "function", "text", "image_url", "image", "tool_use", "tool_result",
        "thinking", "redacted_thinking", "base64", "url", "file", "json_schema", "json_object", "auto", "none", "required",
        "any", "enabled", "disabled", "message", "function_call", "function_call_output", "input_text", "input_image",
        "output_text", "custom", "low", "high", "medium", "minimal", "xhigh", "image/png", "image/bmp", "ephemeral", "",
        "data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,!!", "data:text/plain,hi", "data:", "https://x.test/a.png",
        "ftp://x.test/a.png", "not a url", "{}", "{\"a\":", "[1]", "get_weather", "bad name", "call_1", "toolu_1",
    ];

    // Raw JSON string literals with escapes: a NUL, an escaped slash, a surrogate pair, control characters.
    private static readonly string[] Escapes = ["\"\\u0000\"", "\"\\/\"", "\"\\uD83D\\uDE42\"", "\"\\n\\t\"", "\"\\u00e9\\u2028\""];

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "2", "3.5", "0.5", "1.0", "1e400", "-1e400", "1e-400", "12345678901234567890", "-12345678901234567890",
        "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1024", "4096", "128", "129", "4.9e-324", "1E2",
    ];

    private static readonly Gen<string> Scalar = Gen.Frequency(
        (1, Gen.Elements("null", "true", "false")),
        (2, Gen.Elements(Numbers)),
        (4, Gen.Elements(Words).Select(Quote)),
        (1, Gen.Elements(Escapes)),
        (1, CanonicalGen.Text.Select(Quote)));

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    /// <summary>Any JSON value, nested up to <paramref name="depth"/>.</summary>
    public static Gen<string> Value(int depth)
    {
        if (depth <= 0) return Scalar;
        var inner = Value(depth - 1);
        var array = Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(inner, n)).Select(items => "[" + string.Join(",", items) + "]");
        var obj = Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(
                from name in Gen.Elements(Names)
                from value in inner
                select (name, value), n))
            .Select(fields => "{" + string.Join(",", fields.DistinctBy(f => f.name).Select(f => Quote(f.name) + ":" + f.value)) + "}");
        return Gen.Frequency((2, Scalar), (1, array), (3, obj));
    }

    /// <summary>A top-level request-like object: model and messages or input usually present, anything inside.</summary>
    public static readonly Gen<string> RequestLike =
        from model in Gen.Frequency((5, Gen.Constant("\"model\":\"m\",")), (1, Gen.Constant("")))
        from n in Gen.Choose(1, 5)
        from fields in Gen.ArrayOf(
            from name in Gen.Elements(Names)
            from value in Value(3)
            select Quote(name) + ":" + value, n)
        select "{" + model + string.Join(",", fields) + "}";

    /// <summary>Up to three mutations of <paramref name="json"/>: a node replaced by any value, removed, or given a new field.</summary>
    public static Gen<string> Mutate(string json) =>
        from count in Gen.Choose(1, 3)
        from steps in Gen.ArrayOf(
            from pick in Gen.Choose(0, int.MaxValue - 1)
            from op in Gen.Choose(0, 2)
            from name in Gen.Elements(Names)
            from value in Value(2)
            select (pick, op, name, value), count)
        select Apply(json, steps);

    private static string Apply(string json, (int Pick, int Op, string Name, string Value)[] steps)
    {
        var root = JsonNode.Parse(json)!;
        var text = json;
        foreach (var (pick, op, name, value) in steps)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[pick % nodes.Count];
            // The replacement goes in as a placeholder string, swapped for the raw text at the end: JsonNode cannot
            // hold every raw value (1e400, 12345678901234567890) as a client wrote it.
            var placeholder = JsonValue.Create($"@@{Guid.NewGuid():N}@@");
            switch (op)
            {
                case 0 when target.Parent is JsonObject parent:
                    parent[target.GetPropertyName()] = placeholder;
                    break;
                case 0 when target.Parent is JsonArray array:
                    array[target.GetElementIndex()] = placeholder;
                    break;
                case 1 when target.Parent is JsonObject parent:
                    parent.Remove(target.GetPropertyName());
                    continue;
                case 1 when target.Parent is JsonArray array:
                    array.RemoveAt(target.GetElementIndex());
                    continue;
                case 2 when target is JsonObject obj:
                    obj[name] = placeholder;
                    break;
                case 2 when target is JsonArray array:
                    array.Add(placeholder);
                    break;
                default:
                    continue;
            }
            text = root.ToJsonString();
            text = text.Replace(Quote(placeholder.GetValue<string>()), value, StringComparison.Ordinal);
            root = JsonNode.Parse(text)!;
        }
        return text;
    }

    /// <summary><paramref name="json"/> with one of its strings replaced by the raw JSON string <paramref name="literal"/>.</summary>
    public static Gen<string> ReplaceString(string json, string literal) =>
        Gen.Choose(0, int.MaxValue - 1).Select(pick =>
        {
            var root = JsonNode.Parse(json)!;
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var strings = nodes.Where(n => n.GetValueKind() == System.Text.Json.JsonValueKind.String && n.Parent is not null).ToList();
            var target = strings[pick % strings.Count];
            var placeholder = JsonValue.Create($"@@{Guid.NewGuid():N}@@");
            if (target.Parent is JsonObject parent) parent[target.GetPropertyName()] = placeholder;
            else ((JsonArray)target.Parent!)[target.GetElementIndex()] = placeholder;
            return root.ToJsonString().Replace(Quote(placeholder.GetValue<string>()), literal, StringComparison.Ordinal);
        });

    private static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                    if (child is not null) Collect(child, nodes);
                break;
            case JsonArray array:
                foreach (var child in array)
                    if (child is not null) Collect(child, nodes);
                break;
        }
    }
}

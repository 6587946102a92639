using System.Buffers.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using static Router.Node.Wire.OpenAi.OpenAiJson;

namespace Router.Node.Wire.OpenAi;

/// <summary>
/// OpenAI Chat Completions (<c>POST /v1/chat/completions</c>) to and from the canonical chat model.
/// </summary>
/// <remarks>
/// <para>
/// Reading a client request validates what the canonical model holds with OpenAI's own 400s (<c>param</c> in OpenAI
/// notation). Fields the canonical model cannot hold are not errors: they are listed in
/// <see cref="ChatRequest.UnmappedFields"/> (an OpenAI upstream gets the raw body anyway; only a translation to another
/// wire refuses them). Fields that change nothing about the answer's content are neither errors nor unmapped:
/// <c>store</c>, <c>metadata</c>, <c>service_tier</c>, <c>prompt_cache_key</c>, <c>prompt_cache_retention</c>,
/// <c>safety_identifier</c>, <c>logprobs: false</c>, <c>modalities: ["text"]</c> and <c>stream_options</c> beyond
/// <c>include_usage</c>.
/// </para>
/// <para>
/// Deliberate drops when writing: <see cref="ReasoningPart"/> (Chat Completions has no field for reasoning, neither in
/// requests nor in answers) and <see cref="ContentPart.CacheControlJson"/> / <see cref="ToolDefinition.CacheControlJson"/>
/// (OpenAI caches prompts automatically). A failed tool result (<see cref="ChatMessage.IsError"/>) keeps its text, the
/// only way Chat Completions can tell the model.
/// </para>
/// </remarks>
public static partial class OpenAiChatWire
{
    private static readonly string[] ImageMediaTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];
    private static readonly string[] ReasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh"];
    private const string EmptyParameters = """{"type":"object","properties":{}}""";

    /// <summary>Maps a client's OpenAI chat request into the canonical model; throws a 400 <see cref="RouterException"/> when invalid.</summary>
    public static ChatRequest ParseRequest(JsonElement root, ReadOnlyMemory<byte> rawBody)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Invalid("The request body must be a JSON object.", null);
        var unmapped = new List<string>();
        var model = RequireString(root, "model", "model");
        var messages = ParseMessages(root, unmapped);
        var tools = ParseTools(root, unmapped);
        var toolChoice = ParseToolChoice(root, tools, unmapped);

        var includeUsage = false;
        if (TryGet(root, "stream_options", out var so))
        {
            if (so.ValueKind != JsonValueKind.Object) throw Invalid("Invalid type for 'stream_options': expected an object.", "stream_options");
            includeUsage = OptionalBool(so, "include_usage", "stream_options.include_usage") ?? false;
        }

        string? effort = null;
        if (OptionalString(root, "reasoning_effort", "reasoning_effort") is { } e)
        {
            if (Array.IndexOf(ReasoningEfforts, e) < 0)
                throw Invalid($"Invalid 'reasoning_effort': '{e}' is not one of {string.Join(", ", ReasoningEfforts)}.", "reasoning_effort");
            effort = e;
        }

        long? seed = null;
        if (TryGet(root, "seed", out var s))
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var sv)) throw Invalid("Invalid type for 'seed': expected an integer.", "seed");
            seed = sv;
        }

        CollectUnmappedTopLevel(root, unmapped);

        return new ChatRequest
        {
            Model = model,
            Messages = messages,
            Temperature = OptionalNumber(root, "temperature", 0, 2),
            TopP = OptionalNumber(root, "top_p", 0, 1),
            MaxTokens = OptionalInt(root, "max_completion_tokens", 1, int.MaxValue) is { } mct
                ? CheckedMaxTokens(root, mct)
                : OptionalInt(root, "max_tokens", 1, int.MaxValue),
            Stop = ParseStop(root),
            Seed = seed,
            N = OptionalInt(root, "n", 1, 128),
            PresencePenalty = OptionalNumber(root, "presence_penalty", -2, 2),
            FrequencyPenalty = OptionalNumber(root, "frequency_penalty", -2, 2),
            Stream = OptionalBool(root, "stream", "stream") ?? false,
            IncludeUsage = includeUsage,
            User = OptionalString(root, "user", "user"),
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = OptionalBool(root, "parallel_tool_calls", "parallel_tool_calls"),
            ResponseFormat = ParseResponseFormat(root),
            Reasoning = effort is null ? null : new ReasoningSettings { Effort = effort },
            Source = WireFormat.OpenAiChat,
            RawBody = rawBody,
            UnmappedFields = unmapped,
        };
    }

    // max_completion_tokens wins when both are sent (it is the newer name), but max_tokens must still be valid.
    private static int CheckedMaxTokens(JsonElement root, int maxCompletionTokens)
    {
        OptionalInt(root, "max_tokens", 1, int.MaxValue);
        return maxCompletionTokens;
    }

    private static IReadOnlyList<string>? ParseStop(JsonElement root)
    {
        if (!TryGet(root, "stop", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw Invalid("Invalid type for 'stop': expected a string or an array of strings.", "stop");
        if (v.GetArrayLength() > 4) throw Invalid("Invalid 'stop': at most 4 stop sequences are allowed.", "stop");
        var list = new List<string>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Invalid("Invalid type for 'stop': expected an array of strings.", "stop");
            list.Add(item.GetString()!);
        }
        return list.Count == 0 ? null : list;
    }

    private static void CollectUnmappedTopLevel(JsonElement root, List<string> unmapped)
    {
        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model" or "messages" or "temperature" or "top_p" or "max_tokens" or "max_completion_tokens" or "stop"
                    or "seed" or "n" or "presence_penalty" or "frequency_penalty" or "stream" or "stream_options" or "user"
                    or "tools" or "tool_choice" or "parallel_tool_calls" or "response_format" or "reasoning_effort":
                    break;
                // Off the answer's content: billing, retention, routing and caching hints.
                case "store" or "metadata" or "service_tier" or "prompt_cache_key" or "prompt_cache_retention" or "safety_identifier":
                    break;
                case "logprobs":
                    if (v.ValueKind == JsonValueKind.True) unmapped.Add(p.Name);
                    break;
                case "modalities":
                    if (!IsTextOnlyModalities(v)) unmapped.Add(p.Name);
                    break;
                default:
                    // top_logprobs, logit_bias, audio, prediction, web_search_options, functions, function_call, verbosity
                    // and any field newer than this code.
                    if (v.ValueKind != JsonValueKind.Null) unmapped.Add(p.Name);
                    break;
            }
        }
    }

    private static bool IsTextOnlyModalities(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null) return true;
        if (v.ValueKind != JsonValueKind.Array) return false;
        foreach (var m in v.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.String || m.GetString() != "text") return false;
        }
        return true;
    }

    private static List<ChatMessage> ParseMessages(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "messages", out var messages)) throw Invalid("Missing required parameter: 'messages'.", "messages");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw Invalid("Invalid 'messages': expected a non-empty array.", "messages");

        var list = new List<ChatMessage>(messages.GetArrayLength());
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var path = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid '{path}': expected an object.", path);
            var roleText = RequireString(m, "role", path + ".role");
            if (roleText == "function")
            {
                // The deprecated function-calling protocol: an OpenAI upstream still takes it, the canonical model cannot.
                unmapped.Add(path);
                continue;
            }
            var role = roleText switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                "tool" => ChatRole.Tool,
                _ => throw Invalid(
                    $"Invalid '{path}.role': '{roleText}' is not supported (use system, developer, user, assistant or tool).", path + ".role"),
            };
            foreach (var p in m.EnumerateObject())
            {
                if (!IsMessageField(role, p.Name) && p.Value.ValueKind != JsonValueKind.Null) unmapped.Add($"{path}.{p.Name}");
            }
            list.Add(role switch
            {
                ChatRole.Assistant => ParseAssistant(m, path, callIds, unmapped),
                ChatRole.Tool => ParseToolResult(m, path, callIds),
                _ => new ChatMessage(role, ParseContent(m, role, path, unmapped, required: true))
                {
                    Name = OptionalString(m, "name", path + ".name"),
                },
            });
        }
        return list;
    }

    private static bool IsMessageField(ChatRole role, string name) => name switch
    {
        "role" or "content" => true,
        "name" => role != ChatRole.Tool,
        "tool_call_id" => role == ChatRole.Tool,
        // refusal, audio and function_call are known on assistant messages but unmodelled: reported as unmapped.
        "tool_calls" => role == ChatRole.Assistant,
        _ => false,
    };

    private static ChatMessage ParseAssistant(JsonElement m, string path, HashSet<string> callIds, List<string> unmapped)
    {
        var calls = new List<ToolCall>();
        if (TryGet(m, "tool_calls", out var tc))
        {
            if (tc.ValueKind != JsonValueKind.Array) throw Invalid($"Invalid type for '{path}.tool_calls': expected an array.", path + ".tool_calls");
            var k = 0;
            foreach (var call in tc.EnumerateArray())
            {
                var cpath = $"{path}.tool_calls[{k++}]";
                if (call.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid '{cpath}': expected an object.", cpath);
                var id = RequireString(call, "id", cpath + ".id");
                var type = OptionalString(call, "type", cpath + ".type") ?? "function";
                if (type == "custom")
                {
                    // A custom-tool call (free-form input): its id still answers a later tool message.
                    callIds.Add(id);
                    unmapped.Add(cpath);
                    continue;
                }
                if (type != "function") throw Invalid($"Invalid '{cpath}.type': '{type}' is not supported (use function).", cpath + ".type");
                var fn = RequireObject(call, "function", cpath + ".function");
                var name = RequireString(fn, "name", cpath + ".function.name");
                var arguments = RequireString(fn, "arguments", cpath + ".function.arguments");
                callIds.Add(id);
                calls.Add(new ToolCall(id, name, arguments));
            }
        }
        // Content may be null when the assistant only called tools (or answered with a refusal, audio or a function call).
        var hasOther = calls.Count > 0 || TryGet(m, "tool_calls", out _) || TryGet(m, "refusal", out _) || TryGet(m, "audio", out _)
            || TryGet(m, "function_call", out _);
        var parts = ParseContent(m, ChatRole.Assistant, path, unmapped, required: !hasOther);
        // An empty string beside tool calls says nothing; other wires refuse empty text blocks.
        if (calls.Count > 0 && parts is [TextPart { Text.Length: 0 }]) parts = [];
        return new ChatMessage(ChatRole.Assistant, parts)
        {
            ToolCalls = calls,
            Name = OptionalString(m, "name", path + ".name"),
        };
    }

    private static ChatMessage ParseToolResult(JsonElement m, string path, HashSet<string> callIds)
    {
        var id = RequireString(m, "tool_call_id", path + ".tool_call_id");
        if (!callIds.Contains(id))
            throw Invalid($"Invalid '{path}.tool_call_id': '{id}' does not answer a tool call of an earlier assistant message.", path + ".tool_call_id");
        return new ChatMessage(ChatRole.Tool, ParseContent(m, ChatRole.Tool, path, [], required: true)) { ToolCallId = id };
    }

    private static IReadOnlyList<ContentPart> ParseContent(JsonElement m, ChatRole role, string path, List<string> unmapped, bool required)
    {
        var cpath = path + ".content";
        if (!TryGet(m, "content", out var content))
        {
            if (required) throw Invalid($"Missing required parameter: '{cpath}'.", cpath);
            return [];
        }
        if (content.ValueKind == JsonValueKind.String) return [new TextPart(content.GetString()!)];
        if (content.ValueKind != JsonValueKind.Array)
            throw Invalid($"Invalid type for '{cpath}': expected a string or an array of content parts.", cpath);

        var parts = new List<ContentPart>(content.GetArrayLength());
        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var ppath = $"{cpath}[{j++}]";
            if (part.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid '{ppath}': expected an object.", ppath);
            var type = RequireString(part, "type", ppath + ".type");
            switch (type)
            {
                case "text":
                    parts.Add(new TextPart(RequireString(part, "text", ppath + ".text")));
                    break;
                case "image_url" when role == ChatRole.User:
                    parts.Add(ParseImage(part, ppath));
                    break;
                case "input_audio" or "file" when role == ChatRole.User:
                    unmapped.Add(ppath);
                    break;
                case "refusal" when role == ChatRole.Assistant:
                    unmapped.Add(ppath);
                    break;
                case "image_url" or "input_audio" or "file" or "refusal":
                    throw Invalid($"Invalid '{ppath}.type': '{type}' parts are not allowed in {RoleName(role)} messages.", ppath + ".type");
                default:
                    throw Invalid($"Invalid '{ppath}.type': '{type}' is not a supported content part type.", ppath + ".type");
            }
        }
        return parts;
    }

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.Assistant => "assistant",
        ChatRole.Tool => "tool",
        _ => "user",
    };

    private static ImagePart ParseImage(JsonElement part, string ppath)
    {
        var ipath = ppath + ".image_url";
        if (!TryGet(part, "image_url", out var image)) throw Invalid($"Missing required parameter: '{ipath}'.", ipath);
        string url;
        string? detail = null;
        var upath = ipath + ".url";
        if (image.ValueKind == JsonValueKind.String)
        {
            // The early vision preview took the URL as a plain string; some clients still send it so.
            url = image.GetString()!;
            upath = ipath;
        }
        else if (image.ValueKind == JsonValueKind.Object)
        {
            url = RequireString(image, "url", upath);
            detail = OptionalString(image, "detail", ipath + ".detail");
            if (detail is not (null or "auto" or "low" or "high"))
                throw Invalid($"Invalid '{ipath}.detail': '{detail}' is not one of auto, low, high.", ipath + ".detail");
        }
        else
        {
            throw Invalid($"Invalid type for '{ipath}': expected an object.", ipath);
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',');
            var header = comma < 0 ? "" : url[5..comma];
            if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw Invalid($"Invalid '{upath}': expected a base64 data URL (data:image/png;base64,...).", upath);
            var mediaType = header[..^";base64".Length].ToLowerInvariant();
            if (Array.IndexOf(ImageMediaTypes, mediaType) < 0)
                throw Invalid($"Invalid '{upath}': image type '{mediaType}' is not supported (use image/png, image/jpeg, image/gif or image/webp).", upath);
            var data = url[(comma + 1)..];
            if (data.Length == 0 || !Base64.IsValid(data))
                throw Invalid($"Invalid '{upath}': the image data is not valid base64.", upath);
            return new ImagePart { MediaType = mediaType, Base64Data = data, Detail = detail };
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw Invalid($"Invalid '{upath}': expected an http(s) URL or a base64 data URL.", upath);
        return new ImagePart { Url = url, Detail = detail };
    }

    private static List<ToolDefinition> ParseTools(JsonElement root, List<string> unmapped)
    {
        var tools = new List<ToolDefinition>();
        if (!TryGet(root, "tools", out var arr)) return tools;
        if (arr.ValueKind != JsonValueKind.Array) throw Invalid("Invalid type for 'tools': expected an array.", "tools");
        var i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            var path = $"tools[{i++}]";
            if (t.ValueKind != JsonValueKind.Object) throw Invalid($"Invalid '{path}': expected an object.", path);
            var type = RequireString(t, "type", path + ".type");
            if (type != "function")
            {
                // custom tools and whatever OpenAI adds next: only an OpenAI upstream knows them.
                unmapped.Add(path);
                continue;
            }
            var fn = RequireObject(t, "function", path + ".function");
            var name = RequireString(fn, "name", path + ".function.name");
            if (!IsValidName(name))
                throw Invalid($"Invalid '{path}.function.name': '{name}' does not match '^[a-zA-Z0-9_-]{{1,64}}$'.", path + ".function.name");
            tools.Add(new ToolDefinition(
                name,
                OptionalString(fn, "description", path + ".function.description"),
                OptionalObjectText(fn, "parameters", path + ".function.parameters") ?? EmptyParameters)
            {
                Strict = OptionalBool(fn, "strict", path + ".function.strict"),
            });
        }
        return tools;
    }

    private static ToolChoice? ParseToolChoice(JsonElement root, List<ToolDefinition> tools, List<string> unmapped)
    {
        if (!TryGet(root, "tool_choice", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String)
        {
            return v.GetString() switch
            {
                "auto" => ToolChoice.Auto,
                "none" => ToolChoice.None,
                "required" => ToolChoice.Required,
                var other => throw Invalid($"Invalid 'tool_choice': '{other}' is not one of none, auto, required.", "tool_choice"),
            };
        }
        if (v.ValueKind != JsonValueKind.Object) throw Invalid("Invalid type for 'tool_choice': expected a string or an object.", "tool_choice");
        var type = RequireString(v, "type", "tool_choice.type");
        if (type is "allowed_tools" or "custom")
        {
            unmapped.Add("tool_choice");
            return null;
        }
        if (type != "function") throw Invalid($"Invalid 'tool_choice.type': '{type}' is not supported (use function).", "tool_choice.type");
        var fn = RequireObject(v, "function", "tool_choice.function");
        var name = RequireString(fn, "name", "tool_choice.function.name");
        var declared = false;
        foreach (var t in tools) declared |= t.Name == name;
        if (!declared)
            throw Invalid($"Invalid 'tool_choice.function.name': no function named '{name}' is declared in 'tools'.", "tool_choice.function.name");
        return new ToolChoice(ToolChoiceMode.Named, name);
    }

    private static ResponseFormat? ParseResponseFormat(JsonElement root)
    {
        if (!TryGet(root, "response_format", out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Invalid("Invalid type for 'response_format': expected an object.", "response_format");
        var type = RequireString(v, "type", "response_format.type");
        switch (type)
        {
            case "text":
                return ResponseFormat.Text;
            case "json_object":
                return ResponseFormat.JsonObject;
            case "json_schema":
                var js = RequireObject(v, "json_schema", "response_format.json_schema");
                var name = RequireString(js, "name", "response_format.json_schema.name");
                if (!IsValidName(name))
                    throw Invalid($"Invalid 'response_format.json_schema.name': '{name}' does not match '^[a-zA-Z0-9_-]{{1,64}}$'.",
                        "response_format.json_schema.name");
                return new ResponseFormat(ResponseFormatKind.JsonSchema)
                {
                    Name = name,
                    Description = OptionalString(js, "description", "response_format.json_schema.description"),
                    SchemaJson = OptionalObjectText(js, "schema", "response_format.json_schema.schema"),
                    Strict = OptionalBool(js, "strict", "response_format.json_schema.strict"),
                };
            default:
                throw Invalid($"Invalid 'response_format.type': '{type}' is not one of text, json_object, json_schema.", "response_format.type");
        }
    }
}

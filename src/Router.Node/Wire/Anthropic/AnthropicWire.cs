using System.Buffers.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Contracts.Chat;
using static Router.Node.Wire.Anthropic.AnthropicJson;

namespace Router.Node.Wire.Anthropic;

/// <summary>
/// Anthropic Messages (<c>POST /v1/messages</c>, API version 2023-06-01) to and from the canonical model: the client
/// request, the upstream request, the JSON answer both ways. Streams are <see cref="AnthropicEventReader"/> and
/// <see cref="AnthropicEventWriter"/>. Pure: no I/O, no clock.
/// </summary>
/// <remarks>
/// <para>Fields the canonical model cannot hold are not errors on this wire (an Anthropic upstream receives the raw
/// body), they are listed in <see cref="ChatRequest.UnmappedFields"/> so that translation to another wire refuses them.
/// <c>service_tier</c> is read and ignored: it only picks a capacity pool, so leaving it behind on another wire changes
/// nothing the client can observe in the answer.</para>
/// <para>Deliberate drops when writing to Anthropic: <see cref="ImagePart.Detail"/> (Anthropic has no such setting),
/// <see cref="ToolDefinition.Strict"/> and <see cref="ResponseFormat.Strict"/> (Anthropic validates tool input against
/// the schema without an opt-in), OpenAI <c>presence_penalty</c>/<c>frequency_penalty</c> of exactly 0 (the default).</para>
/// </remarks>
public static partial class AnthropicWire
{
    /// <summary>The tool name used for a json response format without a schema name.</summary>
    public const string DefaultResponseToolName = "json_response";

    private static readonly string[] TopLevelFields =
    [
        "model", "messages", "max_tokens", "system", "temperature", "top_p", "top_k", "stop_sequences", "stream",
        "metadata", "tools", "tool_choice", "thinking", "service_tier",
    ];

    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex ToolNamePattern();

    internal static bool IsValidToolName(string name) => ToolNamePattern().IsMatch(name);

    internal static bool IsSupportedMediaType(string? mediaType) => mediaType is not null && ImageMediaTypes.Contains(mediaType);

    /// <summary>
    /// Maps a client's Messages request into the canonical model. Throws <see cref="Router.Contracts.Errors.RouterException"/>
    /// (InvalidRequest) with <c>param</c> in Anthropic notation (<c>messages.2.content.0.source.data</c>).
    /// </summary>
    public static ChatRequest ParseRequest(JsonElement root, ReadOnlyMemory<byte> rawBody)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new Router.Contracts.Errors.RouterException(Router.Contracts.Errors.RouterErrorCode.InvalidRequest, "The request body must be a JSON object.");
        var unmapped = new List<string>();
        CollectUnknown(root, "", TopLevelFields, unmapped);

        var model = RequireString(root, "model", "model");
        if (!TryGet(root, "max_tokens", out _)) throw Invalid("max_tokens", "Field required");
        var maxTokens = OptionalInt(root, "max_tokens", "max_tokens", 1)!.Value;
        if (!TryGet(root, "messages", out var messages)) throw Invalid("messages", "Field required");
        if (messages.ValueKind != JsonValueKind.Array) throw Invalid("messages", "Input should be a valid list");
        if (messages.GetArrayLength() == 0) throw Invalid("messages", "List should have at least 1 item");

        var list = new List<ChatMessage>(messages.GetArrayLength() + 1);
        if (TryGet(root, "system", out var system)) list.Add(ParseSystem(system, unmapped));

        var toolUseIds = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var m in messages.EnumerateArray())
            ParseMessage(m, $"messages.{i++}", list, toolUseIds, unmapped);

        string? user = null;
        if (TryGet(root, "metadata", out var meta))
        {
            if (meta.ValueKind != JsonValueKind.Object) throw Invalid("metadata", "Input should be an object");
            CollectUnknown(meta, "metadata", ["user_id"], unmapped);
            user = OptionalString(meta, "user_id", "metadata.user_id");
        }

        var tools = ParseTools(root, unmapped);
        var (toolChoice, parallel) = ParseToolChoice(root, tools, unmapped);

        return new ChatRequest
        {
            Model = model,
            Messages = list,
            MaxTokens = maxTokens,
            Temperature = OptionalNumber(root, "temperature", "temperature", 0, 1),
            TopP = OptionalNumber(root, "top_p", "top_p", 0, 1),
            TopK = OptionalInt(root, "top_k", "top_k", 0),
            Stop = ParseStopSequences(root),
            Stream = OptionalBool(root, "stream", "stream") ?? false,
            // Anthropic always reports usage, in both modes.
            IncludeUsage = true,
            User = user,
            Tools = tools,
            ToolChoice = toolChoice,
            ParallelToolCalls = parallel,
            Reasoning = ParseThinking(root, unmapped),
            Source = WireFormat.AnthropicMessages,
            RawBody = rawBody,
            UnmappedFields = unmapped,
        };
    }

    private static ChatMessage ParseSystem(JsonElement system, List<string> unmapped)
    {
        if (system.ValueKind == JsonValueKind.String) return new ChatMessage(ChatRole.System, system.GetString()!);
        if (system.ValueKind != JsonValueKind.Array) throw Invalid("system", "Input should be a valid string or a list of text blocks");
        var parts = new List<ContentPart>(system.GetArrayLength());
        var j = 0;
        foreach (var block in system.EnumerateArray())
        {
            var path = $"system.{j++}";
            if (block.ValueKind != JsonValueKind.Object) throw Invalid(path, "Input should be an object");
            var type = RequireString(block, "type", path + ".type");
            if (type != "text") throw Invalid(path + ".type", $"Input should be 'text', not '{type}'");
            parts.Add(ParseText(block, path, unmapped));
        }
        return new ChatMessage(ChatRole.System, parts);
    }

    private static TextPart ParseText(JsonElement block, string path, List<string> unmapped)
    {
        // citations (on text the client echoes back) have no canonical form; only an Anthropic upstream can take them.
        CollectUnknown(block, path, ["type", "text", "cache_control"], unmapped);
        return new TextPart(RequireString(block, "text", path + ".text")) { CacheControlJson = CacheControl(block, path) };
    }

    /// <summary>One Anthropic message: a user turn with tool_result blocks becomes one Tool message per result, then a User message with the rest.</summary>
    private static void ParseMessage(JsonElement m, string path, List<ChatMessage> list, HashSet<string> toolUseIds, List<string> unmapped)
    {
        if (m.ValueKind != JsonValueKind.Object) throw Invalid(path, "Input should be an object");
        CollectUnknown(m, path, ["role", "content"], unmapped);
        var roleText = RequireString(m, "role", path + ".role");
        var role = roleText switch
        {
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            _ => throw Invalid(path + ".role", $"Input should be 'user' or 'assistant', not '{roleText}'"),
        };
        if (!TryGet(m, "content", out var content)) throw Invalid(path + ".content", "Field required");
        if (content.ValueKind == JsonValueKind.String)
        {
            list.Add(new ChatMessage(role, content.GetString()!));
            return;
        }
        if (content.ValueKind != JsonValueKind.Array) throw Invalid(path + ".content", "Input should be a valid string or a list of content blocks");

        var parts = new List<ContentPart>();
        var toolCalls = new List<ToolCall>();
        var sawOther = false;
        var results = 0;
        var j = 0;
        foreach (var block in content.EnumerateArray())
        {
            var bpath = $"{path}.content.{j++}";
            if (block.ValueKind != JsonValueKind.Object) throw Invalid(bpath, "Input should be an object");
            var type = RequireString(block, "type", bpath + ".type");
            switch (type)
            {
                case "text":
                    parts.Add(ParseText(block, bpath, unmapped));
                    sawOther = true;
                    break;
                case "image":
                    if (role != ChatRole.User) throw Invalid(bpath + ".type", "image blocks are only allowed in user messages");
                    if (ParseImage(block, bpath, unmapped) is { } image) parts.Add(image);
                    sawOther = true;
                    break;
                case "tool_use":
                    if (role != ChatRole.Assistant) throw Invalid(bpath + ".type", "tool_use blocks are only allowed in assistant messages");
                    var call = ParseToolUse(block, bpath, unmapped);
                    toolUseIds.Add(call.Id);
                    toolCalls.Add(call);
                    break;
                case "tool_result":
                    if (role != ChatRole.User) throw Invalid(bpath + ".type", "tool_result blocks are only allowed in user messages");
                    // Anthropic's rule: the results come first in the turn, any other content after them.
                    if (sawOther) throw Invalid(bpath, "tool_result blocks must come before any other content in a user message");
                    list.Add(ParseToolResult(block, bpath, toolUseIds, unmapped));
                    results++;
                    break;
                case "thinking":
                    if (role != ChatRole.Assistant) throw Invalid(bpath + ".type", "thinking blocks are only allowed in assistant messages");
                    CollectUnknown(block, bpath, ["type", "thinking", "signature"], unmapped);
                    parts.Add(new ReasoningPart
                    {
                        Text = RequireString(block, "thinking", bpath + ".thinking"),
                        Signature = RequireString(block, "signature", bpath + ".signature"),
                    });
                    break;
                case "redacted_thinking":
                    if (role != ChatRole.Assistant) throw Invalid(bpath + ".type", "redacted_thinking blocks are only allowed in assistant messages");
                    CollectUnknown(block, bpath, ["type", "data"], unmapped);
                    parts.Add(new ReasoningPart { RedactedData = RequireString(block, "data", bpath + ".data") });
                    break;
                default:
                    // document, search_result, server_tool_use, web_search_tool_result, container_upload and block types
                    // added later: only an Anthropic upstream understands them.
                    unmapped.Add(bpath);
                    sawOther = true;
                    break;
            }
        }

        // A turn of only tool results needs no User message after its Tool messages.
        if (results > 0 && parts.Count == 0) return;
        list.Add(new ChatMessage(role, parts) { ToolCalls = toolCalls });
    }

    private static ImagePart? ParseImage(JsonElement block, string path, List<string> unmapped)
    {
        CollectUnknown(block, path, ["type", "source", "cache_control"], unmapped);
        var cache = CacheControl(block, path);
        var spath = path + ".source";
        var source = RequireObject(block, "source", spath);
        var type = RequireString(source, "type", spath + ".type");
        switch (type)
        {
            case "base64":
                CollectUnknown(source, spath, ["type", "media_type", "data"], unmapped);
                var mediaType = RequireString(source, "media_type", spath + ".media_type");
                if (!IsSupportedMediaType(mediaType))
                    throw Invalid(spath + ".media_type", $"Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp', not '{mediaType}'");
                var data = RequireString(source, "data", spath + ".data");
                if (data.Length == 0 || !Base64.IsValid(data))
                    throw Invalid(spath + ".data", "The image data is not valid base64");
                return new ImagePart { MediaType = mediaType, Base64Data = data, CacheControlJson = cache };
            case "url":
                CollectUnknown(source, spath, ["type", "url"], unmapped);
                var url = RequireString(source, "url", spath + ".url");
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                    throw Invalid(spath + ".url", "Input should be an http or https URL");
                return new ImagePart { Url = url, CacheControlJson = cache };
            case "file":
                // A Files API id means something only to Anthropic.
                unmapped.Add(spath);
                return null;
            default:
                throw Invalid(spath + ".type", $"Input should be 'base64', 'url' or 'file', not '{type}'");
        }
    }

    private static ToolCall ParseToolUse(JsonElement block, string path, List<string> unmapped)
    {
        // cache_control on a tool_use block has no canonical home, so it counts as unmapped.
        CollectUnknown(block, path, ["type", "id", "name", "input"], unmapped);
        var id = RequireString(block, "id", path + ".id");
        var name = RequireString(block, "name", path + ".name");
        var input = RequireObject(block, "input", path + ".input");
        return new ToolCall(id, name, input.GetRawText());
    }

    private static ChatMessage ParseToolResult(JsonElement block, string path, HashSet<string> toolUseIds, List<string> unmapped)
    {
        CollectUnknown(block, path, ["type", "tool_use_id", "content", "is_error", "cache_control"], unmapped);
        var id = RequireString(block, "tool_use_id", path + ".tool_use_id");
        if (!toolUseIds.Contains(id))
            throw Invalid(path + ".tool_use_id", $"unexpected tool_use_id found in tool_result blocks: {id}. Each tool_result block must have a corresponding tool_use block in a previous message.");
        var isError = OptionalBool(block, "is_error", path + ".is_error") ?? false;
        var cache = CacheControl(block, path);

        var parts = new List<ContentPart>();
        if (TryGet(block, "content", out var content))
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                parts.Add(new TextPart(content.GetString()!));
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                var k = 0;
                foreach (var inner in content.EnumerateArray())
                {
                    var ipath = $"{path}.content.{k++}";
                    if (inner.ValueKind != JsonValueKind.Object) throw Invalid(ipath, "Input should be an object");
                    var type = RequireString(inner, "type", ipath + ".type");
                    if (type == "text") parts.Add(ParseText(inner, ipath, unmapped));
                    else if (type == "image") { if (ParseImage(inner, ipath, unmapped) is { } image) parts.Add(image); }
                    else unmapped.Add(ipath); // search_result, document
                }
            }
            else
            {
                throw Invalid(path + ".content", "Input should be a valid string or a list of content blocks");
            }
        }

        // The block's own breakpoint marks the end of the result: the last part carries it.
        if (cache is not null)
        {
            if (parts.Count == 0) parts.Add(new TextPart(""));
            parts[^1] = parts[^1] with { CacheControlJson = cache };
        }
        return new ChatMessage(ChatRole.Tool, parts) { ToolCallId = id, IsError = isError };
    }

    private static List<ToolDefinition> ParseTools(JsonElement root, List<string> unmapped)
    {
        var tools = new List<ToolDefinition>();
        if (!TryGet(root, "tools", out var array)) return tools;
        if (array.ValueKind != JsonValueKind.Array) throw Invalid("tools", "Input should be a valid list");
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var path = $"tools.{i++}";
            if (tool.ValueKind != JsonValueKind.Object) throw Invalid(path, "Input should be an object");
            var type = OptionalString(tool, "type", path + ".type");
            if (type is not null && type != "custom")
            {
                // Server tools (web_search_20250305, bash_20250124, code_execution_…) run at Anthropic.
                unmapped.Add(path);
                continue;
            }
            CollectUnknown(tool, path, ["type", "name", "description", "input_schema", "cache_control"], unmapped);
            var name = RequireString(tool, "name", path + ".name");
            if (!IsValidToolName(name)) throw Invalid(path + ".name", "String should match pattern '^[a-zA-Z0-9_-]{1,64}$'");
            var schema = RequireObject(tool, "input_schema", path + ".input_schema");
            tools.Add(new ToolDefinition(name, OptionalString(tool, "description", path + ".description"), schema.GetRawText())
            {
                CacheControlJson = CacheControl(tool, path),
            });
        }
        return tools;
    }

    private static (ToolChoice? Choice, bool? Parallel) ParseToolChoice(JsonElement root, List<ToolDefinition> tools, List<string> unmapped)
    {
        if (!TryGet(root, "tool_choice", out var tc)) return (null, null);
        if (tc.ValueKind != JsonValueKind.Object) throw Invalid("tool_choice", "Input should be an object");
        var type = RequireString(tc, "type", "tool_choice.type");
        ToolChoice choice;
        switch (type)
        {
            case "auto": choice = ToolChoice.Auto; break;
            case "any": choice = ToolChoice.Required; break;
            case "none": choice = ToolChoice.None; break;
            case "tool":
                var name = RequireString(tc, "name", "tool_choice.name");
                var declared = false;
                foreach (var t in tools) declared |= t.Name == name;
                if (!declared) throw Invalid("tool_choice.name", $"Tool '{name}' not found in tools");
                choice = new ToolChoice(ToolChoiceMode.Named, name);
                break;
            default:
                throw Invalid("tool_choice.type", $"Input should be 'auto', 'any', 'tool' or 'none', not '{type}'");
        }
        CollectUnknown(tc, "tool_choice", ["type", "name", "disable_parallel_tool_use"], unmapped);
        // Only "disable" says something; false is Anthropic's default and stays unsaid.
        var disable = OptionalBool(tc, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use");
        return (choice, disable == true ? false : null);
    }

    private static ReasoningSettings? ParseThinking(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "thinking", out var thinking)) return null;
        if (thinking.ValueKind != JsonValueKind.Object) throw Invalid("thinking", "Input should be an object");
        var type = RequireString(thinking, "type", "thinking.type");
        switch (type)
        {
            case "enabled":
                CollectUnknown(thinking, "thinking", ["type", "budget_tokens"], unmapped);
                if (!TryGet(thinking, "budget_tokens", out _)) throw Invalid("thinking.budget_tokens", "Field required");
                return new ReasoningSettings { Enabled = true, BudgetTokens = OptionalInt(thinking, "budget_tokens", "thinking.budget_tokens", 1024) };
            case "disabled":
                CollectUnknown(thinking, "thinking", ["type"], unmapped);
                return new ReasoningSettings { Enabled = false };
            default:
                // Newer modes (e.g. adaptive) have no canonical form yet; an Anthropic upstream still gets them.
                unmapped.Add("thinking");
                return null;
        }
    }

    private static List<string>? ParseStopSequences(JsonElement root)
    {
        if (!TryGet(root, "stop_sequences", out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Invalid("stop_sequences", "Input should be a valid list");
        var list = new List<string>(v.GetArrayLength());
        var i = 0;
        foreach (var s in v.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String) throw Invalid($"stop_sequences.{i}", "Input should be a valid string");
            list.Add(s.GetString()!);
            i++;
        }
        return list;
    }
}

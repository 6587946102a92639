using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Ingress;
using static Router.Node.Wire.Responses.WireFields;

namespace Router.Node.Wire.Responses;

/// <summary>
/// <c>POST /v1/responses</c> body → canonical request. What the canonical model cannot hold goes to
/// <see cref="ChatRequest.UnmappedFields"/> (an <c>openai</c> upstream still gets it through passthrough; any other
/// upstream refuses it), never to a 400: only what OpenAI itself would reject is a 400 here.
/// </summary>
/// <remarks>
/// Accepted and deliberately not carried (they change nothing another upstream could honour):
/// <c>store</c> (Router stores no responses, and says <c>store: false</c> back), <c>metadata</c>, <c>service_tier</c>,
/// <c>prompt_cache_key</c>, <c>prompt_cache_retention</c>, <c>safety_identifier</c>, <c>stream_options</c>
/// (only <c>include_obfuscation</c>, which affects a field Router does not write), <c>background: false</c>,
/// <c>truncation: "disabled"</c>, <c>text.verbosity: "medium"</c> (the default), an empty <c>include</c>, and the
/// <c>id</c>/<c>status</c>/<c>phase</c>/<c>annotations</c>/<c>logprobs</c> that output items carry when a client
/// sends them back as input.
/// </remarks>
internal static class ResponsesRequestParser
{
    private static readonly HashSet<string> Harmless =
        ["store", "metadata", "service_tier", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "stream_options"];

    public static ChatRequest Parse(JsonElement root, ReadOnlyMemory<byte> rawBody)
    {
        JsonFields.RequireObject(root);
        var unmapped = new List<string>();
        var model = JsonFields.RequireString(root, "model");
        var messages = new List<ChatMessage>();

        var instructions = OptionalString(root, "instructions", "instructions");
        if (instructions is not null) messages.Add(new ChatMessage(ChatRole.System, instructions));

        // A function_call_output may answer a call made in a stored response the canonical model cannot see.
        var historyElsewhere = TryGet(root, "previous_response_id", out _) || TryGet(root, "conversation", out _);
        if (TryGet(root, "input", out var input)) ReadInput(input, historyElsewhere, messages, unmapped);
        else if (!historyElsewhere && !TryGet(root, "prompt", out _))
            throw JsonFields.Invalid("Missing required parameter: 'input'.", "input");

        var request = new ChatRequest
        {
            Model = model,
            Messages = messages,
            Temperature = JsonFields.OptionalNumber(root, "temperature", 0, 2),
            TopP = JsonFields.OptionalNumber(root, "top_p", 0, 1),
            MaxTokens = JsonFields.OptionalPositiveInt(root, "max_output_tokens"),
            Stream = JsonFields.OptionalBool(root, "stream"),
            // A Responses stream always ends with the usage (in response.completed), so whoever translates must get it.
            IncludeUsage = JsonFields.OptionalBool(root, "stream"),
            User = JsonFields.OptionalString(root, "user"),
            Tools = ReadTools(root, unmapped),
            ToolChoice = ReadToolChoice(root, unmapped),
            ParallelToolCalls = OptionalBool(root, "parallel_tool_calls", "parallel_tool_calls"),
            ResponseFormat = ReadText(root, unmapped),
            Reasoning = ReadReasoning(root, unmapped),
            Source = WireFormat.OpenAiResponses,
            RawBody = rawBody,
        };

        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model" or "input" or "instructions" or "temperature" or "top_p" or "max_output_tokens" or "stream"
                    or "user" or "tools" or "tool_choice" or "parallel_tool_calls" or "text" or "reasoning":
                    break;
                case "truncation" when v.ValueKind == JsonValueKind.Null || v.ValueEquals("disabled"):
                case "background" when v.ValueKind is JsonValueKind.Null or JsonValueKind.False:
                case "include" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0):
                    break;
                case var name when Harmless.Contains(name):
                    break;
                case var name when v.ValueKind != JsonValueKind.Null:
                    // previous_response_id, conversation, include, truncation "auto", prompt, background, top_logprobs,
                    // max_tool_calls and anything newer than this code.
                    unmapped.Add(name);
                    break;
            }
        }

        return request with { UnmappedFields = unmapped };
    }

    private static void ReadInput(JsonElement input, bool historyElsewhere, List<ChatMessage> messages, List<string> unmapped)
    {
        if (input.ValueKind == JsonValueKind.String)
        {
            messages.Add(new ChatMessage(ChatRole.User, input.GetString()!));
            return;
        }
        if (input.ValueKind != JsonValueKind.Array)
            throw JsonFields.Invalid("Invalid type for 'input': expected a string or an array of input items.", "input");

        var callIds = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in input.EnumerateArray())
        {
            var path = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object) throw JsonFields.Invalid($"Invalid type for '{path}': expected an object.", path);
            var type = OptionalString(item, "type", path + ".type");
            if (type is null)
            {
                // The type is optional on two items: an easy message (it has a role) and an item_reference (an id).
                if (item.TryGetProperty("role", out _)) type = "message";
                else if (item.TryGetProperty("id", out _)) type = "item_reference";
                else throw JsonFields.Invalid($"Missing required parameter: '{path}.type'.", path + ".type");
            }
            switch (type)
            {
                case "message":
                    messages.Add(ReadMessage(item, path, unmapped));
                    break;
                case "function_call":
                    var call = new ToolCall(
                        RequireString(item, "call_id", path + ".call_id"),
                        RequireString(item, "name", path + ".name"),
                        RequireString(item, "arguments", path + ".arguments"));
                    CollectUnknown(item, path, ["type", "call_id", "name", "arguments", "id", "status"], unmapped);
                    callIds.Add(call.Id);
                    // Consecutive calls (and the text before them) are one assistant turn, as every other wire has it.
                    if (messages.Count > 0 && messages[^1] is { Role: ChatRole.Assistant } last)
                        messages[^1] = last with { ToolCalls = [.. last.ToolCalls, call] };
                    else
                        messages.Add(new ChatMessage(ChatRole.Assistant, []) { ToolCalls = [call] });
                    break;
                case "function_call_output":
                    var callId = RequireString(item, "call_id", path + ".call_id");
                    if (!historyElsewhere && !callIds.Contains(callId))
                        throw JsonFields.Invalid($"No tool call found for function call output with call_id {callId}.", path + ".call_id");
                    if (!TryGet(item, "output", out var output))
                        throw JsonFields.Invalid($"Missing required parameter: '{path}.output'.", path + ".output");
                    CollectUnknown(item, path, ["type", "call_id", "output", "id", "status"], unmapped);
                    messages.Add(new ChatMessage(ChatRole.Tool, ReadParts(output, path + ".output", unmapped)) { ToolCallId = callId });
                    break;
                default:
                    // reasoning, item_reference, built-in tool calls and their outputs, custom tools, MCP, compaction…
                    unmapped.Add(path);
                    break;
            }
        }
    }

    private static ChatMessage ReadMessage(JsonElement item, string path, List<string> unmapped)
    {
        var role = RequireString(item, "role", path + ".role") switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            var other => throw JsonFields.Invalid(
                $"Invalid value for '{path}.role': '{other}' (use user, assistant, system or developer).", path + ".role"),
        };
        if (!TryGet(item, "content", out var content))
            throw JsonFields.Invalid($"Missing required parameter: '{path}.content'.", path + ".content");
        CollectUnknown(item, path, ["type", "role", "content", "id", "status", "phase"], unmapped);
        return new ChatMessage(role, ReadParts(content, path + ".content", unmapped));
    }

    /// <summary>Message content or a function call's output: a string, or parts.</summary>
    private static List<ContentPart> ReadParts(JsonElement content, string path, List<string> unmapped)
    {
        if (content.ValueKind == JsonValueKind.String) return [new TextPart(content.GetString()!)];
        if (content.ValueKind != JsonValueKind.Array)
            throw JsonFields.Invalid($"Invalid type for '{path}': expected a string or an array of content parts.", path);
        var parts = new List<ContentPart>(content.GetArrayLength());
        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}[{j++}]";
            RequireObject(part, partPath);
            switch (RequireString(part, "type", partPath + ".type"))
            {
                case "input_text" or "output_text":
                    parts.Add(new TextPart(RequireString(part, "text", partPath + ".text")));
                    CollectUnknown(part, partPath, ["type", "text", "annotations", "logprobs"], unmapped);
                    break;
                case "input_image" when TryGet(part, "file_id", out _):
                    unmapped.Add(partPath);
                    break;
                case "input_image":
                    var url = RequireString(part, "image_url", partPath + ".image_url");
                    parts.Add(Image(url, OptionalString(part, "detail", partPath + ".detail"), partPath + ".image_url"));
                    CollectUnknown(part, partPath, ["type", "image_url", "detail"], unmapped);
                    break;
                default:
                    // input_file, input_audio, refusal (canonical history has no refusal), anything newer.
                    unmapped.Add(partPath);
                    break;
            }
        }
        return parts;
    }

    private static IReadOnlyList<ToolDefinition> ReadTools(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "tools", out var tools)) return [];
        if (tools.ValueKind != JsonValueKind.Array) throw JsonFields.Invalid("Invalid type for 'tools': expected an array.", "tools");
        var list = new List<ToolDefinition>(tools.GetArrayLength());
        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var path = $"tools[{i++}]";
            RequireObject(tool, path);
            if (RequireString(tool, "type", path + ".type") != "function")
            {
                // Built-in tools (web_search, file_search, computer use, code interpreter, MCP, custom…) run at OpenAI.
                unmapped.Add(path);
                continue;
            }
            var name = RequireString(tool, "name", path + ".name");
            if (name.Length == 0) throw JsonFields.Invalid($"Invalid '{path}.name': empty string.", path + ".name");
            string parameters;
            if (!TryGet(tool, "parameters", out var p)) parameters = """{"type":"object","properties":{}}""";
            else parameters = RequireObject(p, path + ".parameters").GetRawText();
            list.Add(new ToolDefinition(name, OptionalString(tool, "description", path + ".description"), parameters)
            {
                Strict = OptionalBool(tool, "strict", path + ".strict"),
            });
            CollectUnknown(tool, path, ["type", "name", "description", "parameters", "strict"], unmapped);
        }
        return list;
    }

    private static ToolChoice? ReadToolChoice(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "tool_choice", out var choice)) return null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() switch
            {
                "auto" => ToolChoice.Auto,
                "none" => ToolChoice.None,
                "required" => ToolChoice.Required,
                var other => throw JsonFields.Invalid($"Invalid value for 'tool_choice': '{other}' (use auto, none, required or an object).", "tool_choice"),
            };
        }
        RequireObject(choice, "tool_choice");
        if (RequireString(choice, "type", "tool_choice.type") != "function")
        {
            // allowed_tools, a built-in tool, mcp, custom: nothing the canonical choice can say.
            unmapped.Add("tool_choice");
            return null;
        }
        return new ToolChoice(ToolChoiceMode.Named, RequireString(choice, "name", "tool_choice.name"));
    }

    private static ResponseFormat? ReadText(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "text", out var text)) return null;
        RequireObject(text, "text");
        foreach (var p in text.EnumerateObject())
        {
            if (p.Name == "format" || p.Value.ValueKind == JsonValueKind.Null) continue;
            if (p.Name == "verbosity" && p.Value.ValueEquals("medium")) continue;
            unmapped.Add("text." + p.Name);
        }
        if (!TryGet(text, "format", out var format)) return null;
        RequireObject(format, "text.format");
        switch (RequireString(format, "type", "text.format.type"))
        {
            case "text":
                return ResponseFormat.Text;
            case "json_object":
                return ResponseFormat.JsonObject;
            case "json_schema":
                var name = RequireString(format, "name", "text.format.name");
                if (!TryGet(format, "schema", out var schema))
                    throw JsonFields.Invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema");
                return new ResponseFormat(ResponseFormatKind.JsonSchema)
                {
                    Name = name,
                    Description = OptionalString(format, "description", "text.format.description"),
                    SchemaJson = RequireObject(schema, "text.format.schema").GetRawText(),
                    Strict = OptionalBool(format, "strict", "text.format.strict"),
                };
            case var other:
                throw JsonFields.Invalid(
                    $"Invalid value for 'text.format.type': '{other}' (use text, json_object or json_schema).", "text.format.type");
        }
    }

    private static ReasoningSettings? ReadReasoning(JsonElement root, List<string> unmapped)
    {
        if (!TryGet(root, "reasoning", out var reasoning)) return null;
        RequireObject(reasoning, "reasoning");
        // summary (and the deprecated generate_summary) ask for OpenAI's reasoning summaries, which no other wire has.
        CollectUnknown(reasoning, "reasoning", ["effort"], unmapped);
        var effort = OptionalString(reasoning, "effort", "reasoning.effort");
        return effort is null ? null : new ReasoningSettings { Effort = effort };
    }
}

using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Node.Wire.Anthropic;

public static partial class AnthropicWire
{
    /// <summary>Thinking budgets for OpenAI's <c>reasoning_effort</c> (Anthropic's minimum budget is 1024).</summary>
    internal const int LowBudget = 1024, MediumBudget = 4096, HighBudget = 16384;

    /// <summary>
    /// Null when an Anthropic Messages upstream can express every field of <paramref name="request"/>; otherwise the
    /// 400 to return, with <c>param</c> in the notation of <see cref="ChatRequest.Source"/> (message indexes are the
    /// canonical ones, which OpenAI Chat shares). Not for same-wire passthrough: the raw body carries everything.
    /// </summary>
    public static RouterException? Unsupported(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var n = new Notation(request.Source);
        if (request.UnmappedFields.Count > 0)
            return Refuse(request.UnmappedFields[0], $"'{request.UnmappedFields[0]}' cannot be translated for an Anthropic Messages deployment.");
        if (request.N is > 1) return Refuse("n", "Anthropic Messages deployments return one answer; 'n' must be 1.");
        if (request.Seed is not null) return Refuse("seed", "Anthropic Messages deployments do not support 'seed'.");
        if (request.PresencePenalty is { } pp && pp != 0)
            return Refuse("presence_penalty", "Anthropic Messages deployments do not support 'presence_penalty'.");
        if (request.FrequencyPenalty is { } fp && fp != 0)
            return Refuse("frequency_penalty", "Anthropic Messages deployments do not support 'frequency_penalty'.");
        // NaN passes every range check (a gRPC client can send it) and JSON cannot hold it: WriteRequest would throw
        // an ArgumentException, a 500 (found by RobustnessProperties.Translators_throw_only_400s_on_any_canonical_request).
        if (request.Temperature is { } nt && !double.IsFinite(nt)) return Refuse("temperature", "'temperature' must be a finite number.");
        if (request.TopP is { } np && !double.IsFinite(np)) return Refuse("top_p", "'top_p' must be a finite number.");
        if (request.Temperature is > 1)
            return Refuse("temperature", $"Anthropic Messages deployments take 'temperature' between 0 and 1, not {request.Temperature}.");
        if (request.Stop is { } stop)
        {
            foreach (var s in stop)
                if (string.IsNullOrWhiteSpace(s))
                    return Refuse(n.Stop, "Anthropic Messages deployments need each stop sequence to contain non-whitespace.");
        }

        if (ThinkingRefusal(request, n) is { } thinking) return thinking;
        if (request.ResponseFormat is { Kind: not ResponseFormatKind.Text } rf && ResponseFormatRefusal(request, rf, n) is { } format)
            return format;

        for (var i = 0; i < request.Tools.Count; i++)
        {
            var t = request.Tools[i];
            if (!IsValidToolName(t.Name))
                return Refuse(n.ToolName(i), $"Anthropic tool names must match ^[a-zA-Z0-9_-]{{1,64}}$, not '{t.Name}'.");
            if (!IsSchemaObject(t.ParametersJson))
                return Refuse(n.ToolParameters(i), "The tool's parameters must be a JSON Schema object.");
        }
        if (request.ToolChoice is { Mode: ToolChoiceMode.Named, Name: var named } && !HasTool(request, named))
            return Refuse(n.ToolChoice, $"tool_choice names '{named}', which is not among the tools.");

        return MessagesRefusal(request, n);
    }

    private static RouterException Refuse(string param, string message) => new(RouterErrorCode.InvalidRequest, message, param);

    private static bool HasTool(ChatRequest request, string? name)
    {
        foreach (var t in request.Tools)
            if (t.Name == name) return true;
        return false;
    }

    private static RouterException? ThinkingRefusal(ChatRequest request, Notation n)
    {
        if (request.Reasoning is { Enabled: null, Effort: { } effort } && EffortBudget(effort) is null && !IsThinkingOff(effort))
            return Refuse(n.ReasoningEffort, $"Anthropic Messages deployments take reasoning effort minimal, low, medium or high, not '{effort}'.");
        if (ThinkingBudget(request.Reasoning) is null) return null;
        // Anthropic's own rules for extended thinking, refused here so the client learns which of its fields is at fault.
        if (request.Temperature is { } t && t != 1)
            return Refuse("temperature", "With reasoning on, Anthropic Messages deployments only accept temperature 1.");
        if (request.TopK is not null)
            return Refuse(n.TopK, "With reasoning on, Anthropic Messages deployments do not accept top_k.");
        if (request.ToolChoice is { Mode: ToolChoiceMode.Required or ToolChoiceMode.Named })
            return Refuse(n.ToolChoice, "With reasoning on, Anthropic Messages deployments cannot force tool use.");
        if (request.ResponseFormat is { Kind: not ResponseFormatKind.Text })
            return Refuse(n.ResponseFormat, "With reasoning on, Anthropic Messages deployments cannot force a JSON response (it needs a forced tool).");
        return null;
    }

    private static RouterException? ResponseFormatRefusal(ChatRequest request, ResponseFormat rf, Notation n)
    {
        if (request.Tools.Count > 0)
            return Refuse(n.ResponseFormat, "Anthropic Messages deployments answer in JSON through a forced tool, which cannot be combined with the request's own tools.");
        if (rf.Name is { } name && !IsValidToolName(name))
            return Refuse(n.ResponseFormat, $"The JSON schema name must match ^[a-zA-Z0-9_-]{{1,64}}$ on Anthropic Messages deployments, not '{name}'.");
        if (rf.Kind == ResponseFormatKind.JsonSchema && !IsSchemaObject(rf.SchemaJson))
            return Refuse(n.ResponseFormat, "The JSON schema must be a JSON object.");
        return null;
    }

    private static RouterException? MessagesRefusal(ChatRequest request, Notation n)
    {
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        var conversation = 0;
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            if (m.Name is not null) return Refuse(n.Message(i) + n.Name, "Anthropic Messages deployments do not support participant names.");
            if (m.Role != ChatRole.System) conversation++;
            for (var j = 0; j < m.Parts.Count; j++)
            {
                var part = m.Parts[j];
                switch (part)
                {
                    case ImagePart image:
                        if (m.Role is ChatRole.System or ChatRole.Assistant)
                            return Refuse(n.Part(i, j), "Anthropic Messages deployments accept images only from the user or in tool results.");
                        if (image.Base64Data is not null && !IsSupportedMediaType(image.MediaType))
                            return Refuse(n.ImageUrl(i, j), $"Anthropic Messages deployments accept image/jpeg, image/png, image/gif or image/webp, not '{image.MediaType}'.");
                        if (image.Base64Data is null && !IsHttpUrl(image.Url))
                            return Refuse(n.ImageUrl(i, j), "Anthropic Messages deployments need an http(s) image URL or inline base64 data.");
                        break;
                    case ReasoningPart when m.Role != ChatRole.Assistant:
                        return Refuse(n.Part(i, j), "Reasoning can only be part of an assistant message.");
                    case TextPart or ReasoningPart:
                        break;
                    default:
                        return Refuse(n.Part(i, j), "This kind of content cannot be sent to an Anthropic Messages deployment.");
                }
            }
            for (var j = 0; j < m.ToolCalls.Count; j++)
            {
                var call = m.ToolCalls[j];
                if (!TryParseArguments(call.ArgumentsJson, out var doc)) return InvalidArguments(n, i, j);
                doc?.Dispose();
                callIds.Add(call.Id);
            }
            if (m.Role == ChatRole.Tool && (m.ToolCallId is null || !callIds.Contains(m.ToolCallId)))
                return Refuse(n.Message(i) + n.ToolCallId, $"Tool result for '{m.ToolCallId}' answers no earlier assistant tool call; Anthropic requires one.");
        }
        if (conversation == 0) return Refuse(n.Messages, "Anthropic Messages deployments need at least one non-system message.");
        return null;
    }

    private static bool IsHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static bool IsSchemaObject(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return true; // no schema: any object
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Arguments as Anthropic's <c>input</c> object: empty text is <c>{}</c> (doc null); anything but an object fails.</summary>
    private static bool TryParseArguments(string json, out JsonDocument? doc)
    {
        doc = null;
        if (string.IsNullOrWhiteSpace(json)) return true;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return false;
        }
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return true;
        doc.Dispose();
        doc = null;
        return false;
    }

    private static RouterException InvalidArguments(Notation n, int message, int call) =>
        Refuse(n.Arguments(message, call), "Tool call arguments must be a JSON object for an Anthropic Messages deployment.");

    private static bool IsThinkingOff(string? effort) => effort is "minimal" or "none";

    private static int? EffortBudget(string? effort) => effort switch
    {
        "low" => LowBudget,
        "medium" => MediumBudget,
        "high" => HighBudget,
        _ => null,
    };

    /// <summary>The thinking budget when thinking is on, else null.</summary>
    internal static int? ThinkingBudget(ReasoningSettings? r) => r switch
    {
        null => null,
        { Enabled: false } => null,
        { Enabled: true } => r.BudgetTokens ?? EffortBudget(r.Effort) ?? LowBudget,
        _ => EffortBudget(r.Effort),
    };

    /// <summary>The name of the forced tool that carries a JSON response format, or null when the request has none.</summary>
    internal static string? ResponseToolName(ChatRequest request) =>
        request.ResponseFormat is { Kind: ResponseFormatKind.JsonObject or ResponseFormatKind.JsonSchema } rf
            ? rf.Name ?? DefaultResponseToolName
            : null;

    /// <summary>
    /// Writes the Messages request body for an upstream. Call <see cref="Unsupported"/> first; what it refuses is not
    /// checked again here except what cannot be written at all (tool call arguments that are not a JSON object,
    /// a response format beside client tools), which throws the same <see cref="RouterException"/>.
    /// </summary>
    /// <remarks>
    /// A response format becomes a forced tool whose input schema is the schema; <see cref="ParseMessage"/> and
    /// <see cref="AnthropicEventReader"/> turn that tool's input back into text. When thinking is on and
    /// <c>max_tokens</c> would not exceed the budget, <c>max_tokens</c> becomes budget + the requested maximum, since
    /// Anthropic counts thinking inside <c>max_tokens</c> and requires it to be larger than the budget.
    /// <c>tool_choice</c> is written only with tools (there is nothing to choose otherwise) and only when the request says one.
    /// </remarks>
    public static void WriteRequest(Utf8JsonWriter w, ChatRequest request, string upstreamModel, bool stream, int defaultMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(request);
        var n = new Notation(request.Source);
        var responseTool = ResponseToolName(request);
        if (responseTool is not null && request.Tools.Count > 0)
            throw ResponseFormatRefusal(request, request.ResponseFormat!, n)!;

        var maxTokens = request.MaxTokens ?? defaultMaxTokens;
        var budget = ThinkingBudget(request.Reasoning);
        if (budget is { } b && maxTokens <= b) maxTokens = b + maxTokens;

        w.WriteStartObject();
        w.WriteString("model", upstreamModel);
        w.WriteNumber("max_tokens", maxTokens);
        WriteSystem(w, request.Messages);
        WriteMessages(w, request.Messages, n);
        if (request.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (request.TopP is { } topP) w.WriteNumber("top_p", topP);
        if (request.TopK is { } topK) w.WriteNumber("top_k", topK);
        if (request.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stop_sequences");
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (request.User is { } user)
        {
            w.WriteStartObject("metadata");
            w.WriteString("user_id", user);
            w.WriteEndObject();
        }
        WriteTools(w, request, responseTool);
        if (budget is { } thinkingBudget)
        {
            w.WriteStartObject("thinking");
            w.WriteString("type", "enabled");
            w.WriteNumber("budget_tokens", thinkingBudget);
            w.WriteEndObject();
        }
        else if (request.Reasoning is { Enabled: false } || IsThinkingOff(request.Reasoning?.Effort))
        {
            w.WriteStartObject("thinking");
            w.WriteString("type", "disabled");
            w.WriteEndObject();
        }
        if (stream) w.WriteBoolean("stream", true);
        w.WriteEndObject();
    }

    /// <summary>Anthropic has no system role inside messages: every system message joins the one top-level prompt.</summary>
    private static void WriteSystem(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages)
    {
        var any = false;
        var cached = false;
        foreach (var m in messages)
        {
            if (m.Role != ChatRole.System) continue;
            any = true;
            foreach (var p in m.Parts) cached |= p.CacheControlJson is not null;
        }
        if (!any) return;
        if (!cached)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var m in messages)
            {
                if (m.Role != ChatRole.System) continue;
                if (sb.Length > 0) sb.Append("\n\n");
                sb.Append(m.Text);
            }
            w.WriteString("system", sb.ToString());
            return;
        }
        // Cache breakpoints sit on blocks, so the blocks stay blocks.
        w.WriteStartArray("system");
        foreach (var m in messages)
        {
            if (m.Role != ChatRole.System) continue;
            foreach (var p in m.Parts)
                if (p is TextPart { Text.Length: > 0 } t) WriteTextBlock(w, t);
        }
        w.WriteEndArray();
    }

    private static void WriteMessages(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages, Notation n)
    {
        w.WriteStartArray("messages");
        var i = 0;
        while (i < messages.Count)
        {
            var m = messages[i];
            if (m.Role == ChatRole.System)
            {
                i++;
                continue;
            }
            w.WriteStartObject();
            if (m.Role == ChatRole.Tool)
            {
                // Anthropic wants all results of one assistant turn in ONE user turn, results first, then any user text.
                w.WriteString("role", "user");
                w.WriteStartArray("content");
                while (i < messages.Count && messages[i].Role == ChatRole.Tool) WriteToolResult(w, messages[i++]);
                if (i < messages.Count && messages[i].Role == ChatRole.User)
                {
                    foreach (var p in messages[i].Parts) WritePart(w, p, skipEmptyText: true);
                    i++;
                }
                w.WriteEndArray();
                w.WriteEndObject();
                continue;
            }

            w.WriteString("role", m.Role == ChatRole.Assistant ? "assistant" : "user");
            if (m.ToolCalls.Count == 0 && IsPlainText(m.Parts))
            {
                w.WriteString("content", m.Parts.Count == 0 ? "" : ((TextPart)m.Parts[0]).Text);
            }
            else
            {
                w.WriteStartArray("content");
                // Anthropic checks that a turn's thinking comes before its text and tool calls.
                foreach (var p in m.Parts)
                    if (p is ReasoningPart) WritePart(w, p, skipEmptyText: true);
                foreach (var p in m.Parts)
                    if (p is not ReasoningPart) WritePart(w, p, skipEmptyText: true);
                for (var j = 0; j < m.ToolCalls.Count; j++) WriteToolUse(w, m.ToolCalls[j], n, i, j);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            i++;
        }
        w.WriteEndArray();
    }

    /// <summary>Nothing but (at most) one text part without a cache breakpoint: written as a plain string.</summary>
    private static bool IsPlainText(IReadOnlyList<ContentPart> parts) =>
        parts.Count == 0 || (parts.Count == 1 && parts[0] is TextPart { CacheControlJson: null });

    private static void WriteToolResult(Utf8JsonWriter w, ChatMessage m)
    {
        w.WriteStartObject();
        w.WriteString("type", "tool_result");
        w.WriteString("tool_use_id", m.ToolCallId);
        if (m.Parts is [TextPart single])
        {
            // One text: the plain form, with its breakpoint on the block (the same place in the prompt).
            w.WriteString("content", single.Text);
            if (m.IsError) w.WriteBoolean("is_error", true);
            if (single.CacheControlJson is { } cache) AnthropicJson.WriteRaw(w, "cache_control", cache);
        }
        else
        {
            if (m.Parts.Count > 0)
            {
                w.WriteStartArray("content");
                foreach (var p in m.Parts) WritePart(w, p, skipEmptyText: true);
                w.WriteEndArray();
            }
            if (m.IsError) w.WriteBoolean("is_error", true);
        }
        w.WriteEndObject();
    }

    /// <summary>One content block; empty text blocks are left out because Anthropic refuses them.</summary>
    private static void WritePart(Utf8JsonWriter w, ContentPart part, bool skipEmptyText)
    {
        switch (part)
        {
            case TextPart t:
                if (skipEmptyText && t.Text.Length == 0) return;
                WriteTextBlock(w, t);
                return;
            case ImagePart image:
                w.WriteStartObject();
                w.WriteString("type", "image");
                w.WriteStartObject("source");
                if (image.Base64Data is { } data)
                {
                    w.WriteString("type", "base64");
                    w.WriteString("media_type", image.MediaType);
                    w.WriteString("data", data);
                }
                else
                {
                    w.WriteString("type", "url");
                    w.WriteString("url", image.Url);
                }
                w.WriteEndObject();
                if (image.CacheControlJson is { } imageCache) AnthropicJson.WriteRaw(w, "cache_control", imageCache);
                w.WriteEndObject();
                return;
            case ReasoningPart r:
                w.WriteStartObject();
                if (r.RedactedData is { } redacted)
                {
                    w.WriteString("type", "redacted_thinking");
                    w.WriteString("data", redacted);
                }
                else
                {
                    w.WriteString("type", "thinking");
                    w.WriteString("thinking", r.Text ?? "");
                    w.WriteString("signature", r.Signature ?? "");
                }
                w.WriteEndObject();
                return;
        }
    }

    private static void WriteTextBlock(Utf8JsonWriter w, TextPart t)
    {
        w.WriteStartObject();
        w.WriteString("type", "text");
        w.WriteString("text", t.Text);
        if (t.CacheControlJson is { } cache) AnthropicJson.WriteRaw(w, "cache_control", cache);
        w.WriteEndObject();
    }

    private static void WriteToolUse(Utf8JsonWriter w, ToolCall call, Notation n, int message, int index)
    {
        if (!TryParseArguments(call.ArgumentsJson, out var doc)) throw InvalidArguments(n, message, index);
        using (doc)
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_use");
            w.WriteString("id", call.Id);
            w.WriteString("name", call.Name);
            w.WritePropertyName("input");
            if (doc is null)
            {
                w.WriteStartObject();
                w.WriteEndObject();
            }
            else
            {
                doc.RootElement.WriteTo(w);
            }
            w.WriteEndObject();
        }
    }

    private static void WriteTools(Utf8JsonWriter w, ChatRequest request, string? responseTool)
    {
        if (request.Tools.Count == 0 && responseTool is null) return;
        w.WriteStartArray("tools");
        foreach (var t in request.Tools)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            if (t.Description is { } description) w.WriteString("description", description);
            WriteSchema(w, t.ParametersJson);
            if (t.CacheControlJson is { } cache) AnthropicJson.WriteRaw(w, "cache_control", cache);
            w.WriteEndObject();
        }
        if (responseTool is not null)
        {
            var rf = request.ResponseFormat!;
            w.WriteStartObject();
            w.WriteString("name", responseTool);
            if (rf.Description is { } description) w.WriteString("description", description);
            WriteSchema(w, rf.Kind == ResponseFormatKind.JsonSchema ? rf.SchemaJson : null);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        // Unsaid stays unsaid: Anthropic's default is auto with parallel calls allowed.
        if (responseTool is null && request.ToolChoice is null && request.ParallelToolCalls != false) return;
        w.WriteStartObject("tool_choice");
        if (responseTool is not null)
        {
            w.WriteString("type", "tool");
            w.WriteString("name", responseTool);
            w.WriteEndObject();
            return;
        }
        var choice = request.ToolChoice ?? ToolChoice.Auto;
        w.WriteString("type", choice.Mode switch
        {
            ToolChoiceMode.Required => "any",
            ToolChoiceMode.Named => "tool",
            ToolChoiceMode.None => "none",
            _ => "auto",
        });
        if (choice.Mode == ToolChoiceMode.Named) w.WriteString("name", choice.Name);
        if (request.ParallelToolCalls == false && choice.Mode != ToolChoiceMode.None) w.WriteBoolean("disable_parallel_tool_use", true);
        w.WriteEndObject();
    }

    /// <summary><c>input_schema</c>, which Anthropic requires to be an object schema: a schema without <c>type</c> gets <c>"type":"object"</c>.</summary>
    private static void WriteSchema(Utf8JsonWriter w, string? schemaJson)
    {
        w.WritePropertyName("input_schema");
        if (string.IsNullOrWhiteSpace(schemaJson))
        {
            w.WriteStartObject();
            w.WriteString("type", "object");
            w.WriteEndObject();
            return;
        }
        using var doc = JsonDocument.Parse(schemaJson);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new RouterException(RouterErrorCode.InvalidRequest, "A tool's JSON schema must be an object.");
        if (root.TryGetProperty("type", out _))
        {
            root.WriteTo(w);
            return;
        }
        w.WriteStartObject();
        w.WriteString("type", "object");
        foreach (var p in root.EnumerateObject()) p.WriteTo(w);
        w.WriteEndObject();
    }

    /// <summary>Field names in the notation of the wire a request came from (for <c>param</c>).</summary>
    private readonly struct Notation(WireFormat source)
    {
        private bool Anthropic => source == WireFormat.AnthropicMessages;
        private bool Responses => source == WireFormat.OpenAiResponses;

        public string Messages => Anthropic ? "messages" : Responses ? "input" : "messages";
        public string Message(int i) => Anthropic ? $"messages.{i}" : Responses ? $"input[{i}]" : $"messages[{i}]";
        public string Name => ".name";
        public string ToolCallId => Anthropic ? ".tool_use_id" : Responses ? ".call_id" : ".tool_call_id";
        public string Part(int i, int j) => Anthropic ? $"messages.{i}.content.{j}" : $"{Message(i)}.content[{j}]";
        public string ImageUrl(int i, int j) =>
            Anthropic ? $"messages.{i}.content.{j}.source" : Responses ? $"input[{i}].content[{j}].image_url" : $"messages[{i}].content[{j}].image_url.url";
        public string Arguments(int i, int j) =>
            Anthropic ? $"messages.{i}.content.{j}.input" : Responses ? $"input[{i}].arguments" : $"messages[{i}].tool_calls[{j}].function.arguments";
        public string ToolName(int i) => Anthropic ? $"tools.{i}.name" : Responses ? $"tools[{i}].name" : $"tools[{i}].function.name";
        public string ToolParameters(int i) =>
            Anthropic ? $"tools.{i}.input_schema" : Responses ? $"tools[{i}].parameters" : $"tools[{i}].function.parameters";
        public string ToolChoice => "tool_choice";
        public string ResponseFormat => Responses ? "text.format" : "response_format";
        public string ReasoningEffort => Anthropic ? "thinking" : Responses ? "reasoning.effort" : "reasoning_effort";
        public string Stop => Anthropic ? "stop_sequences" : "stop";
        public string TopK => "top_k";
    }
}

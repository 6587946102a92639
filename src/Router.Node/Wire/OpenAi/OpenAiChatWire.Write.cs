using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using static Router.Node.Wire.OpenAi.OpenAiJson;

namespace Router.Node.Wire.OpenAi;

public static partial class OpenAiChatWire
{
    /// <summary>
    /// Null when an OpenAI chat upstream can be sent everything <paramref name="request"/> says; otherwise the 400 to
    /// give the client, naming the field in the notation of <see cref="ChatRequest.Source"/>.
    /// </summary>
    /// <remarks>
    /// Refused: fields of the client's wire the canonical model did not hold (<see cref="ChatRequest.UnmappedFields"/>,
    /// unless the raw body goes to this OpenAI upstream as it is), <c>top_k</c>, more than 4 stop sequences, tool names
    /// OpenAI rejects, images outside user messages (tool results included), images with neither URL nor data, and tool
    /// results without a call id. Anthropic paths are rebuilt from the canonical order (system first, then one Anthropic
    /// message per run of user-side or assistant messages), which is how the Anthropic ingress builds it.
    /// </remarks>
    public static RouterException? Unsupported(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var anthropic = request.Source == WireFormat.AnthropicMessages;
        if (request.UnmappedFields.Count > 0 && !request.IsPassthroughTo(WireFormat.OpenAiChat))
        {
            var field = request.UnmappedFields[0];
            return Invalid($"'{field}' cannot be translated for this model's OpenAI Chat Completions upstream.", field);
        }
        if (request.TopK is not null)
            return Invalid("'top_k' is not supported by this model's OpenAI Chat Completions upstream.", "top_k");
        // NaN passes every range check (a gRPC client can send it) and JSON cannot hold it: WriteRequest would throw
        // an ArgumentException, a 500 (found by RobustnessProperties.Translators_throw_only_400s_on_any_canonical_request).
        if (NonFinite(request) is { } number) return Invalid($"'{number}' must be a finite number.", number);
        if (request.Stop is { Count: > 4 })
        {
            var param = anthropic ? "stop_sequences" : "stop";
            return Invalid($"'{param}': this model's OpenAI Chat Completions upstream takes at most 4 stop sequences.", param);
        }
        for (var i = 0; i < request.Tools.Count; i++)
        {
            var name = request.Tools[i].Name;
            if (IsValidName(name)) continue;
            var param = anthropic ? $"tools.{i}.name" : $"tools[{i}].function.name";
            return Invalid($"Invalid '{param}': '{name}' does not match '^[a-zA-Z0-9_-]{{1,64}}$' as OpenAI requires.", param);
        }

        var paths = new MessagePaths(request);
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            if (m.Role == ChatRole.Tool && m.ToolCallId is null)
            {
                var param = paths.ToolCallId(i);
                return Invalid($"'{param}' is required: OpenAI tool messages must name the call they answer.", param);
            }
            for (var j = 0; j < m.Parts.Count; j++)
            {
                if (m.Parts[j] is not ImagePart image) continue;
                var param = paths.Part(i, j);
                if (m.Role != ChatRole.User)
                    return Invalid($"Invalid '{param}': OpenAI Chat Completions takes images only in user messages, not in {RoleName(m.Role)} messages.", param);
                if (image.Url is null && (image.Base64Data is null || image.MediaType is null))
                    return Invalid($"Invalid '{param}': an image needs a URL or base64 data with its media type.", param);
            }
        }
        return null;
    }

    private static string? NonFinite(ChatRequest r) =>
        !double.IsFinite(r.Temperature ?? 0) ? "temperature"
        : !double.IsFinite(r.TopP ?? 0) ? "top_p"
        : !double.IsFinite(r.PresencePenalty ?? 0) ? "presence_penalty"
        : !double.IsFinite(r.FrequencyPenalty ?? 0) ? "frequency_penalty"
        : null;

    /// <summary>Maps canonical message and part indexes back to the client's notation for error <c>param</c>s.</summary>
    private readonly struct MessagePaths
    {
        private readonly ChatRequest _request;
        private readonly bool _anthropic;

        public MessagePaths(ChatRequest request)
        {
            _request = request;
            _anthropic = request.Source == WireFormat.AnthropicMessages;
        }

        public string Part(int message, int part)
        {
            if (!_anthropic) return $"messages[{message}].content[{part}]";
            var (index, block) = Locate(message);
            if (index < 0) return $"system.{part}";
            return _request.Messages[message].Role == ChatRole.Tool
                ? $"messages.{index}.content.{block}.content.{part}"
                : $"messages.{index}.content.{block + part}";
        }

        public string ToolCallId(int message)
        {
            if (!_anthropic) return $"messages[{message}].tool_call_id";
            var (index, block) = Locate(message);
            return $"messages.{index}.content.{block}.tool_use_id";
        }

        // Anthropic message index (-1 for the system prompt) and the first content block of canonical message `message`.
        // The Anthropic ingress makes one canonical message of each Anthropic message, except a user turn with
        // tool_result blocks: one Tool message per result, then a User message with the rest. So a new Anthropic message
        // starts at every message but a Tool or User one right after a Tool one. Consecutive user (or assistant) turns
        // are separate Anthropic messages: grouping by side put an image refusal in the wrong message (found by
        // RefusalProperties.Refusals_of_anthropic_clients_name_a_field_of_their_body).
        private (int Index, int Block) Locate(int message)
        {
            var messages = _request.Messages;
            var index = -1;
            var block = 0;
            for (var k = 0; k <= message; k++)
            {
                var m = messages[k];
                if (m.Role == ChatRole.System && index < 0) continue;
                var sameTurn = m.Role != ChatRole.Assistant && k > 0 && messages[k - 1].Role == ChatRole.Tool;
                if (!sameTurn)
                {
                    index++;
                    block = 0;
                }
                if (k == message) break;
                block += m.Role == ChatRole.Tool ? 1 : m.Parts.Count + m.ToolCalls.Count;
            }
            return (index, block);
        }
    }

    /// <summary>
    /// Writes the OpenAI chat request for an upstream from a canonical request that came on another wire. Call
    /// <see cref="Unsupported"/> first: what it refuses is not written.
    /// </summary>
    /// <remarks>
    /// Reasoning becomes <c>reasoning_effort</c>: the effort as is, else from Anthropic's budget (up to 2048 tokens low,
    /// up to 8192 medium, more high), nothing when disabled; with it the token cap is sent as <c>max_completion_tokens</c>
    /// (reasoning models refuse <c>max_tokens</c>), otherwise as <c>max_tokens</c> (which every OpenAI-compatible relay
    /// knows). Streams always ask for usage: Router meters every answer.
    /// </remarks>
    public static void WriteRequest(Utf8JsonWriter w, ChatRequest request, string upstreamModel, bool stream)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(request);
        var r = request;
        w.WriteStartObject();
        w.WriteString("model", upstreamModel);
        w.WriteStartArray("messages");
        foreach (var m in r.Messages) WriteMessage(w, m);
        w.WriteEndArray();
        if (r.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (r.TopP is { } topP) w.WriteNumber("top_p", topP);
        var effort = EffortOf(r.Reasoning);
        if (r.MaxTokens is { } maxTokens) w.WriteNumber(effort is null ? "max_tokens" : "max_completion_tokens", maxTokens);
        if (r.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stop");
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (r.Seed is { } seed) w.WriteNumber("seed", seed);
        if (r.N is { } n) w.WriteNumber("n", n);
        if (r.PresencePenalty is { } presence) w.WriteNumber("presence_penalty", presence);
        if (r.FrequencyPenalty is { } frequency) w.WriteNumber("frequency_penalty", frequency);
        if (r.User is { } user) w.WriteString("user", user);
        if (r.Tools.Count > 0)
        {
            w.WriteStartArray("tools");
            foreach (var t in r.Tools) WriteTool(w, t);
            w.WriteEndArray();
        }
        if (r.ToolChoice is { } choice) WriteToolChoice(w, choice);
        if (r.ParallelToolCalls is { } parallel) w.WriteBoolean("parallel_tool_calls", parallel);
        if (r.ResponseFormat is { } format) WriteResponseFormat(w, format);
        if (effort is not null) w.WriteString("reasoning_effort", effort);
        if (stream)
        {
            w.WriteBoolean("stream", true);
            w.WriteStartObject("stream_options");
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static string? EffortOf(ReasoningSettings? reasoning)
    {
        if (reasoning is null) return null;
        if (reasoning.Effort is { } effort) return effort;
        if (reasoning.Enabled == false) return null;
        return reasoning.BudgetTokens switch
        {
            null => reasoning.Enabled == true ? "medium" : null,
            <= 2048 => "low",
            <= 8192 => "medium",
            _ => "high",
        };
    }

    private static void WriteMessage(Utf8JsonWriter w, ChatMessage m)
    {
        w.WriteStartObject();
        w.WriteString("role", m.Role switch
        {
            ChatRole.System => "system",
            ChatRole.Assistant => "assistant",
            ChatRole.Tool => "tool",
            _ => "user",
        });
        if (m.Role == ChatRole.Tool) w.WriteString("tool_call_id", m.ToolCallId);
        w.WritePropertyName("content");
        WriteContent(w, m);
        if (m.Name is { } name && m.Role != ChatRole.Tool) w.WriteString("name", name);
        if (m.ToolCalls.Count > 0)
        {
            w.WriteStartArray("tool_calls");
            foreach (var call in m.ToolCalls) WriteToolCall(w, call, index: null);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    // One text part is a plain string (what every relay takes); several parts or any image make an array of parts.
    private static void WriteContent(Utf8JsonWriter w, ChatMessage m)
    {
        var count = 0;
        var textOnly = true;
        TextPart? single = null;
        foreach (var p in m.Parts)
        {
            if (p is ReasoningPart) continue;
            count++;
            if (p is TextPart t) single = t;
            else textOnly = false;
        }
        if (count == 0)
        {
            if (m.Role == ChatRole.Assistant && m.ToolCalls.Count > 0) w.WriteNullValue();
            else w.WriteStringValue("");
            return;
        }
        if (count == 1 && textOnly)
        {
            w.WriteStringValue(single!.Text);
            return;
        }
        w.WriteStartArray();
        foreach (var p in m.Parts)
        {
            switch (p)
            {
                case TextPart t:
                    w.WriteStartObject();
                    w.WriteString("type", "text");
                    w.WriteString("text", t.Text);
                    w.WriteEndObject();
                    break;
                case ImagePart image:
                    w.WriteStartObject();
                    w.WriteString("type", "image_url");
                    w.WriteStartObject("image_url");
                    w.WriteString("url", image.Url ?? $"data:{image.MediaType};base64,{image.Base64Data}");
                    if (image.Detail is { } detail) w.WriteString("detail", detail);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
            }
        }
        w.WriteEndArray();
    }

    private static void WriteToolCall(Utf8JsonWriter w, ToolCall call, int? index)
    {
        w.WriteStartObject();
        if (index is { } i) w.WriteNumber("index", i);
        w.WriteString("id", call.Id);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", call.Name);
        w.WriteString("arguments", call.ArgumentsJson);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteTool(Utf8JsonWriter w, ToolDefinition t)
    {
        w.WriteStartObject();
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", t.Name);
        if (t.Description is { } description) w.WriteString("description", description);
        w.WritePropertyName("parameters");
        w.WriteRawValue(t.ParametersJson);
        if (t.Strict is { } strict) w.WriteBoolean("strict", strict);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteToolChoice(Utf8JsonWriter w, ToolChoice choice)
    {
        switch (choice.Mode)
        {
            case ToolChoiceMode.Named:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", choice.Name);
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            case ToolChoiceMode.None:
                w.WriteString("tool_choice", "none");
                break;
            case ToolChoiceMode.Required:
                w.WriteString("tool_choice", "required");
                break;
            default:
                w.WriteString("tool_choice", "auto");
                break;
        }
    }

    private static void WriteResponseFormat(Utf8JsonWriter w, ResponseFormat format)
    {
        w.WriteStartObject("response_format");
        switch (format.Kind)
        {
            case ResponseFormatKind.JsonSchema:
                w.WriteString("type", "json_schema");
                w.WriteStartObject("json_schema");
                // OpenAI requires a name; schemas from wires without one get a neutral name.
                w.WriteString("name", format.Name ?? "response");
                if (format.Description is { } description) w.WriteString("description", description);
                if (format.SchemaJson is { } schema)
                {
                    w.WritePropertyName("schema");
                    w.WriteRawValue(schema);
                }
                if (format.Strict is { } strict) w.WriteBoolean("strict", strict);
                w.WriteEndObject();
                break;
            case ResponseFormatKind.JsonObject:
                w.WriteString("type", "json_object");
                break;
            default:
                w.WriteString("type", "text");
                break;
        }
        w.WriteEndObject();
    }
}

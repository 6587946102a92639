using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Responses;

/// <summary>An item of a response's <c>output</c>, as the JSON writer and the stream writer both build it.</summary>
internal abstract record OutputItem(string Id, string Status);

internal sealed record MessageItem(string Id, string Status, string Text, string? Refusal) : OutputItem(Id, Status);

internal sealed record FunctionCallItem(string Id, string Status, string CallId, string Name, string Arguments) : OutputItem(Id, Status);

/// <summary>
/// Writes the Responses <c>response</c> object, shared by the JSON answer and the stream's
/// <c>response.created</c>/<c>response.completed</c> events so both say the same thing.
/// </summary>
/// <remarks>
/// Besides the answer, the real API echoes the settings the response was made with; Router echoes the canonical
/// request's, plus <c>instructions</c> and <c>metadata</c> from the client's raw body. <c>store</c> is always false
/// (Router keeps no responses for <c>previous_response_id</c>) and <c>previous_response_id</c> null (a request with
/// one never reaches a translated upstream).
/// </remarks>
internal sealed class ResponseObject
{
    private readonly string _id;
    private readonly long _createdAt;
    private readonly string _model;
    private readonly ChatRequest _request;
    private readonly string? _instructions;
    private readonly JsonElement? _metadata;
    private readonly string _itemSuffix;
    // Raw JSON is re-written through a parsed element, not copied: a client's indented schema would break SSE framing.
    private readonly JsonElement[] _toolParameters;
    private readonly JsonElement? _schema;

    public ResponseObject(string id, long createdAt, string model, ChatRequest request)
    {
        _id = id;
        _createdAt = createdAt;
        _model = model;
        _request = request;
        _itemSuffix = id.StartsWith("resp_", StringComparison.Ordinal) ? id[5..] : id;
        _toolParameters = new JsonElement[request.Tools.Count];
        for (var i = 0; i < _toolParameters.Length; i++) _toolParameters[i] = Element(request.Tools[i].ParametersJson);
        if (request.ResponseFormat?.SchemaJson is { } schema) _schema = Element(schema);
        if (request.RawBody.IsEmpty) return;
        try
        {
            using var raw = JsonDocument.Parse(request.RawBody);
            if (raw.RootElement.ValueKind != JsonValueKind.Object) return;
            if (raw.RootElement.TryGetProperty("instructions", out var i) && i.ValueKind == JsonValueKind.String) _instructions = i.GetString();
            if (raw.RootElement.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object) _metadata = m.Clone();
        }
        catch (JsonException)
        {
            // The body was parsed once already to build the request; a body that is not JSON has nothing to echo.
        }
    }

    /// <summary>Item ids derive from the response id (and the item's place), so the same answer gets the same ids.</summary>
    public string MessageId(int outputIndex) => $"msg_{_itemSuffix}_{outputIndex}";

    public string FunctionCallId(int outputIndex) => $"fc_{_itemSuffix}_{outputIndex}";

    /// <summary><c>completed</c>, or <c>incomplete</c> when the answer was cut short.</summary>
    public static string Status(FinishReason reason) =>
        reason is FinishReason.Length or FinishReason.ContentFilter ? "incomplete" : "completed";

    /// <param name="finish">Null while the response is in progress.</param>
    public void Write(Utf8JsonWriter w, FinishReason? finish, IReadOnlyList<OutputItem> output, TokenUsage? usage)
    {
        var r = _request;
        w.WriteStartObject();
        w.WriteString("id", _id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", _createdAt);
        w.WriteString("status", finish is { } f ? Status(f) : "in_progress");
        w.WriteBoolean("background", false);
        w.WriteNull("error");
        if (finish is FinishReason.Length or FinishReason.ContentFilter)
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", finish == FinishReason.Length ? "max_output_tokens" : "content_filter");
            w.WriteEndObject();
        }
        else w.WriteNull("incomplete_details");
        WriteNullable(w, "instructions", _instructions);
        if (r.MaxTokens is { } max) w.WriteNumber("max_output_tokens", max); else w.WriteNull("max_output_tokens");
        w.WriteNull("max_tool_calls");
        w.WriteString("model", _model);
        w.WriteStartArray("output");
        foreach (var item in output) WriteItem(w, item);
        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls", r.ParallelToolCalls ?? true);
        w.WriteNull("previous_response_id");
        w.WriteStartObject("reasoning");
        WriteNullable(w, "effort", r.Reasoning?.Effort);
        w.WriteNull("summary");
        w.WriteEndObject();
        w.WriteBoolean("store", false);
        w.WriteNumber("temperature", r.Temperature ?? 1.0);
        w.WriteStartObject("text");
        WriteFormat(w, r.ResponseFormat ?? ResponseFormat.Text, _schema);
        w.WriteEndObject();
        WriteToolChoice(w, r.ToolChoice ?? ToolChoice.Auto);
        w.WriteStartArray("tools");
        for (var i = 0; i < r.Tools.Count; i++) WriteTool(w, r.Tools[i], _toolParameters[i]);
        w.WriteEndArray();
        w.WriteNumber("top_p", r.TopP ?? 1.0);
        w.WriteString("truncation", "disabled");
        if (usage is { } u) WriteUsage(w, u); else w.WriteNull("usage");
        WriteNullable(w, "user", r.User);
        w.WritePropertyName("metadata");
        if (_metadata is { } metadata) metadata.WriteTo(w);
        else { w.WriteStartObject(); w.WriteEndObject(); }
        w.WriteEndObject();
    }

    public static void WriteItem(Utf8JsonWriter w, OutputItem item)
    {
        w.WriteStartObject();
        switch (item)
        {
            case MessageItem m:
                w.WriteString("type", "message");
                w.WriteString("id", m.Id);
                w.WriteString("status", m.Status);
                w.WriteString("role", "assistant");
                w.WriteStartArray("content");
                if (m.Text.Length > 0 || m.Refusal is null) WriteTextPart(w, m.Text);
                if (m.Refusal is not null)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "refusal");
                    w.WriteString("refusal", m.Refusal);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
            case FunctionCallItem c:
                w.WriteString("type", "function_call");
                w.WriteString("id", c.Id);
                w.WriteString("call_id", c.CallId);
                w.WriteString("name", c.Name);
                w.WriteString("arguments", c.Arguments);
                w.WriteString("status", c.Status);
                break;
        }
        w.WriteEndObject();
    }

    /// <summary>An <c>output_text</c> content part (no annotations: only OpenAI's own tools make citations).</summary>
    public static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", u.InputTokens);
        w.WriteStartObject("input_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedInputTokens);
        w.WriteNumber("cache_write_tokens", u.CacheWriteInputTokens);
        w.WriteEndObject();
        w.WriteNumber("output_tokens", u.OutputTokens);
        w.WriteStartObject("output_tokens_details");
        w.WriteNumber("reasoning_tokens", u.ReasoningTokens);
        w.WriteEndObject();
        w.WriteNumber("total_tokens", u.TotalTokens);
        w.WriteEndObject();
    }

    private static void WriteFormat(Utf8JsonWriter w, ResponseFormat f, JsonElement? schema)
    {
        w.WriteStartObject("format");
        switch (f.Kind)
        {
            case ResponseFormatKind.JsonObject:
                w.WriteString("type", "json_object");
                break;
            case ResponseFormatKind.JsonSchema:
                w.WriteString("type", "json_schema");
                if (f.Description is not null) w.WriteString("description", f.Description);
                w.WriteString("name", f.Name ?? "");
                w.WritePropertyName("schema");
                if (schema is { } s) s.WriteTo(w); else { w.WriteStartObject(); w.WriteEndObject(); }
                if (f.Strict is { } strict) w.WriteBoolean("strict", strict); else w.WriteNull("strict");
                break;
            default:
                w.WriteString("type", "text");
                break;
        }
        w.WriteEndObject();
    }

    private static void WriteToolChoice(Utf8JsonWriter w, ToolChoice c)
    {
        switch (c.Mode)
        {
            case ToolChoiceMode.Named:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteString("name", c.Name);
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

    private static void WriteTool(Utf8JsonWriter w, ToolDefinition t, JsonElement parameters)
    {
        w.WriteStartObject();
        w.WriteString("type", "function");
        WriteNullable(w, "description", t.Description);
        w.WriteString("name", t.Name);
        w.WritePropertyName("parameters");
        parameters.WriteTo(w);
        if (t.Strict is { } strict) w.WriteBoolean("strict", strict); else w.WriteNull("strict");
        w.WriteEndObject();
    }

    private static JsonElement Element(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }
}

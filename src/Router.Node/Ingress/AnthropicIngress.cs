using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Pipeline;

namespace Router.Node.Ingress;

/// <summary>
/// Anthropic-compatible HTTP: <c>POST /v1/messages</c>, JSON and streaming with Anthropic's event types,
/// auth by <c>x-api-key</c> or Bearer, Anthropic's error shape.
/// </summary>
public static class AnthropicIngress
{
    public static void MapAnthropic(this IEndpointRouteBuilder app) => app.MapPost("/v1/messages", MessagesAsync);

    private static async Task MessagesAsync(HttpContext http, ChatPipeline pipeline, IngressSettings settings)
    {
        if (await HttpIngress.ExecuteAsync(http, pipeline, settings, allowXApiKey: true, Parse, WriteErrorAsync) is not { } done) return;
        var execution = done.Execution;

        HttpIngress.WriteRouterHeaders(http.Response, execution);
        var id = execution.ResponseId("msg_");
        var model = execution.Plan.RequestedModel;
        if (execution.Completion is { } c)
        {
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteMessage(w, id, model, c.Content, c.FinishReason, c.Usage));
            return;
        }
        await StreamAsync(http, execution, id, model, execution.PromptTokens);
    }

    private static async Task StreamAsync(HttpContext http, ChatExecution execution, string id, string model, int promptTokens)
    {
        HttpIngress.StartEventStream(http);
        var r = http.Response;
        var ct = http.RequestAborted;
        try
        {
            // Anthropic announces input tokens up front; the upstream's exact count arrives only at the end,
            // so message_start carries Router's own count and message_delta the final figures.
            await HttpIngress.WriteEventAsync(r, "message_start", w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "message_start");
                w.WritePropertyName("message");
                WriteMessage(w, id, model, null, null, new TokenUsage(promptTokens, 0));
                w.WriteEndObject();
            }, ct);
            await HttpIngress.WriteEventAsync(r, "content_block_start", w =>
            {
                w.WriteStartObject();
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "text");
                w.WriteString("text", "");
                w.WriteEndObject();
                w.WriteEndObject();
            }, ct);
            await HttpIngress.WriteEventAsync(r, "ping", w => { w.WriteStartObject(); w.WriteString("type", "ping"); w.WriteEndObject(); }, ct);

            await foreach (var e in execution.Stream!.WithCancellation(ct))
            {
                switch (e)
                {
                    case ContentDelta d:
                        await HttpIngress.WriteEventAsync(r, "content_block_delta", w =>
                        {
                            w.WriteStartObject();
                            w.WriteString("type", "content_block_delta");
                            w.WriteNumber("index", 0);
                            w.WriteStartObject("delta");
                            w.WriteString("type", "text_delta");
                            w.WriteString("text", d.Text);
                            w.WriteEndObject();
                            w.WriteEndObject();
                        }, ct);
                        break;
                    case StreamFinished f:
                        await HttpIngress.WriteEventAsync(r, "content_block_stop", w =>
                        {
                            w.WriteStartObject();
                            w.WriteString("type", "content_block_stop");
                            w.WriteNumber("index", 0);
                            w.WriteEndObject();
                        }, ct);
                        var usage = f.Usage ?? new TokenUsage(promptTokens, 0);
                        await HttpIngress.WriteEventAsync(r, "message_delta", w =>
                        {
                            w.WriteStartObject();
                            w.WriteString("type", "message_delta");
                            w.WriteStartObject("delta");
                            w.WriteString("stop_reason", StopReason(f.Reason));
                            w.WriteNull("stop_sequence");
                            w.WriteEndObject();
                            w.WriteStartObject("usage");
                            w.WriteNumber("input_tokens", usage.InputTokens);
                            w.WriteNumber("output_tokens", usage.OutputTokens);
                            w.WriteEndObject();
                            w.WriteEndObject();
                        }, ct);
                        break;
                }
            }
            await HttpIngress.WriteEventAsync(r, "message_stop", w => { w.WriteStartObject(); w.WriteString("type", "message_stop"); w.WriteEndObject(); }, ct);
        }
        catch (RouterException ex)
        {
            await HttpIngress.WriteEventAsync(r, "error", w => WriteErrorBody(w, ex), CancellationToken.None);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; the pipeline settles the books.
        }
    }

    /// <summary>Maps an Anthropic Messages request into the canonical model.</summary>
    public static ChatRequest Parse(JsonElement root)
    {
        JsonFields.RequireObject(root);
        var model = JsonFields.RequireString(root, "model");
        var maxTokens = JsonFields.OptionalPositiveInt(root, "max_tokens")
            ?? throw JsonFields.Invalid("max_tokens: Field required", "max_tokens");
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw JsonFields.Invalid("messages: Field required (a non-empty array)", "messages");

        var list = new List<ChatMessage>(messages.GetArrayLength() + 1);
        if (root.TryGetProperty("system", out var system) && system.ValueKind != JsonValueKind.Null)
            list.Add(new ChatMessage(ChatRole.System, JsonFields.Content(system, "system")));
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var path = $"messages.{i++}";
            if (m.ValueKind != JsonValueKind.Object) throw JsonFields.Invalid($"{path}: Input should be an object", path);
            var role = JsonFields.RequireString(m, "role", path + ".role") switch
            {
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                var other => throw JsonFields.Invalid($"{path}.role: Input should be 'user' or 'assistant', not '{other}'", path + ".role"),
            };
            if (!m.TryGetProperty("content", out var content))
                throw JsonFields.Invalid($"{path}.content: Field required", path + ".content");
            list.Add(new ChatMessage(role, JsonFields.Content(content, path + ".content")));
        }

        string? user = null;
        if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object)
            user = JsonFields.OptionalString(meta, "user_id");

        return new ChatRequest
        {
            Model = model,
            Messages = list,
            MaxTokens = maxTokens,
            Temperature = JsonFields.OptionalNumber(root, "temperature", 0, 1),
            TopP = JsonFields.OptionalNumber(root, "top_p", 0, 1),
            Stop = JsonFields.OptionalStrings(root, "stop_sequences"),
            Stream = JsonFields.OptionalBool(root, "stream"),
            IncludeUsage = true,
            User = user,
        };
    }

    private static string StopReason(FinishReason r) => r switch
    {
        FinishReason.Length => "max_tokens",
        FinishReason.ToolCalls => "tool_use",
        FinishReason.ContentFilter => "refusal",
        _ => "end_turn",
    };

    /// <summary>A message object; <paramref name="text"/> null writes empty content (the start of a stream).</summary>
    private static void WriteMessage(Utf8JsonWriter w, string id, string model, string? text, FinishReason? finish, TokenUsage usage)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
        if (text is not null)
        {
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", text);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (finish is { } f) w.WriteString("stop_reason", StopReason(f)); else w.WriteNull("stop_reason");
        w.WriteNull("stop_sequence");
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", usage.InputTokens);
        w.WriteNumber("output_tokens", usage.OutputTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static Task WriteErrorAsync(HttpResponse response, RouterException ex)
    {
        HttpIngress.WriteRetryAfter(response, ex.RetryAfter);
        HttpIngress.WriteRateLimitHeaders(response, ex.Limits);
        return HttpIngress.WriteJsonAsync(response, ErrorMapping.HttpStatus(ex.Code), w => WriteErrorBody(w, ex));
    }

    private static void WriteErrorBody(Utf8JsonWriter w, RouterException ex)
    {
        w.WriteStartObject();
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", ErrorMapping.Anthropic(ex.Code));
        w.WriteString("message", ex.Message);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

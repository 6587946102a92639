using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Pipeline;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI-compatible HTTP: <c>POST /v1/chat/completions</c> (JSON and SSE, <c>stream_options.include_usage</c>)
/// and <c>GET /v1/models</c>, with OpenAI's error shape and status codes.
/// </summary>
public static class OpenAiIngress
{
    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", ChatCompletionsAsync);
        app.MapGet("/v1/models", ModelsAsync);
    }

    private static async Task ChatCompletionsAsync(HttpContext http, ChatPipeline pipeline, IngressSettings settings)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (await HttpIngress.ExecuteAsync(http, pipeline, settings, allowXApiKey: false, Parse, WriteErrorAsync) is not { } done) return;
        var (request, execution) = done;

        HttpIngress.WriteRouterHeaders(http.Response, execution);
        var id = execution.ResponseId("chatcmpl-");
        var model = execution.Plan.RequestedModel;
        if (execution.Completion is { } c)
        {
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteCompletion(w, id, created, model, c));
            return;
        }
        await StreamAsync(http, execution, id, created, model, request.IncludeUsage);
    }

    private static async Task StreamAsync(HttpContext http, ChatExecution execution, string id, long created, string model, bool includeUsage)
    {
        HttpIngress.StartEventStream(http);
        var ct = http.RequestAborted;
        var first = true;
        try
        {
            await foreach (var e in execution.Stream!.WithCancellation(ct))
            {
                switch (e)
                {
                    case ContentDelta d:
                        var role = first;
                        first = false;
                        await HttpIngress.WriteEventAsync(http.Response, null, w => WriteChunk(w, id, created, model, role, d.Text, null), ct);
                        break;
                    case StreamFinished f:
                        await HttpIngress.WriteEventAsync(http.Response, null, w => WriteChunk(w, id, created, model, first, null, f.Reason), ct);
                        if (includeUsage && f.Usage is { } u)
                            await HttpIngress.WriteEventAsync(http.Response, null, w => WriteUsageChunk(w, id, created, model, u), ct);
                        break;
                }
            }
            await HttpIngress.WriteRawEventAsync(http.Response, "data: [DONE]\n\n"u8.ToArray(), ct);
        }
        catch (RouterException ex)
        {
            // Bytes already reached the client: no fallback now, end the stream with an error event.
            await HttpIngress.WriteEventAsync(http.Response, null, w => WriteErrorBody(w, ex), CancellationToken.None);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; the pipeline has already settled the books.
        }
    }

    private static async Task ModelsAsync(HttpContext http, ChatPipeline pipeline, IAdmission admission)
    {
        var key = HttpIngress.PresentedKey(http.Request, allowXApiKey: true);
        Func<Router.Actors.Routing.ModelEntry, bool> allowed;
        try
        {
            if (string.IsNullOrEmpty(key)) throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            allowed = await admission.ModelFilterAsync(key, http.RequestAborted);
        }
        catch (RouterException ex)
        {
            await WriteErrorAsync(http.Response, ex);
            return;
        }
        var models = pipeline.Planner.Models.Where(allowed).ToList();
        await HttpIngress.WriteJsonAsync(http.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var m in models)
            {
                foreach (var name in m.Aliases.Prepend(m.Id))
                {
                    w.WriteStartObject();
                    w.WriteString("id", name);
                    w.WriteString("object", "model");
                    w.WriteNumber("created", 0);
                    w.WriteString("owned_by", "router");
                    if (name != m.Id) w.WriteString("alias_of", m.Id);
                    w.WriteNumber("context_window", m.ContextWindow);
                    w.WriteEndObject();
                }
            }
            if (pipeline.Planner.HasAuto)
            {
                w.WriteStartObject();
                w.WriteString("id", Router.Actors.Routing.RoutePlanner.AutoModel);
                w.WriteString("object", "model");
                w.WriteNumber("created", 0);
                w.WriteString("owned_by", "router");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>Maps an OpenAI chat request into the canonical model.</summary>
    public static ChatRequest Parse(JsonElement root)
    {
        JsonFields.RequireObject(root);
        var model = JsonFields.RequireString(root, "model");
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
            throw JsonFields.Invalid("Missing required parameter: 'messages'.", "messages");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw JsonFields.Invalid("Invalid 'messages': expected a non-empty array.", "messages");

        var list = new List<ChatMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var path = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw JsonFields.Invalid($"Invalid '{path}': expected an object.", path);
            var role = JsonFields.RequireString(m, "role", path + ".role") switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                var other => throw JsonFields.Invalid(
                    $"Invalid '{path}.role': '{other}' is not supported (use system, developer, user or assistant).", path + ".role"),
            };
            if (!m.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
                throw JsonFields.Invalid($"Missing required parameter: '{path}.content'.", path + ".content");
            list.Add(new ChatMessage(role, JsonFields.Content(content, path + ".content")));
        }

        if (root.TryGetProperty("n", out var n) && !(n.ValueKind == JsonValueKind.Null || (n.TryGetInt32(out var nv) && nv == 1)))
            throw JsonFields.Invalid("Only n = 1 is supported.", "n");

        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object)
            includeUsage = JsonFields.OptionalBool(so, "include_usage");

        return new ChatRequest
        {
            Model = model,
            Messages = list,
            Temperature = JsonFields.OptionalNumber(root, "temperature", 0, 2),
            TopP = JsonFields.OptionalNumber(root, "top_p", 0, 1),
            MaxTokens = JsonFields.OptionalPositiveInt(root, "max_completion_tokens") ?? JsonFields.OptionalPositiveInt(root, "max_tokens"),
            Stop = JsonFields.OptionalStrings(root, "stop"),
            Stream = JsonFields.OptionalBool(root, "stream"),
            IncludeUsage = includeUsage,
            User = JsonFields.OptionalString(root, "user"),
        };
    }

    private static string FinishReasonText(FinishReason r) => r switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    internal static void WriteCompletion(Utf8JsonWriter w, string id, long created, string model, ChatCompletion c)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", c.Content);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", FinishReasonText(c.FinishReason));
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, c.Usage);
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.InputTokens);
        w.WriteNumber("completion_tokens", u.OutputTokens);
        w.WriteNumber("total_tokens", u.TotalTokens);
        w.WriteEndObject();
    }

    private static void WriteChunkHeader(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    private static void WriteChunk(Utf8JsonWriter w, string id, long created, string model, bool withRole, string? text, FinishReason? finish)
    {
        WriteChunkHeader(w, id, created, model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (withRole) w.WriteString("role", "assistant");
        if (text is not null) w.WriteString("content", text);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finish is { } f) w.WriteString("finish_reason", FinishReasonText(f));
        else w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteUsageChunk(Utf8JsonWriter w, string id, long created, string model, TokenUsage u)
    {
        WriteChunkHeader(w, id, created, model);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, u);
        w.WriteEndObject();
    }

    public static Task WriteErrorAsync(HttpResponse response, RouterException ex)
    {
        HttpIngress.WriteRetryAfter(response, ex.RetryAfter);
        HttpIngress.WriteRateLimitHeaders(response, ex.Limits);
        return HttpIngress.WriteJsonAsync(response, ErrorMapping.HttpStatus(ex.Code), w => WriteErrorBody(w, ex));
    }

    internal static void WriteErrorBody(Utf8JsonWriter w, RouterException ex)
    {
        var (type, code) = ErrorMapping.OpenAi(ex.Code);
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", ex.Message);
        w.WriteString("type", type);
        if (ex.Param is null) w.WriteNull("param"); else w.WriteString("param", ex.Param);
        if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>Ingress limits shared by the HTTP endpoints.</summary>
public sealed record IngressSettings(long MaxBodyBytes);

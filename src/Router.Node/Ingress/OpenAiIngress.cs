using System.Buffers;
using System.Text.Json;
using Router.Contracts.Errors;
using Router.Node.Pipeline;
using Router.Node.Wire.OpenAi;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI-compatible HTTP: <c>POST /v1/chat/completions</c> (JSON and SSE, <c>stream_options.include_usage</c>),
/// <c>/v1/responses</c>, <c>/v1/completions</c>, <c>/v1/embeddings</c> and <c>GET /v1/models</c>, with OpenAI's error
/// shape and status codes. Translation lives in <see cref="OpenAiChatWire"/>; an OpenAI upstream gets the client's own body.
/// </summary>
public static class OpenAiIngress
{
    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", ChatCompletionsAsync);
        app.MapPost("/v1/responses", ResponsesIngress.ResponsesAsync);
        app.MapPost("/v1/completions", CompletionsIngress.CompletionsAsync);
        app.MapPost("/v1/embeddings", EmbeddingsIngress.EmbeddingsAsync);
        app.MapGet("/v1/models", ModelsAsync);
    }

    /// <summary>Chat Completions over HTTP: OpenAI's request, answer, chunk and error shapes.</summary>
    public static readonly HttpChatWire ChatWire = new(
        AllowXApiKey: false, IdPrefix: "chatcmpl-", OpenAiChatWire.ParseRequest, WriteErrorAsync,
        (w, id, created, model, c, _) => OpenAiChatWire.WriteCompletion(w, id, created, model, c),
        s =>
        {
            var writer = new OpenAiChunkWriter(s.Id, s.Created, s.Model, s.Request.IncludeUsage);
            return new ChatStreamWriters(writer.Write, WriteErrorEvent, writer.WriteDone, DropUsage: !s.Request.IncludeUsage);
        });

    private static Task ChatCompletionsAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits) =>
        HttpIngress.ServeChatAsync(http, pipeline, limits, ChatWire);

    /// <summary>An error after the stream started: one <c>data: {"error":…}</c> event, as OpenAI sends it.</summary>
    internal static void WriteErrorEvent(RouterException ex, IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        using (var w = new Utf8JsonWriter(output)) WriteErrorBody(w, ex);
        output.Write("\n\n"u8);
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
        // (name, model) pairs: every id and alias, then "auto" when tiers are configured.
        var names = new List<(string Name, Router.Actors.Routing.ModelEntry? Model)>();
        foreach (var m in pipeline.Planner.Models)
        {
            if (!allowed(m)) continue;
            names.Add((m.Id, m));
            foreach (var alias in m.Aliases) names.Add((alias, m));
        }
        if (pipeline.Planner.HasAuto) names.Add((Router.Actors.Routing.RoutePlanner.AutoModel, null));

        // The Anthropic SDK lists models with its own shape; it always sends anthropic-version.
        if (http.Request.Headers.ContainsKey("anthropic-version"))
        {
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteAnthropicModels(w, names));
            return;
        }
        await HttpIngress.WriteJsonAsync(http.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var (name, m) in names)
            {
                w.WriteStartObject();
                w.WriteString("id", name);
                w.WriteString("object", "model");
                w.WriteNumber("created", 0);
                w.WriteString("owned_by", "router");
                if (m is not null && name != m.Id) w.WriteString("alias_of", m.Id);
                if (m is not null) w.WriteNumber("context_window", m.ContextWindow);
                // Router's extension: what the model serves, so a client can pick an embeddings model from the list.
                w.WriteStartArray("capabilities");
                if (m?.Kind == Router.Actors.Routing.ModelKinds.Embeddings) w.WriteStringValue("embeddings");
                else
                {
                    w.WriteStringValue("chat");
                    w.WriteStringValue("responses");
                    w.WriteStringValue("completions");
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>Anthropic's <c>GET /v1/models</c> page: chat models only (Anthropic lists no embeddings), all on one page.</summary>
    private static void WriteAnthropicModels(Utf8JsonWriter w, List<(string Name, Router.Actors.Routing.ModelEntry? Model)> names)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        string? first = null, last = null;
        foreach (var (name, m) in names)
        {
            if (m?.Kind == Router.Actors.Routing.ModelKinds.Embeddings) continue;
            first ??= name;
            last = name;
            w.WriteStartObject();
            w.WriteString("type", "model");
            w.WriteString("id", name);
            w.WriteString("display_name", m is not null && name != m.Id ? $"{name} ({m.Id})" : name);
            w.WriteString("created_at", "1970-01-01T00:00:00Z");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteBoolean("has_more", false);
        if (first is null) w.WriteNull("first_id"); else w.WriteString("first_id", first);
        if (last is null) w.WriteNull("last_id"); else w.WriteString("last_id", last);
        w.WriteEndObject();
    }

    public static Task WriteErrorAsync(HttpResponse response, RouterException ex)
    {
        Router.Node.Observability.RequestTiming.Current?.Fail(ex.Code);
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

using System.Text.Json;
using Router.Contracts.Errors;
using Router.Node.Pipeline;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Ingress;

/// <summary>
/// Anthropic-compatible HTTP: <c>POST /v1/messages</c> (JSON and streaming with Anthropic's event types) and
/// <c>POST /v1/messages/count_tokens</c>; auth by <c>x-api-key</c> or Bearer; Anthropic's error shape. Translation lives
/// in <see cref="AnthropicWire"/>; an Anthropic upstream gets the client's own body.
/// </summary>
public static class AnthropicIngress
{
    public static void MapAnthropic(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/messages", MessagesAsync);
        app.MapPost("/v1/messages/count_tokens", CountTokensAsync);
    }

    /// <summary>
    /// Messages over HTTP. Anthropic announces input tokens up front; the upstream's exact count arrives only at the end,
    /// so a translated <c>message_start</c> carries Router's own count and <c>message_delta</c> the final figures.
    /// </summary>
    public static readonly HttpChatWire Wire = new(
        AllowXApiKey: true, IdPrefix: "msg_", AnthropicWire.ParseRequest, WriteErrorAsync,
        (w, id, _, model, c, _) => AnthropicWire.WriteMessage(w, id, model, c),
        s =>
        {
            var writer = new AnthropicEventWriter(s.Id, s.Model, s.Execution.PromptTokens);
            return new ChatStreamWriters(writer.Write, (ex, output) => writer.WriteError(ErrorMapping.Anthropic(ex.Code), ex.Message, output));
        });

    private static Task MessagesAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits) =>
        HttpIngress.ServeChatAsync(http, pipeline, limits, Wire);

    /// <summary><c>POST /v1/messages/count_tokens</c>: Router's own count, no upstream call, nothing charged.</summary>
    private static async Task CountTokensAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits)
    {
        try
        {
            var key = HttpIngress.PresentedKey(http.Request, allowXApiKey: true)
                ?? throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            // count_tokens takes a Messages request without max_tokens.
            var request = await HttpIngress.ReadAsync(http, limits, ParseCountTokens);
            var count = await pipeline.CountTokensAsync(key, request, http.RequestAborted);
            await HttpIngress.WriteJsonAsync(http.Response, 200, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("input_tokens", count);
                w.WriteEndObject();
            });
        }
        catch (RouterException ex)
        {
            await WriteErrorAsync(http.Response, ex);
        }
    }

    /// <summary>
    /// A count_tokens body is a Messages body without <c>max_tokens</c> (and with <c>max_tokens</c> refused as unknown by
    /// Anthropic, so Router ignores it): parse it as a Messages request that asks for one token.
    /// </summary>
    internal static Router.Contracts.Chat.ChatRequest ParseCountTokens(JsonElement root, ReadOnlyMemory<byte> raw)
    {
        if (root.ValueKind != JsonValueKind.Object) throw JsonFields.Invalid("The request body must be a JSON object.", null);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(raw.Length + 32);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var p in root.EnumerateObject())
                if (p.Name != "max_tokens") p.WriteTo(w);
            w.WriteNumber("max_tokens", 1);
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return AnthropicWire.ParseRequest(doc.RootElement, buffer.WrittenMemory);
    }

    public static Task WriteErrorAsync(HttpResponse response, RouterException ex)
    {
        Router.Node.Observability.RequestTiming.Current?.Fail(ex.Code);
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

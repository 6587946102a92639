using System.Buffers;
using Router.Actors.Telemetry;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;
using Router.Node.Pipeline;

namespace Router.Node.Ingress;

/// <summary>What the HTTP ingresses share: bounded body reading, key extraction and response headers.</summary>
public static class HttpIngress
{
    /// <summary>Reads the whole body, refusing more than <paramref name="maxBytes"/> with 413 before buffering it.</summary>
    public static async Task<JsonDocument> ReadJsonAsync(HttpContext http, long maxBytes) =>
        (await ReadJsonBodyAsync(http, maxBytes).ConfigureAwait(false)).Document;

    /// <summary>
    /// Reads the whole body as <see cref="ReadJsonAsync"/> does, and also returns its bytes: same-wire passthrough sends
    /// exactly these on (the document only borrows them, so they stay valid after it is disposed).
    /// </summary>
    public static async Task<(JsonDocument Document, ReadOnlyMemory<byte> Body)> ReadJsonBodyAsync(HttpContext http, long maxBytes)
    {
        if (http.Request.ContentLength > maxBytes) throw TooLarge(http, maxBytes);
        var writer = new ArrayBufferWriter<byte>((int)Math.Min(http.Request.ContentLength ?? 4096, maxBytes) + 1);
        try
        {
            var body = http.Request.Body;
            while (true)
            {
                var memory = writer.GetMemory(4096);
                var n = await body.ReadAsync(memory, http.RequestAborted).ConfigureAwait(false);
                if (n == 0) break;
                writer.Advance(n);
                if (writer.WrittenCount > maxBytes) throw TooLarge(http, maxBytes);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(http, maxBytes);
        }
        if (writer.WrittenCount == 0) throw new RouterException(RouterErrorCode.InvalidRequest, "The request body is empty; send a JSON object.");
        try
        {
            return (JsonDocument.Parse(writer.WrittenMemory, new JsonDocumentOptions { MaxDepth = 64 }), writer.WrittenMemory);
        }
        catch (JsonException ex)
        {
            throw new RouterException(RouterErrorCode.InvalidRequest,
                $"We could not parse the JSON body of your request ({ex.Message.Split(" Path:")[0].TrimEnd('.')}). Send valid JSON.");
        }
    }

    private static RouterException TooLarge(HttpContext http, long maxBytes)
    {
        // The rest of the body stays unread, so Kestrel drops the connection after the 413. Say so, or the client
        // reuses the connection for its next request and that request fails instead.
        http.Response.Headers.Connection = "close";
        return new(RouterErrorCode.PayloadTooLarge, $"The request body is larger than the limit of {maxBytes} bytes.");
    }

    /// <summary>
    /// The request half every HTTP ingress shares: key present (like the providers: no key, no look at the body),
    /// bounded body read, protocol-specific parse, then the pipeline. Null when an error response was written.
    /// </summary>
    public static async Task<(ChatRequest Request, ChatExecution Execution)?> ExecuteAsync(
        HttpContext http, ChatPipeline pipeline, BodyLimits limits, bool allowXApiKey,
        Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> parse, Func<HttpResponse, RouterException, Task> writeError)
    {
        try
        {
            var key = PresentedKey(http.Request, allowXApiKey)
                ?? throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            var request = await ReadAsync(http, limits, parse).ConfigureAwait(false);
            return (request, await pipeline.ExecuteAsync(key, request, http.RequestAborted));
        }
        catch (RouterException ex)
        {
            await writeError(http.Response, ex);
            return null;
        }
    }

    /// <summary>
    /// Serves one chat request on <paramref name="wire"/>: the request half of <see cref="ExecuteAsync"/>, then the answer
    /// as the upstream wrote it (same-wire passthrough, only <c>model</c> rewritten) or translated into the wire's shape.
    /// </summary>
    public static async Task ServeChatAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits, HttpChatWire wire)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (await ExecuteAsync(http, pipeline, limits, wire.AllowXApiKey, wire.Parse, wire.WriteError) is not { } done) return;
        var (request, execution) = done;

        WriteRouterHeaders(http.Response, execution);
        var id = execution.ResponseId(wire.IdPrefix);
        var model = execution.Plan.RequestedModel;
        if (execution.Completion is { } c)
        {
            if (execution.Passthrough && c.Raw is { } raw) await WriteRawJsonAsync(http.Response, raw.Json, model);
            else await WriteAnswerAsync(http.Response, w => wire.WriteAnswer(w, id, created, model, c, request), wire.WriteError);
            return;
        }
        var stream = wire.OpenStream(new ChatStreamContext(id, created, model, request, execution));
        await RelayStreamAsync(http, execution, model, stream.DropUsage, stream.Write, stream.WriteError, stream.End);
    }

    /// <summary>Reads and parses a JSON request body with the ingress's parser.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext http, BodyLimits limits, Func<JsonElement, ReadOnlyMemory<byte>, T> parse)
    {
        var (doc, body) = await ReadJsonBodyAsync(http, limits.MaxBodyBytes).ConfigureAwait(false);
        using (doc) return ParseBody(doc.RootElement, body, parse);
    }

    /// <summary>Runs an ingress's parser over a parsed body, so that every malformed input ends as a 400.</summary>
    public static T ParseBody<T>(JsonElement root, ReadOnlyMemory<byte> body, Func<JsonElement, ReadOnlyMemory<byte>, T> parse)
    {
        try
        {
            return parse(root, body);
        }
        catch (InvalidOperationException ex)
        {
            // JSON text may hold a \u escape of a lone surrogate (\ud800): the document accepts it, reading the string
            // as .NET text cannot. That is the client's malformed input, not Router's failure.
            throw new RouterException(RouterErrorCode.InvalidRequest,
                "The request contains a string that is not valid Unicode (a lone surrogate escape such as \\ud800). " + ex.Message);
        }
    }

    /// <summary>
    /// Writes an upstream's JSON answer as it came (same-wire passthrough), with only the <c>model</c> the client asked
    /// for put back (and, with <paramref name="dropUsage"/>, a <c>usage</c> the client did not ask for taken out).
    /// </summary>
    public static async Task WriteRawJsonAsync(HttpResponse response, ReadOnlyMemory<byte> json, string model, bool dropUsage = false)
    {
        response.StatusCode = 200;
        response.ContentType = "application/json";
        Router.Node.Wire.JsonPassthrough.RewriteResponse(json.Span, model, dropUsage, response.BodyWriter);
        await response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Relays a streamed answer as server-sent events: passthrough streams as the upstream's own events (model
    /// rewritten), translated ones through <paramref name="write"/>, each flushed as it is written. An error after the
    /// first byte ends the stream with the protocol's error event (no fallback once the client has bytes).
    /// </summary>
    public static async Task RelayStreamAsync(
        HttpContext http, ChatExecution execution, string model, bool dropUsage,
        Action<ChatStreamEvent, IBufferWriter<byte>> write, Action<RouterException, IBufferWriter<byte>> writeError,
        Action<IBufferWriter<byte>>? end = null)
    {
        StartEventStream(http);
        var pipe = http.Response.BodyWriter;
        var ct = http.RequestAborted;
        var passthrough = execution.Passthrough;
        // Translated events are composed here first, so an event the client's wire cannot express never reaches it half-written.
        var scratch = passthrough ? null : new ArrayBufferWriter<byte>(512);
        try
        {
            await foreach (var e in execution.Stream!.WithCancellation(ct))
            {
                if (passthrough)
                {
                    if (e is not RawStreamEvent raw) continue;
                    WriteRawEvent(pipe, raw, model, dropUsage);
                }
                else
                {
                    scratch!.ResetWrittenCount();
                    try
                    {
                        write(e, scratch);
                    }
                    catch (InvalidDataException ex)
                    {
                        throw Untranslatable(ex);
                    }
                    if (scratch.WrittenCount == 0) continue;
                    Write(pipe, scratch.WrittenSpan);
                }
                if (pipe.CanGetUnflushedBytes && pipe.UnflushedBytes == 0) continue;
                await pipe.FlushAsync(ct).ConfigureAwait(false);
            }
            if (!passthrough && end is not null)
            {
                end(pipe);
                await pipe.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (RouterException ex)
        {
            // Bytes already reached the client: no fallback now, end the stream with an error event.
            Router.Node.Observability.RequestTiming.Current?.Fail(ex.Code);
            writeError(ex, pipe);
            await pipe.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; the pipeline has already settled the books.
        }
    }

    private static void WriteRawEvent(IBufferWriter<byte> pipe, RawStreamEvent raw, string model, bool dropUsage)
    {
        if (raw.EventName is { Length: > 0 } name)
        {
            Write(pipe, "event: "u8);
            System.Text.EncodingExtensions.GetBytes(System.Text.Encoding.UTF8, name.AsSpan(), pipe);
            Write(pipe, "\n"u8);
        }
        Write(pipe, DataPrefix);
        Router.Node.Wire.JsonPassthrough.RewriteResponse(raw.Data.Span, model, dropUsage, pipe);
        Write(pipe, EventEnd);
    }

    /// <summary>The bearer token, or Anthropic's <c>x-api-key</c> when <paramref name="allowXApiKey"/>.</summary>
    public static string? PresentedKey(HttpRequest request, bool allowXApiKey)
    {
        if (allowXApiKey && request.Headers.TryGetValue("x-api-key", out var x) && !string.IsNullOrEmpty(x)) return x.ToString();
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : null;
    }

    public static void WriteRouterHeaders(HttpResponse response, ChatExecution execution) =>
        WriteRouterHeaders(response, execution.Ticket, execution.ServedBy, execution.Plan);

    /// <summary>The <c>x-router-*</c> and <c>x-ratelimit-*</c> headers every answered model request carries.</summary>
    public static void WriteRouterHeaders(HttpResponse response, AdmissionTicket ticket, Router.Actors.Dispatch.ServedBy served, Router.Actors.Routing.RoutePlan plan)
    {
        var h = response.Headers;
        h["x-router-request-id"] = ticket.RequestId;
        h["x-router-model"] = served.Deployment.ModelId;
        h["x-router-deployment"] = served.Deployment.Id;
        if (served.ProviderKeyId is { } keyId) h["x-router-provider-key"] = keyId;
        h["x-router-attempts"] = served.Attempts.ToString(CultureInfo.InvariantCulture);
        if (plan.AutoTier is { } tier) h["x-router-auto-tier"] = tier;
        WriteRateLimitHeaders(response, ticket.Limits);
    }

    /// <summary>
    /// <c>x-router-overhead-ms</c>: Router's own time until the answer started (queue, admission, routing, translation;
    /// not the upstream's). Written as every model answer's headers go out, errors included.
    /// </summary>
    public static void WriteOverheadHeader(HttpResponse response, Router.Node.Observability.RequestTiming timing) =>
        response.Headers[TelemetryNames.OverheadHeader] = timing.OverheadHeaderValue();

    /// <summary>OpenAI's <c>x-ratelimit-*</c> headers; a limit the key does not have is left out.</summary>
    public static void WriteRateLimitHeaders(HttpResponse response, RateLimits? limits)
    {
        if (limits is null) return;
        WriteRateLimitHeaders(response.Headers, "requests", limits.Requests);
        WriteRateLimitHeaders(response.Headers, "tokens", limits.Tokens);
    }

    private static void WriteRateLimitHeaders(IHeaderDictionary h, string unit, RateLimitStatus? status)
    {
        if (status is null) return;
        h[$"x-ratelimit-limit-{unit}"] = status.Limit.ToString(CultureInfo.InvariantCulture);
        h[$"x-ratelimit-remaining-{unit}"] = status.Remaining.ToString(CultureInfo.InvariantCulture);
        h[$"x-ratelimit-reset-{unit}"] = Duration(status.ResetAfter);
    }

    /// <summary>OpenAI's duration format: <c>1s</c>, <c>6m0s</c>, <c>250ms</c>.</summary>
    public static string Duration(TimeSpan t)
    {
        if (t <= TimeSpan.Zero) return "0s";
        if (t < TimeSpan.FromSeconds(1)) return $"{Math.Ceiling(t.TotalMilliseconds):0}ms";
        var seconds = (int)Math.Ceiling(t.TotalSeconds);
        return seconds < 60 ? $"{seconds}s" : $"{seconds / 60}m{seconds % 60}s";
    }

    /// <summary>Retry-After in whole seconds, rounded up (never 0: a client told "0" retries in a hot loop).</summary>
    public static void WriteRetryAfter(HttpResponse response, TimeSpan? retryAfter)
    {
        if (retryAfter is not { } ra) return;
        response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Prepares a response for server-sent events that reach the client as they are written.</summary>
    public static void StartEventStream(HttpContext http)
    {
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>
    /// Writes a translated answer. It is composed in memory first: an answer the client's wire cannot express (an upstream
    /// that sent tool arguments that are not JSON to an Anthropic client) becomes a clean 502 in the ingress's shape
    /// instead of half a body.
    /// </summary>
    public static async Task WriteAnswerAsync(HttpResponse response, Action<Utf8JsonWriter> write, Func<HttpResponse, RouterException, Task> writeError)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        try
        {
            using (var json = new Utf8JsonWriter(buffer, JsonOptions)) write(json);
        }
        catch (InvalidDataException ex)
        {
            await writeError(response, Untranslatable(ex)).ConfigureAwait(false);
            return;
        }
        response.StatusCode = 200;
        response.ContentType = "application/json";
        await response.BodyWriter.WriteAsync(buffer.WrittenMemory, response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    private static RouterException Untranslatable(InvalidDataException ex) =>
        new(RouterErrorCode.UpstreamError, "The upstream's answer cannot be expressed in this API: " + ex.Message);

    public static async Task WriteJsonAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter, JsonOptions)) write(json);
        await response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers are JSON for machines, never embedded in HTML: write quotes as <c>\"</c> and non-ASCII text as UTF-8, as
    /// the providers do, instead of the default encoder's <c>\u0022</c> and <c>\u1EA1</c> (valid, but three to six times larger).
    /// </summary>
    public static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    /// <summary>Writes one SSE event (optionally named) whose data is a JSON object, and flushes it.</summary>
    public static async ValueTask WriteEventAsync(HttpResponse response, string? eventName, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
    {
        var pipe = response.BodyWriter;
        if (eventName is not null)
        {
            Write(pipe, "event: "u8);
            System.Text.EncodingExtensions.GetBytes(System.Text.Encoding.UTF8, eventName.AsSpan(), pipe);
            Write(pipe, "\n"u8);
        }
        Write(pipe, DataPrefix);
        using (var json = new Utf8JsonWriter(pipe, JsonOptions)) write(json);
        Write(pipe, EventEnd);
        await pipe.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async ValueTask WriteRawEventAsync(HttpResponse response, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        Write(response.BodyWriter, bytes.Span);
        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        var span = writer.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        writer.Advance(bytes.Length);
    }
}

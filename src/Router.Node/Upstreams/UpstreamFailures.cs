using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Router.Actors.Upstreams;

namespace Router.Node.Upstreams;

/// <summary>
/// Turns what can go wrong on the wire into <see cref="UpstreamException"/>, the one vocabulary dispatch
/// decides on. The caller's own cancellation is never translated: it stays an <see cref="OperationCanceledException"/>.
/// </summary>
internal static class UpstreamFailures
{
    // Error bodies are read only this far: enough for any provider's message, not a way to stall us.
    private const int MaxErrorBodyBytes = 16 * 1024;
    private const int MaxMessageChars = 400;

    /// <summary>Sends and returns a 2xx response, or throws the mapped failure.</summary>
    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient http, HttpRequestMessage request, string label, string? apiKey, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (TryTranslate(ex, label, ct, out var mapped))
        {
            throw mapped;
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            throw await FromStatusAsync(response, label, apiKey, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Maps a transport or parse failure. Returns false for what must propagate unchanged: the caller's
    /// cancellation, an <see cref="UpstreamException"/> already made, and bugs (anything unexpected).
    /// </summary>
    public static bool TryTranslate(Exception ex, string label, CancellationToken ct, out Exception mapped)
    {
        mapped = ex;
        if (ex is UpstreamException) return false;
        if (ct.IsCancellationRequested)
        {
            // A read cancelled by the caller can surface as an IOException from the torn-down connection.
            if (ex is OperationCanceledException) return false;
            mapped = new OperationCanceledException("The upstream call was cancelled by the caller.", ex, ct);
            return true;
        }

        (UpstreamFailureKind Kind, string What)? failure = ex switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError }
                => (UpstreamFailureKind.ConnectFailure, "could not connect"),
            HttpRequestException { InnerException: SocketException }
                => (UpstreamFailureKind.ConnectFailure, "could not connect"),
            HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded }
                => (UpstreamFailureKind.InvalidResponse, "sent an invalid HTTP response"),
            HttpRequestException => (UpstreamFailureKind.Reset, "broke the connection"),
            HttpIOException { HttpRequestError: HttpRequestError.InvalidResponse }
                => (UpstreamFailureKind.InvalidResponse, "sent an invalid HTTP response body"),
            IOException => (UpstreamFailureKind.Reset, "broke the connection mid-body"),
            JsonException => (UpstreamFailureKind.InvalidResponse, "sent a body that is not the expected JSON"),
            // HttpClient.Timeout is infinite, so a cancellation that is not the caller's is the connect timeout.
            OperationCanceledException { InnerException: TimeoutException }
                => (UpstreamFailureKind.ConnectFailure, "did not accept the connection in time"),
            OperationCanceledException => (UpstreamFailureKind.Timeout, "timed out"),
            _ => null,
        };
        if (failure is not { } f) return false;
        mapped = new UpstreamException(f.Kind, $"{label}: upstream {f.What} ({ex.GetType().Name}: {Truncate(ex.Message)})", inner: ex);
        return true;
    }

    /// <summary>Reads a whole JSON answer; a broken or cut body becomes the matching <see cref="UpstreamException"/>.</summary>
    public static async Task<T?> ReadJsonAsync<T>(
        HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string label, CancellationToken ct)
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return await System.Text.Json.JsonSerializer.DeserializeAsync(body, type, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (TryTranslate(ex, label, ct, out var mapped))
        {
            throw mapped;
        }
    }

    public static async Task<UpstreamException> FromStatusAsync(
        HttpResponseMessage response, string label, string? apiKey, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var error = await ReadErrorAsync(response, ct).ConfigureAwait(false);
        var kind = Classify(status, error);
        var retryAfter = status is 429 or 503 or 529 ? UpstreamHeaders.RetryAfter(response) : null;
        return new UpstreamException(kind, Describe(label, $"answered {status}", error, apiKey), status, retryAfter);
    }

    /// <summary>An error the provider reported inside a 200 stream (OpenAI <c>data: {"error":…}</c>, Anthropic <c>event: error</c>).</summary>
    public static UpstreamException FromStreamError(UpstreamErrorDto error, string label, string? apiKey)
    {
        var info = new UpstreamErrorInfo(error.Type, CodeOf(error.Code), error.Message);
        var type = (info.Type ?? info.Code ?? "").ToLowerInvariant();
        var kind = type switch
        {
            "rate_limit_error" or "rate_limit_exceeded" or "requests" or "tokens" => UpstreamFailureKind.RateLimited,
            "overloaded_error" => UpstreamFailureKind.Overloaded,
            "authentication_error" or "permission_error" or "invalid_api_key" => UpstreamFailureKind.AuthFailed,
            "not_found_error" or "model_not_found" => UpstreamFailureKind.NotFound,
            "invalid_request_error" => IsContextLength(info) ? UpstreamFailureKind.ContextLengthExceeded : UpstreamFailureKind.BadRequest,
            _ => UpstreamFailureKind.ServerError,
        };
        return new UpstreamException(kind, Describe(label, "failed mid-stream", info, apiKey));
    }

    /// <summary>An error object inside a stream (<c>{"type","message","code"}</c>), read leniently: whatever is missing stays null.</summary>
    public static UpstreamErrorDto ErrorOf(JsonElement error, string? defaultType = null)
    {
        var dto = new UpstreamErrorDto { Type = defaultType };
        if (error.ValueKind != JsonValueKind.Object) return dto;
        if (error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String) dto.Type = t.GetString();
        if (error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) dto.Message = m.GetString();
        if (error.TryGetProperty("code", out var c) && c.ValueKind is JsonValueKind.String or JsonValueKind.Number) dto.Code = c.Clone();
        return dto;
    }

    public static UpstreamException Invalid(string label, string what) =>
        new(UpstreamFailureKind.InvalidResponse, $"{label}: upstream {what}");

    public static UpstreamException Reset(string label, string what) =>
        new(UpstreamFailureKind.Reset, $"{label}: upstream {what}");

    internal sealed record UpstreamErrorInfo(string? Type, string? Code, string? Message);

    internal static UpstreamFailureKind Classify(int status, UpstreamErrorInfo? error) => status switch
    {
        429 => UpstreamFailureKind.RateLimited,
        529 => UpstreamFailureKind.Overloaded,
        401 or 403 => UpstreamFailureKind.AuthFailed,
        404 => UpstreamFailureKind.NotFound,
        408 => UpstreamFailureKind.Timeout,
        400 or 413 or 422 when IsContextLength(error) => UpstreamFailureKind.ContextLengthExceeded,
        >= 400 and < 500 => UpstreamFailureKind.BadRequest,
        >= 500 => UpstreamFailureKind.ServerError,
        // 1xx/3xx reaching us (redirects are not followed) is not an answer we understand.
        _ => UpstreamFailureKind.InvalidResponse,
    };

    // OpenAI: code "context_length_exceeded" / "maximum context length is N tokens";
    // Anthropic: invalid_request_error "prompt is too long: N tokens > M maximum"; relays paraphrase both.
    private static bool IsContextLength(UpstreamErrorInfo? error)
    {
        if (error is null) return false;
        if (string.Equals(error.Code, "context_length_exceeded", StringComparison.OrdinalIgnoreCase)) return true;
        var message = error.Message ?? "";
        return message.Contains("context_length", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context length", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase)
            || message.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<UpstreamErrorInfo?> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        byte[] buffer = new byte[MaxErrorBodyBytes];
        var length = 0;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            int read;
            while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0)
                length += read;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !ct.IsCancellationRequested)
        {
            // The status alone still classifies the failure.
        }
        if (length == 0) return null;

        var bytes = buffer.AsSpan(0, length);
        try
        {
            var envelope = JsonSerializer.Deserialize(bytes, UpstreamJsonContext.Default.UpstreamErrorEnvelopeDto);
            if (envelope?.Error is { } e) return new UpstreamErrorInfo(e.Type, CodeOf(e.Code), e.Message);
            if (envelope?.Message is { } m) return new UpstreamErrorInfo(null, null, m);
        }
        catch (JsonException)
        {
            // Not JSON (an HTML page from a proxy, or cut at the limit): keep the text itself.
        }
        return new UpstreamErrorInfo(null, null, Encoding.UTF8.GetString(bytes));
    }

    private static string? CodeOf(JsonElement? code) => code switch
    {
        { ValueKind: JsonValueKind.String } c => c.GetString(),
        { ValueKind: JsonValueKind.Number } c => c.GetRawText(),
        _ => null,
    };

    private static string Describe(string label, string what, UpstreamErrorInfo? error, string? apiKey)
    {
        var sb = new StringBuilder(label).Append(": upstream ").Append(what);
        if (error?.Type is { Length: > 0 } type) sb.Append(' ').Append(type);
        if (error?.Code is { Length: > 0 } code && code != error.Type) sb.Append(" (").Append(code).Append(')');
        if (error?.Message is { Length: > 0 } message) sb.Append(": ").Append(Truncate(message.ReplaceLineEndings(" ").Trim()));
        var text = sb.ToString();
        // Some upstreams echo the key they were given; it must never reach a log through us.
        return apiKey is { Length: >= 4 } ? text.Replace(apiKey, "***", StringComparison.Ordinal) : text;
    }

    private static string Truncate(string text) => text.Length <= MaxMessageChars ? text : text[..MaxMessageChars] + "…";
}

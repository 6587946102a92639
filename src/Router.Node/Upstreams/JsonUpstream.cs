using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using Router.Actors.Upstreams;

namespace Router.Node.Upstreams;

/// <summary>The HTTP half both JSON upstream clients share: building a POST, reading a whole JSON answer, opening an SSE body.</summary>
internal static class JsonUpstream
{
    /// <summary>Upstream answers are read whole up to this size (a chat answer is far smaller; a runaway body is cut).</summary>
    public const int MaxAnswerBytes = 64 * 1024 * 1024;

    public static HttpRequestMessage Post(Uri endpoint, ReadOnlyMemory<byte> body, bool stream)
    {
        var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = content,
            // HTTP/2 where the provider offers it (TLS/ALPN), HTTP/1.1 otherwise, as YARP does.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        return request;
    }

    /// <summary>Reads a whole 2xx answer's bytes; a cut body becomes the matching <see cref="UpstreamException"/>.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, string label, CancellationToken ct)
    {
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new ArrayBufferWriter<byte>((int)Math.Clamp(response.Content.Headers.ContentLength ?? 4096, 256, MaxAnswerBytes));
            while (true)
            {
                var n = await body.ReadAsync(buffer.GetMemory(8192), ct).ConfigureAwait(false);
                if (n == 0) break;
                buffer.Advance(n);
                if (buffer.WrittenCount > MaxAnswerBytes) throw UpstreamFailures.Invalid(label, $"sent an answer larger than {MaxAnswerBytes} bytes");
            }
            return buffer.WrittenSpan.ToArray();
        }
        catch (Exception ex) when (UpstreamFailures.TryTranslate(ex, label, ct, out var mapped))
        {
            throw mapped;
        }
    }

    /// <summary>Each SSE event's data as its own bytes (the parser's buffer is reused).</summary>
    public static readonly SseItemParser<byte[]> RawData = static (_, data) => data.ToArray();

    public static Task<SseEventReader<byte[]>> OpenEventsAsync(HttpResponseMessage response, string label, CancellationToken ct)
    {
        if (response.Content.Headers.ContentType?.MediaType is "application/json")
            throw UpstreamFailures.Invalid(label, "answered a stream request with JSON instead of an event stream");
        return SseEventReader<byte[]>.OpenAsync(response, RawData, label, ct);
    }

    /// <summary>Writes a body with <paramref name="write"/> into a fresh buffer.</summary>
    public static ReadOnlyMemory<byte> Build(Action<System.Text.Json.Utf8JsonWriter> write, int sizeHint = 1024)
    {
        var buffer = new ArrayBufferWriter<byte>(sizeHint);
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer)) write(w);
        return buffer.WrittenMemory;
    }

    /// <summary>The client's body with only <c>model</c> (and, for metered streams, <c>stream_options</c>) rewritten.</summary>
    public static ReadOnlyMemory<byte> Passthrough(ReadOnlyMemory<byte> raw, string model, bool ensureIncludeUsage)
    {
        var buffer = new ArrayBufferWriter<byte>(raw.Length + 64);
        Router.Node.Wire.JsonPassthrough.RewriteRequest(raw.Span, model, ensureIncludeUsage, buffer);
        return buffer.WrittenMemory;
    }
}

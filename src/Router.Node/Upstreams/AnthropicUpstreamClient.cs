using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Upstreams;

/// <summary>
/// Speaks Anthropic's Messages API: <c>POST {base}/messages</c> with <c>x-api-key</c> and a pinned
/// <c>anthropic-version</c>. A request that arrived as Anthropic Messages is passed through as it is (only <c>model</c>
/// rewritten) and its answer relayed as it came; any other request is translated (see <see cref="AnthropicWire"/>).
/// </summary>
internal sealed class AnthropicUpstreamClient : IUpstreamClient
{
    /// <summary>The API version whose request and event shapes this client implements.</summary>
    public const string ApiVersion = "2023-06-01";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly int _defaultMaxTokens;

    /// <param name="http">The provider's shared client (see <see cref="UpstreamHttp"/>); not disposed here.</param>
    /// <param name="baseUrl">The provider's base URL including the version, e.g. <c>https://api.anthropic.com/v1</c>.</param>
    /// <param name="defaultMaxTokens">Sent when the request sets no max_tokens (Anthropic refuses requests without one).</param>
    public AnthropicUpstreamClient(HttpClient http, string baseUrl, int defaultMaxTokens = 1024)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseUrl);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(defaultMaxTokens);
        _http = http;
        _endpoint = new Uri(baseUrl.TrimEnd('/') + "/messages", UriKind.Absolute);
        _defaultMaxTokens = defaultMaxTokens;
    }

    public bool SupportsEmbeddings => false;

    public bool PassesThrough(ChatRequest request) => request.IsPassthroughTo(WireFormat.AnthropicMessages);

    public RouterException? Refuses(ChatRequest request) =>
        PassesThrough(request) ? null : WireRefusals.Unmapped(request, "Anthropic") ?? AnthropicWire.Unsupported(request);

    public Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken) =>
        throw new UpstreamException(UpstreamFailureKind.BadRequest, $"{call.DeploymentId}: Anthropic serves no embeddings", 400);

    public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        var r = call.Request;
        var passthrough = PassesThrough(r);
        using var request = BuildRequest(call, passthrough, stream: false);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        var body = await JsonUpstream.ReadBodyAsync(response, label, cancellationToken).ConfigureAwait(false);
        ChatCompletion completion;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (!doc.RootElement.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
                throw UpstreamFailures.Invalid(label, "sent a message without content");
            completion = AnthropicWire.ParseMessage(doc.RootElement, r);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or KeyNotFoundException)
        {
            throw UpstreamFailures.Invalid(label, $"sent an answer that is not a valid Anthropic message ({ex.Message})");
        }
        return passthrough ? completion with { Raw = new RawBody(WireFormat.AnthropicMessages, body) } : completion;
    }

    public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(
        UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        var r = call.Request;
        var passthrough = PassesThrough(r);
        using var request = BuildRequest(call, passthrough, stream: true);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        await using var events = await JsonUpstream.OpenEventsAsync(response, label, cancellationToken).ConfigureAwait(false);

        var reader = new AnthropicEventReader(r);
        var scratch = new List<ChatStreamEvent>(4);
        var content = false;
        while (!reader.Stopped && await events.MoveNextAsync().ConfigureAwait(false))
        {
            var item = events.Current;
            scratch.Clear();
            string type;
            using (var doc = Parse(item.Data, label))
            {
                var data = doc.RootElement;
                // The SSE event name and the data's "type" agree on Anthropic; relays sometimes drop the former.
                type = item.EventType is SseParser.EventTypeDefault or ""
                    ? data.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : ""
                    : item.EventType;
                if (type == "error")
                    throw UpstreamFailures.FromStreamError(
                        UpstreamFailures.ErrorOf(data.TryGetProperty("error", out var error) ? error : default, "api_error"), label, call.ApiKey);
                try
                {
                    reader.Read(type, data, scratch);
                }
                catch (InvalidDataException ex)
                {
                    throw UpstreamFailures.Invalid(label, "sent a malformed stream event: " + ex.Message);
                }
            }
            if (!passthrough)
            {
                foreach (var e in scratch) yield return e;
                continue;
            }
            foreach (var e in scratch)
            {
                if (e is StreamStarted) yield return e;
                else content = true;
            }
            yield return new RawStreamEvent(WireFormat.AnthropicMessages, type, item.Data, IsPreamble: !content);
        }

        if (!reader.Stopped) throw UpstreamFailures.Reset(label, "ended the stream before message_stop");
        await events.DrainAsync().ConfigureAwait(false);
        yield return reader.Finish();
    }

    private HttpRequestMessage BuildRequest(UpstreamCall call, bool passthrough, bool stream)
    {
        var body = passthrough
            ? JsonUpstream.Passthrough(call.Request.RawBody, call.UpstreamModel, ensureIncludeUsage: false)
            : JsonUpstream.Build(w => AnthropicWire.WriteRequest(w, call.Request, call.UpstreamModel, stream, _defaultMaxTokens));
        var request = JsonUpstream.Post(_endpoint, body, stream);
        request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
        if (call.ApiKey is { Length: > 0 } key) request.Headers.TryAddWithoutValidation("x-api-key", key);
        return request;
    }

    private static JsonDocument Parse(byte[] data, string label)
    {
        try
        {
            return JsonDocument.Parse(data);
        }
        catch (JsonException ex)
        {
            throw UpstreamFailures.Invalid(label, $"sent a stream event that is not JSON ({ex.Message})");
        }
    }

}

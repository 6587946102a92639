using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;

namespace Router.Node.Upstreams;

/// <summary>
/// Speaks Anthropic's Messages API: <c>POST {base}/messages</c> with <c>x-api-key</c> and a pinned
/// <c>anthropic-version</c>; system messages move to the top-level <c>system</c> field and <c>max_tokens</c>,
/// which Anthropic requires, is always sent.
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

    public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        using var request = BuildRequest(call, stream: false);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);

        var dto = await UpstreamFailures.ReadJsonAsync(response, UpstreamJsonContext.Default.AnthropicMessageDto, label, cancellationToken)
            .ConfigureAwait(false);

        if (dto?.Content is not { } content) throw UpstreamFailures.Invalid(label, "sent a message without content");
        var text = string.Concat(content.Where(b => b.Type == "text").Select(b => b.Text));
        var usage = new TokenUsage(dto.Usage?.TotalInputTokens ?? 0, dto.Usage?.OutputTokens ?? 0);
        return new ChatCompletion(dto.Id ?? "", dto.Model ?? call.UpstreamModel, text, MapStopReason(dto.StopReason), usage);
    }

    public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(
        UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        using var request = BuildRequest(call, stream: true);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentType?.MediaType is "application/json")
            throw UpstreamFailures.Invalid(label, "answered a stream request with JSON instead of an event stream");

        await using var events = await SseEventReader<AnthropicEventDto>.OpenAsync(response, ParseEvent, label, cancellationToken)
            .ConfigureAwait(false);
        int? inputTokens = null, outputTokens = null;
        string? stopReason = null;
        var stopped = false;
        while (!stopped && await events.MoveNextAsync().ConfigureAwait(false))
        {
            var item = events.Current;
            var e = item.Data;
            // The SSE event name and the data's "type" agree on Anthropic; relays sometimes drop the former.
            var type = item.EventType is SseParser.EventTypeDefault ? e.Type : item.EventType;
            if (type == "message_start")
            {
                if (e.Message?.Id is { Length: > 0 } id) yield return new StreamStarted(id);
                inputTokens = e.Message?.Usage?.TotalInputTokens ?? inputTokens;
                outputTokens = e.Message?.Usage?.OutputTokens ?? outputTokens;
            }
            else if (type == "content_block_start")
            {
                if (e.ContentBlock is { Type: "text", Text: { Length: > 0 } initial }) yield return new ContentDelta(initial);
            }
            else if (type == "content_block_delta")
            {
                // Only text: tool-input and thinking deltas have no place in a chat answer.
                if (e.Delta is { Type: "text_delta", Text: { Length: > 0 } text }) yield return new ContentDelta(text);
            }
            else if (type == "message_delta")
            {
                stopReason = e.Delta?.StopReason ?? stopReason;
                outputTokens = e.Usage?.OutputTokens ?? outputTokens;
                inputTokens = e.Usage?.TotalInputTokens ?? inputTokens;
            }
            else if (type == "message_stop")
            {
                stopped = true;
            }
            else if (type == "error")
            {
                throw UpstreamFailures.FromStreamError(e.Error ?? new UpstreamErrorDto { Type = "api_error" }, label, call.ApiKey);
            }
            // ping, content_block_stop and event types added later are ignored, as Anthropic asks of clients.
        }

        if (!stopped) throw UpstreamFailures.Reset(label, "ended the stream before message_stop");
        await events.DrainAsync().ConfigureAwait(false);
        TokenUsage? usage = inputTokens is null && outputTokens is null ? null : new TokenUsage(inputTokens ?? 0, outputTokens ?? 0);
        yield return new StreamFinished(MapStopReason(stopReason), usage);
    }

    internal static FinishReason MapStopReason(string? reason) => reason switch
    {
        "max_tokens" or "model_context_window_exceeded" => FinishReason.Length,
        "tool_use" => FinishReason.ToolCalls,
        "refusal" => FinishReason.ContentFilter,
        _ => FinishReason.Stop, // end_turn, stop_sequence, pause_turn
    };

    private static readonly SseItemParser<AnthropicEventDto> ParseEvent = static (_, data) =>
        JsonSerializer.Deserialize(data, UpstreamJsonContext.Default.AnthropicEventDto)
        ?? throw new JsonException("An event's data was JSON null.");

    private HttpRequestMessage BuildRequest(UpstreamCall call, bool stream)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer)) WriteBody(w, call, stream, _defaultMaxTokens);

        var content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
        if (call.ApiKey is { Length: > 0 } key) request.Headers.TryAddWithoutValidation("x-api-key", key);
        return request;
    }

    internal static void WriteBody(Utf8JsonWriter w, UpstreamCall call, bool stream, int defaultMaxTokens)
    {
        var r = call.Request;
        w.WriteStartObject();
        w.WriteString("model", call.UpstreamModel);
        w.WriteNumber("max_tokens", r.MaxTokens ?? defaultMaxTokens);

        // Anthropic has no system role inside messages: all system text becomes the one top-level prompt.
        var system = r.Messages.Where(m => m.Role == ChatRole.System).Select(m => m.Text).ToList();
        if (system.Count > 0) w.WriteString("system", string.Join("\n\n", system));

        w.WriteStartArray("messages");
        foreach (var m in r.Messages)
        {
            if (m.Role == ChatRole.System) continue;
            w.WriteStartObject();
            w.WriteString("role", m.Role == ChatRole.Assistant ? "assistant" : "user");
            w.WriteString("content", m.Text);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        if (r.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (r.TopP is { } topP) w.WriteNumber("top_p", topP);
        if (r.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stop_sequences");
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (r.User is { } user)
        {
            w.WriteStartObject("metadata");
            w.WriteString("user_id", user);
            w.WriteEndObject();
        }
        if (stream) w.WriteBoolean("stream", true);
        w.WriteEndObject();
    }
}

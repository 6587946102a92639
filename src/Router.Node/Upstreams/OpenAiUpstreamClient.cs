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
/// Speaks OpenAI Chat Completions (and every OpenAI-compatible relay): <c>POST {base}/chat/completions</c>
/// with a Bearer key; streams parsed from SSE as they arrive.
/// </summary>
internal sealed class OpenAiUpstreamClient : IUpstreamClient
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;

    /// <param name="http">The provider's shared client (see <see cref="UpstreamHttp"/>); not disposed here.</param>
    /// <param name="baseUrl">The provider's base URL including the version, e.g. <c>https://api.openai.com/v1</c>.</param>
    public OpenAiUpstreamClient(HttpClient http, string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseUrl);
        _http = http;
        _endpoint = new Uri(baseUrl.TrimEnd('/') + "/chat/completions", UriKind.Absolute);
    }

    public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        using var request = BuildRequest(call, stream: false);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);

        var dto = await UpstreamFailures.ReadJsonAsync(response, UpstreamJsonContext.Default.OpenAiCompletionDto, label, cancellationToken)
            .ConfigureAwait(false);

        if (dto?.Choices is not { Count: > 0 } choices) throw UpstreamFailures.Invalid(label, "sent a completion without choices");
        var choice = choices[0];
        var usage = dto.Usage is { } u ? new TokenUsage(u.PromptTokens, u.CompletionTokens) : default;
        return new ChatCompletion(dto.Id ?? "", dto.Model ?? call.UpstreamModel, choice.Message?.Content ?? "",
            MapFinishReason(choice.FinishReason), usage);
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

        await using var events = await SseEventReader<Chunk>.OpenAsync(response, ParseChunk, label, cancellationToken)
            .ConfigureAwait(false);
        string? finishReason = null;
        TokenUsage? usage = null;
        var done = false;
        var started = false;
        while (await events.MoveNextAsync().ConfigureAwait(false))
        {
            var chunk = events.Current.Data;
            if (chunk.Done)
            {
                done = true;
                break;
            }
            if (chunk.Error is { } error) throw UpstreamFailures.FromStreamError(error, label, call.ApiKey);
            if (!started && chunk.Id is { Length: > 0 } id)
            {
                started = true;
                yield return new StreamStarted(id);
            }
            if (chunk.Usage is { } u) usage = u;
            if (chunk.FinishReason is { } f) finishReason = f;
            if (chunk.Content is { Length: > 0 } text) yield return new ContentDelta(text);
        }

        // Relays that omit [DONE] still end cleanly after a finish_reason; without either the body was cut.
        if (!done && finishReason is null) throw UpstreamFailures.Reset(label, "ended the stream before [DONE]");
        if (done) await events.DrainAsync().ConfigureAwait(false);
        yield return new StreamFinished(MapFinishReason(finishReason), usage);
    }

    internal static FinishReason MapFinishReason(string? reason) => reason switch
    {
        "length" => FinishReason.Length,
        "content_filter" => FinishReason.ContentFilter,
        "tool_calls" or "function_call" => FinishReason.ToolCalls,
        _ => FinishReason.Stop,
    };

    private readonly record struct Chunk(string? Content, string? FinishReason, TokenUsage? Usage, bool Done, UpstreamErrorDto? Error, string? Id = null);

    private static readonly SseItemParser<Chunk> ParseChunk = static (_, data) =>
    {
        if (data.SequenceEqual("[DONE]"u8)) return new Chunk(null, null, null, Done: true, null);
        var dto = JsonSerializer.Deserialize(data, UpstreamJsonContext.Default.OpenAiCompletionDto)
            ?? throw new JsonException("An event's data was JSON null.");
        var choice = dto.Choices is { Count: > 0 } choices ? choices[0] : null;
        var usage = dto.Usage is { } u ? new TokenUsage(u.PromptTokens, u.CompletionTokens) : (TokenUsage?)null;
        return new Chunk(choice?.Delta?.Content, choice?.FinishReason, usage, Done: false, dto.Error, dto.Id);
    };

    private HttpRequestMessage BuildRequest(UpstreamCall call, bool stream)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer)) WriteBody(w, call, stream);

        var content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = content,
            // HTTP/2 where the provider offers it (TLS/ALPN), HTTP/1.1 otherwise, as YARP does.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
        if (call.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    internal static void WriteBody(Utf8JsonWriter w, UpstreamCall call, bool stream)
    {
        var r = call.Request;
        w.WriteStartObject();
        w.WriteString("model", call.UpstreamModel);
        w.WriteStartArray("messages");
        foreach (var m in r.Messages)
        {
            w.WriteStartObject();
            w.WriteString("role", m.Role switch
            {
                ChatRole.System => "system",
                ChatRole.Assistant => "assistant",
                _ => "user",
            });
            w.WriteString("content", m.Text);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (r.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (r.TopP is { } topP) w.WriteNumber("top_p", topP);
        if (r.MaxTokens is { } maxTokens) w.WriteNumber("max_tokens", maxTokens);
        if (r.Stop is { Count: > 0 } stop)
        {
            w.WriteStartArray("stop");
            foreach (var s in stop) w.WriteStringValue(s);
            w.WriteEndArray();
        }
        if (r.User is { } user) w.WriteString("user", user);
        if (stream)
        {
            w.WriteBoolean("stream", true);
            // Always: the gateway meters every streamed answer, whatever the client asked for.
            w.WriteStartObject("stream_options");
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}

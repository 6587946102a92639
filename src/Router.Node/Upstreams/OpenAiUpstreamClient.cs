using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire;
using Router.Node.Wire.Completions;
using Router.Node.Wire.OpenAi;
using Router.Node.Wire.Responses;

namespace Router.Node.Upstreams;

/// <summary>
/// Speaks OpenAI's API (and every OpenAI-compatible relay) with a Bearer key: Chat Completions, the Responses API,
/// legacy Completions and Embeddings. A request that arrived on one of these wires is passed through as it is (only
/// <c>model</c> and <c>stream_options</c> rewritten) and its answer relayed as it came; a request from another wire is
/// translated to Chat Completions. Streams are parsed from SSE as they arrive.
/// </summary>
internal sealed class OpenAiUpstreamClient : IUpstreamClient
{
    private readonly HttpClient _http;
    private readonly Uri _chat;
    private readonly Uri _responses;
    private readonly Uri _completions;
    private readonly Uri _embeddings;

    /// <param name="http">The provider's shared client (see <see cref="UpstreamHttp"/>); not disposed here.</param>
    /// <param name="baseUrl">The provider's base URL including the version, e.g. <c>https://api.openai.com/v1</c>.</param>
    public OpenAiUpstreamClient(HttpClient http, string baseUrl)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseUrl);
        _http = http;
        var root = baseUrl.TrimEnd('/');
        _chat = new Uri(root + "/chat/completions", UriKind.Absolute);
        _responses = new Uri(root + "/responses", UriKind.Absolute);
        _completions = new Uri(root + "/completions", UriKind.Absolute);
        _embeddings = new Uri(root + "/embeddings", UriKind.Absolute);
    }

    public bool SupportsEmbeddings => true;

    public bool PassesThrough(ChatRequest request) =>
        !request.RawBody.IsEmpty && request.Source is WireFormat.OpenAiChat or WireFormat.OpenAiResponses or WireFormat.OpenAiCompletions;

    public RouterException? Refuses(ChatRequest request) =>
        PassesThrough(request) ? null : WireRefusals.Unmapped(request, "OpenAI") ?? OpenAiChatWire.Unsupported(request);

    public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        var r = call.Request;
        var passthrough = PassesThrough(r);
        using var request = passthrough
            ? JsonUpstream.Post(EndpointOf(r.Source), JsonUpstream.Passthrough(r.RawBody, call.UpstreamModel, ensureIncludeUsage: false), stream: false)
            : JsonUpstream.Post(_chat, JsonUpstream.Build(w => OpenAiChatWire.WriteRequest(w, r, call.UpstreamModel, stream: false)), stream: false);
        Authorize(request, call.ApiKey);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        var body = await JsonUpstream.ReadBodyAsync(response, label, cancellationToken).ConfigureAwait(false);

        var wire = passthrough ? r.Source : WireFormat.OpenAiChat;
        ChatCompletion completion;
        try
        {
            using var doc = JsonDocument.Parse(body);
            completion = wire switch
            {
                WireFormat.OpenAiResponses => ResponsesWire.ParseResponse(doc.RootElement),
                WireFormat.OpenAiCompletions => CompletionsWire.ParseCompletion(doc.RootElement),
                _ => OpenAiChatWire.ParseCompletion(doc.RootElement),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or KeyNotFoundException)
        {
            throw UpstreamFailures.Invalid(label, $"sent an answer that is not a valid {WireRefusals.Describe(wire)} object ({ex.Message})");
        }
        if (wire == WireFormat.OpenAiChat && completion.Choices.Count == 0) throw UpstreamFailures.Invalid(label, "sent a completion without choices");
        return passthrough ? completion with { Raw = new RawBody(wire, body) } : completion;
    }

    public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(
        UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        var r = call.Request;
        var passthrough = PassesThrough(r);
        var wire = passthrough ? r.Source : WireFormat.OpenAiChat;
        // Router meters every streamed answer, so chat and completions streams always ask for the usage chunk.
        using var request = passthrough
            ? JsonUpstream.Post(EndpointOf(wire), JsonUpstream.Passthrough(r.RawBody, call.UpstreamModel, ensureIncludeUsage: wire != WireFormat.OpenAiResponses), stream: true)
            : JsonUpstream.Post(_chat, JsonUpstream.Build(w => OpenAiChatWire.WriteRequest(w, r, call.UpstreamModel, stream: true)), stream: true);
        Authorize(request, call.ApiKey);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        await using var events = await JsonUpstream.OpenEventsAsync(response, label, cancellationToken).ConfigureAwait(false);

        var stream = new OpenAiStreamState(wire, passthrough, r.IncludeUsage, label, call.ApiKey);
        var pending = new List<ChatStreamEvent>(4);
        while (!stream.Done && await events.MoveNextAsync().ConfigureAwait(false))
        {
            pending.Clear();
            var item = events.Current;
            stream.Read(item.EventType, item.Data, pending);
            foreach (var e in pending) yield return e;
        }

        if (!stream.Done && !stream.EndedCleanly) throw UpstreamFailures.Reset(label, stream.CutMessage);
        if (stream.Done) await events.DrainAsync().ConfigureAwait(false);
        yield return stream.Finish();
    }

    public async Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var label = call.DeploymentId;
        var r = call.Request;
        var body = r.RawBody.IsEmpty
            ? JsonUpstream.Build(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", call.UpstreamModel);
                w.WriteStartArray("input");
                foreach (var input in r.Inputs) w.WriteStringValue(input);
                w.WriteEndArray();
                if (r.EncodingFormat is { } format) w.WriteString("encoding_format", format);
                if (r.Dimensions is { } dimensions) w.WriteNumber("dimensions", dimensions);
                if (r.User is { } user) w.WriteString("user", user);
                w.WriteEndObject();
            })
            : JsonUpstream.Passthrough(r.RawBody, call.UpstreamModel, ensureIncludeUsage: false);
        using var request = JsonUpstream.Post(_embeddings, body, stream: false);
        Authorize(request, call.ApiKey);
        using var response = await UpstreamFailures.SendAsync(_http, request, label, call.ApiKey, cancellationToken).ConfigureAwait(false);
        var answer = await JsonUpstream.ReadBodyAsync(response, label, cancellationToken).ConfigureAwait(false);
        try
        {
            using var doc = JsonDocument.Parse(answer);
            var root = doc.RootElement;
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                throw UpstreamFailures.Invalid(label, "sent embeddings without a data array");
            var tokens = root.TryGetProperty("usage", out var usage) && usage.TryGetProperty("prompt_tokens", out var pt) && pt.TryGetInt32(out var n) ? n : 0;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : call.UpstreamModel;
            return new EmbeddingResult(model, tokens) { Raw = new RawBody(WireFormat.OpenAiChat, answer) };
        }
        catch (JsonException ex)
        {
            throw UpstreamFailures.Invalid(label, $"sent embeddings that are not JSON ({ex.Message})");
        }
    }

    private Uri EndpointOf(WireFormat wire) => wire switch
    {
        WireFormat.OpenAiResponses => _responses,
        WireFormat.OpenAiCompletions => _completions,
        _ => _chat,
    };

    private static void Authorize(HttpRequestMessage request, string? apiKey)
    {
        if (apiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }
}

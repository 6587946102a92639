using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Testing;

/// <summary>
/// A scriptable OpenAI- and Anthropic-compatible upstream on real Kestrel sockets, so upstream clients and
/// the whole gateway are tested against real HTTP: real status lines, real SSE framing, real connection
/// aborts in both directions. Serves <c>POST /v1/chat/completions</c> and <c>POST /v1/messages</c>.
/// Thread-safe; one instance per test.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BehaviourScript _global = new(Behaviour.Echo);
    private readonly ConcurrentDictionary<string, BehaviourScript> _byKey = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly CountWaiter _received = new();
    private readonly CountWaiter _aborted = new();
    private readonly CountWaiter _completed = new();
    private int _sequence;
    private int _disposed;

    private FakeUpstream(WebApplication app) => _app = app;

    /// <summary>The bound port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>Base URL including <c>/v1</c>, as a provider's BaseUrl is configured.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    /// <summary>
    /// When true (the default) the fake refuses what the real APIs refuse before doing anything:
    /// a missing key (401), a missing model, Anthropic without <c>anthropic-version</c> or <c>max_tokens</c> (400).
    /// </summary>
    public bool StrictValidation { get; set; } = true;

    /// <summary>Starts Kestrel on 127.0.0.1, port 0, and reads the bound port back.</summary>
    public static async Task<FakeUpstream> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FakeUpstream).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var fake = new FakeUpstream(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Single();
        fake.Port = new Uri(address).Port;
        return fake;
    }

    /// <summary>The script every request falls through to; its standing behaviour is <see cref="Behaviour.Echo"/>.</summary>
    public BehaviourScript Script => _global;

    /// <summary>Answers the next request (not claimed by a key script) this way, once.</summary>
    public FakeUpstream Enqueue(Behaviour behaviour)
    {
        _global.Enqueue(behaviour);
        return this;
    }

    /// <summary>Answers every request (not claimed by a key script, once the queue is empty) this way.</summary>
    public FakeUpstream Always(Behaviour behaviour)
    {
        _global.Always(behaviour);
        return this;
    }

    /// <summary>
    /// A script for requests presenting this key (Bearer token or x-api-key). It claims a request while it has
    /// something queued or a standing behaviour; otherwise the request falls through to the global script.
    /// </summary>
    public BehaviourScript ForKey(string apiKey) => _byKey.GetOrAdd(apiKey, _ => new BehaviourScript(null));

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    public RecordedRequest LastRequest
    {
        get { lock (_gate) return _requests.Count > 0 ? _requests[^1] : throw new InvalidOperationException("No request received."); }
    }

    public int RequestCount => _received.Count;

    /// <summary>Requests whose client went away (RequestAborted fired) before the response was complete.</summary>
    public int AbortedCount => _aborted.Count;

    /// <summary>Requests whose response was written to the end.</summary>
    public int CompletedCount => _completed.Count;

    /// <summary>Completes once at least <paramref name="count"/> requests have arrived; throws <see cref="TimeoutException"/> otherwise.</summary>
    public Task WaitForRequestsAsync(int count, TimeSpan timeout) => _received.WaitAsync(count, timeout, "requests");

    /// <summary>
    /// Completes once at least one request was aborted by its client (at once if one already was), so a test can
    /// assert that a cancellation reached the upstream; throws <see cref="TimeoutException"/> otherwise.
    /// </summary>
    public Task WaitForAbortAsync(TimeSpan timeout) => _aborted.WaitAsync(1, timeout, "client aborts");

    public Task WaitForAbortsAsync(int count, TimeSpan timeout) => _aborted.WaitAsync(count, timeout, "client aborts");

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // End hanging handlers first, or StopAsync would wait for them.
        await _stopping.CancelAsync().ConfigureAwait(false);
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private sealed class Exchange
    {
        public bool Finished;
        public bool ServerAborted;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var exchange = new Exchange();
        using var registration = ctx.RequestAborted.Register(() => OnRequestAborted(exchange));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        try
        {
            await ServeAsync(ctx, exchange, linked.Token).ConfigureAwait(false);
            bool completed;
            lock (exchange)
            {
                // A scripted cut, or a client that left while writes still "succeeded", is not a completed answer.
                completed = !exchange.Finished && !exchange.ServerAborted;
                exchange.Finished = true;
            }
            if (completed) _completed.Increment();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException
                                   && (ctx.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested))
        {
            if (_stopping.IsCancellationRequested && !ctx.RequestAborted.IsCancellationRequested) AbortByServer(ctx, exchange);
        }
    }

    private void OnRequestAborted(Exchange exchange)
    {
        lock (exchange)
        {
            if (exchange.Finished || exchange.ServerAborted) return;
            exchange.Finished = true;
        }
        _aborted.Increment();
    }

    // Kestrel's abort drops whatever it has not yet handed to the socket, and flushes do not wait for the
    // socket; without this pause a "cut after 2 chunks" could reach the client as "cut after 0".
    private static readonly TimeSpan CutLinger = TimeSpan.FromMilliseconds(200);

    private static async Task CutAsync(HttpContext ctx, Exchange exchange, CancellationToken ct)
    {
        await Task.Delay(CutLinger, ct).ConfigureAwait(false);
        AbortByServer(ctx, exchange);
    }

    private static void AbortByServer(HttpContext ctx, Exchange exchange)
    {
        lock (exchange) exchange.ServerAborted = true;
        ctx.Abort();
    }

    private async Task ServeAsync(HttpContext ctx, Exchange exchange, CancellationToken ct)
    {
        var request = await RecordAsync(ctx, ct).ConfigureAwait(false);
        IFakeWire wire = request.Api == FakeApi.Anthropic ? AnthropicWire.Instance : OpenAiWire.Instance;
        if (request.Api == FakeApi.Unknown)
        {
            await WriteErrorAsync(ctx, 404, wire.ErrorBody(404, null, $"Unknown path {request.Method} {request.Path}.", null), [], ct)
                .ConfigureAwait(false);
            return;
        }

        var view = FakeRequestView.Read(request.Api, request.Body);
        if (StrictValidation && Validate(request, view) is { } refusal)
        {
            await WriteErrorAsync(ctx, refusal.Status, wire.ErrorBody(refusal.Status, null, refusal.Message, refusal.Code), [], ct)
                .ConfigureAwait(false);
            return;
        }

        var behaviour = Choose(request.ApiKey);
        while (behaviour.Pick is { } pick) behaviour = pick();
        if (behaviour.DelayBeforeResponse != TimeSpan.Zero)
            await Task.Delay(behaviour.DelayBeforeResponse, ct).ConfigureAwait(false);

        switch (behaviour.Kind)
        {
            case BehaviourKind.Status:
                var body = behaviour.RawBody
                    ?? wire.ErrorBody(behaviour.StatusCode, behaviour.ErrorType, behaviour.ErrorMessage, behaviour.ErrorCode);
                await WriteErrorAsync(ctx, behaviour.StatusCode, body, behaviour.Headers, ct).ConfigureAwait(false);
                return;
            case BehaviourKind.Garbage:
                ctx.Response.StatusCode = 200;
                AddHeaders(ctx, behaviour.Headers);
                ctx.Response.ContentType = view.Stream ? "text/event-stream" : "application/json";
                await ctx.Response.WriteAsync(view.Stream ? "data: {this is not json\n\n" : "<html>this is not JSON {", ct)
                    .ConfigureAwait(false);
                return;
        }

        if (behaviour.RawAnswer is { } rawAnswer)
        {
            ctx.Response.StatusCode = 200;
            AddHeaders(ctx, behaviour.Headers);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(rawAnswer, ct).ConfigureAwait(false);
            return;
        }
        if (behaviour.RawEvents is { } rawEvents)
        {
            ctx.Response.StatusCode = 200;
            AddHeaders(ctx, behaviour.Headers);
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.StartAsync(ct).ConfigureAwait(false);
            foreach (var e in rawEvents)
            {
                if (behaviour.DelayPerChunk != TimeSpan.Zero) await Task.Delay(behaviour.DelayPerChunk, ct).ConfigureAwait(false);
                await SendAsync(ctx, e, ct).ConfigureAwait(false);
            }
            return;
        }
        if (request.Api == FakeApi.OpenAiEmbeddings)
        {
            await AnswerEmbeddingsAsync(ctx, request, view, ct).ConfigureAwait(false);
            return;
        }
        if (request.Api is FakeApi.OpenAiResponses or FakeApi.OpenAiCompletions)
        {
            await WriteErrorAsync(ctx, 400, wire.ErrorBody(400, null, "The fake answers this endpoint only with RawJson or RawStream behaviours.", null), [], ct)
                .ConfigureAwait(false);
            return;
        }

        var plan = AnswerPlan.Create(request.Sequence, view, behaviour);
        AddHeaders(ctx, behaviour.Headers);
        ctx.Response.Headers[request.Api == FakeApi.Anthropic ? "request-id" : "x-request-id"] = $"req_fake_{request.Sequence}";
        if (view.Stream) await StreamAsync(ctx, exchange, wire, plan, behaviour, ct).ConfigureAwait(false);
        else await AnswerJsonAsync(ctx, exchange, wire, plan, behaviour, ct).ConfigureAwait(false);
    }

    private Behaviour Choose(string? apiKey)
    {
        if (apiKey is not null && _byKey.TryGetValue(apiKey, out var keyScript) && keyScript.TryNext(out var keyed)) return keyed;
        return _global.TryNext(out var global) ? global : Behaviour.Echo;
    }

    private static (int Status, string Message, string? Code)? Validate(RecordedRequest request, FakeRequestView view)
    {
        if (request.ApiKey is null)
        {
            return request.Api == FakeApi.Anthropic
                ? (401, "x-api-key header is required", null)
                : (401, "You didn't provide an API key.", null);
        }
        if (request.Body is not { ValueKind: JsonValueKind.Object }) return (400, "The request body is not valid JSON.", null);
        if (view.Model is null) return (400, "model: Field required", null);
        if (request.Api is FakeApi.OpenAiEmbeddings or FakeApi.OpenAiCompletions or FakeApi.OpenAiResponses)
        {
            var required = request.Api switch { FakeApi.OpenAiEmbeddings => "input", FakeApi.OpenAiCompletions => "prompt", _ => "input" };
            return request.Body.Value.TryGetProperty(required, out _) ? null : (400, $"Missing required parameter: '{required}'.", null);
        }
        if (!request.Body.Value.TryGetProperty("messages", out var m) || m.ValueKind != JsonValueKind.Array)
            return (400, "messages: Field required", null);
        if (request.Api == FakeApi.Anthropic)
        {
            if (request.Header("anthropic-version") is null) return (400, "anthropic-version: header is required", null);
            if (view.MaxTokens is null) return (400, "max_tokens: Field required", null);
        }
        return null;
    }

    private async Task<RecordedRequest> RecordAsync(HttpContext ctx, CancellationToken ct)
    {
        var path = ctx.Request.Path.Value ?? "";
        var method = ctx.Request.Method;
        var api = (method, path.TrimEnd('/')) switch
        {
            ("POST", "/v1/chat/completions") => FakeApi.OpenAi,
            ("POST", "/v1/messages") => FakeApi.Anthropic,
            ("POST", "/v1/responses") => FakeApi.OpenAiResponses,
            ("POST", "/v1/completions") => FakeApi.OpenAiCompletions,
            ("POST", "/v1/embeddings") => FakeApi.OpenAiEmbeddings,
            _ => FakeApi.Unknown,
        };

        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
        JsonElement? body = null;
        try
        {
            if (raw.Length > 0)
            {
                using var doc = JsonDocument.Parse(raw);
                body = doc.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
            // Recorded as raw text; validation answers 400 like the real APIs.
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in ctx.Request.Headers) headers[name] = values.ToString();

        string? apiKey = null;
        if (headers.TryGetValue("x-api-key", out var xApiKey) && xApiKey.Length > 0) apiKey = xApiKey;
        else if (headers.TryGetValue("Authorization", out var auth) && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            apiKey = auth["Bearer ".Length..].Trim();

        RecordedRequest recorded;
        lock (_gate)
        {
            recorded = new RecordedRequest(++_sequence, api, method, path, headers, raw, body, apiKey, ctx.Connection.Id);
            _requests.Add(recorded);
        }
        _received.Increment();
        return recorded;
    }

    /// <summary>
    /// OpenAI's embeddings answer for each input: a vector of three numbers derived from the input's length (so tests can
    /// tell inputs apart), as floats or, when asked, base64 of little-endian float32s; usage counts ceil(chars / 4) per input.
    /// </summary>
    private static async Task AnswerEmbeddingsAsync(HttpContext ctx, RecordedRequest request, FakeRequestView view, CancellationToken ct)
    {
        var body = request.Body!.Value;
        var inputs = new List<string>();
        var input = body.GetProperty("input");
        if (input.ValueKind == JsonValueKind.String) inputs.Add(input.GetString()!);
        else if (input.ValueKind == JsonValueKind.Array)
            foreach (var i in input.EnumerateArray()) inputs.Add(i.ValueKind == JsonValueKind.String ? i.GetString()! : i.GetRawText());
        var base64 = body.TryGetProperty("encoding_format", out var f) && f.ValueEquals("base64");
        var tokens = inputs.Sum(i => (i.Length + 3) / 4);
        var json = JsonText.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < inputs.Count; i++)
            {
                float[] vector = [inputs[i].Length / 100f, 0.5f, -0.25f];
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (base64) w.WriteBase64String("embedding", System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (var v in vector) w.WriteNumberValue(v);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model", view.Model);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", tokens);
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json, ct).ConfigureAwait(false);
    }

    private static async Task WriteErrorAsync(HttpContext ctx, int status, string body,
        IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken ct)
    {
        ctx.Response.StatusCode = status;
        AddHeaders(ctx, headers);
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body, ct).ConfigureAwait(false);
    }

    private static void AddHeaders(HttpContext ctx, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        foreach (var (name, value) in headers) ctx.Response.Headers.Append(name, value);
    }

    private static async Task AnswerJsonAsync(HttpContext ctx, Exchange exchange, IFakeWire wire, AnswerPlan plan,
        Behaviour behaviour, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(wire.Json(plan));
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        if (behaviour.CutAfterChunks is null)
        {
            await ctx.Response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
            return;
        }
        // Half the promised Content-Length, then the connection goes: the client sees the body end early.
        await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2), ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
        await CutAsync(ctx, exchange, ct).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext ctx, Exchange exchange, IFakeWire wire, AnswerPlan plan,
        Behaviour behaviour, CancellationToken ct)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        await ctx.Response.StartAsync(ct).ConfigureAwait(false);

        foreach (var e in wire.StreamPreamble(plan)) await SendAsync(ctx, e, ct).ConfigureAwait(false);
        for (var i = 0; i <= plan.Chunks.Count; i++)
        {
            if (behaviour.CutAfterChunks == i)
            {
                await CutAsync(ctx, exchange, ct).ConfigureAwait(false);
                return;
            }
            if (behaviour.StreamErrorAfterChunks == i)
            {
                await SendAsync(ctx, wire.StreamError(behaviour.ErrorType ?? "api_error", behaviour.ErrorMessage ?? "error"), ct)
                    .ConfigureAwait(false);
                return;
            }
            if (i == plan.Chunks.Count) break;
            if (i > 0 && behaviour.DelayPerChunk != TimeSpan.Zero) await Task.Delay(behaviour.DelayPerChunk, ct).ConfigureAwait(false);
            await SendAsync(ctx, wire.StreamDelta(plan, plan.Chunks[i]), ct).ConfigureAwait(false);
        }
        // A cut or error scripted past the last chunk still happens, before the closing events.
        if (behaviour.CutAfterChunks > plan.Chunks.Count)
        {
            await CutAsync(ctx, exchange, ct).ConfigureAwait(false);
            return;
        }
        if (behaviour.StreamErrorAfterChunks > plan.Chunks.Count)
        {
            await SendAsync(ctx, wire.StreamError(behaviour.ErrorType ?? "api_error", behaviour.ErrorMessage ?? "error"), ct)
                .ConfigureAwait(false);
            return;
        }
        foreach (var e in wire.StreamTail(plan)) await SendAsync(ctx, e, ct).ConfigureAwait(false);
        if (behaviour.DelayBeforeEnd != TimeSpan.Zero) await Task.Delay(behaviour.DelayBeforeEnd, ct).ConfigureAwait(false);
    }

    private static async Task SendAsync(HttpContext ctx, string sseEvent, CancellationToken ct)
    {
        await ctx.Response.WriteAsync(sseEvent, ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}

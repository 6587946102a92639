namespace Router.Testing;

/// <summary>What the response to one request looks like.</summary>
public enum BehaviourKind
{
    /// <summary>A normal answer (JSON or SSE, as the request asked).</summary>
    Answer,
    /// <summary>A non-2xx status with a provider-shaped error body (or a raw one).</summary>
    Status,
    /// <summary>200 with a body no client can parse.</summary>
    Garbage,
}

/// <summary>
/// How <see cref="FakeUpstream"/> answers one request. Immutable, so one instance can be queued many
/// times or used as a default; the factories cover the ways real providers misbehave that dispatch must survive.
/// </summary>
public sealed record Behaviour
{
    public BehaviourKind Kind { get; init; } = BehaviourKind.Answer;

    /// <summary>Waited before the status line is sent (the client sees no headers meanwhile).</summary>
    public TimeSpan DelayBeforeResponse { get; init; }

    /// <summary>Waited between streamed content chunks (not before the first, so a client always gets a first delta at once).</summary>
    public TimeSpan DelayPerChunk { get; init; }

    /// <summary>Waited after the last byte of a complete answer before the response is ended (a relay that is slow to close).</summary>
    public TimeSpan DelayBeforeEnd { get; init; }

    /// <summary>When set, the connection is aborted after this many content chunks (mid-body for non-stream answers).</summary>
    public int? CutAfterChunks { get; init; }

    /// <summary>When set, a provider-shaped error event is streamed after this many content chunks and the stream ends.</summary>
    public int? StreamErrorAfterChunks { get; init; }

    public int StatusCode { get; init; } = 200;

    /// <summary>Extra response headers (e.g. <c>Retry-After</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>A raw body sent as is, instead of the provider-shaped error body.</summary>
    public string? RawBody { get; init; }

    /// <summary>Error type for provider-shaped errors (OpenAI <c>error.type</c>, Anthropic <c>error.type</c>).</summary>
    public string? ErrorType { get; init; }

    /// <summary>OpenAI <c>error.code</c>.</summary>
    public string? ErrorCode { get; init; }

    public string? ErrorMessage { get; init; }

    /// <summary>The answer text; null means the deterministic echo of the last user message.</summary>
    public string? Text { get; init; }

    public int? PromptTokens { get; init; }
    public int? CompletionTokens { get; init; }

    /// <summary>When set, each request is answered by what this returns (called once per request) instead.</summary>
    public Func<Behaviour>? Pick { get; init; }

    /// <summary>A 200 JSON body sent exactly as written (a recorded provider answer: tool calls, images, usage details…).</summary>
    public string? RawAnswer { get; init; }

    /// <summary>SSE events sent exactly as written, one flush each (a recorded provider stream), then the body ends.</summary>
    public IReadOnlyList<string>? RawEvents { get; init; }

    /// <summary>Answers with <paramref name="json"/> as it is (status 200, application/json).</summary>
    public static Behaviour RawJson(string json) => new() { RawAnswer = json };

    /// <summary>
    /// Streams these events as they are; each is a whole SSE event, e.g. <c>"event: message_stop\ndata: {…}\n\n"</c> or
    /// <c>"data: [DONE]\n\n"</c>. A missing blank-line terminator is added.
    /// </summary>
    public static Behaviour RawStream(params string[] events) =>
        new() { RawEvents = [.. events.Select(e => e.EndsWith("\n\n", StringComparison.Ordinal) ? e : e.TrimEnd('\n') + "\n\n")] };

    /// <summary>Echoes <c>"echo: &lt;last user message&gt;"</c>, word by word when streaming. The default.</summary>
    public static Behaviour Echo { get; } = new();

    /// <summary>A normal answer with the given text; usage is estimated unless given.</summary>
    public static Behaviour Answer(string text, int? promptTokens = null, int? completionTokens = null) =>
        new() { Text = text, PromptTokens = promptTokens, CompletionTokens = completionTokens };

    /// <summary>A status with a default provider-shaped error body, e.g. <c>Status(429, ("Retry-After", "30"))</c>.</summary>
    public static Behaviour Status(int statusCode, params (string Name, string Value)[] headers) =>
        new() { Kind = BehaviourKind.Status, StatusCode = statusCode, Headers = ToPairs(headers) };

    /// <summary>A status with a raw body the test wrote itself (already in the provider's shape).</summary>
    public static Behaviour Error(int statusCode, string providerShapedBody, params (string Name, string Value)[] headers) =>
        new() { Kind = BehaviourKind.Status, StatusCode = statusCode, RawBody = providerShapedBody, Headers = ToPairs(headers) };

    /// <summary>
    /// A status whose body is shaped for whichever API was called: OpenAI
    /// <c>{"error":{"message","type","param","code"}}</c> or Anthropic <c>{"type":"error","error":{"type","message"}}</c>.
    /// </summary>
    public static Behaviour ProviderError(int statusCode, string type, string message, string? code = null,
        params (string Name, string Value)[] headers) =>
        new()
        {
            Kind = BehaviourKind.Status, StatusCode = statusCode, ErrorType = type, ErrorMessage = message,
            ErrorCode = code, Headers = ToPairs(headers),
        };

    /// <summary>The 400 each provider really sends when the prompt does not fit the context window.</summary>
    public static Behaviour ContextLengthExceeded() =>
        new() { Kind = BehaviourKind.Status, StatusCode = 400, ErrorCode = "context_length_exceeded" };

    /// <summary>200 with a body that is neither JSON nor SSE.</summary>
    public static Behaviour Garbage() => new() { Kind = BehaviourKind.Garbage };

    /// <summary>Waits before answering; <paramref name="then"/> (default: echo) is what follows.</summary>
    public static Behaviour Delay(TimeSpan delay, Behaviour? then = null) =>
        (then ?? Echo) with { DelayBeforeResponse = delay };

    /// <summary>Never answers; the request ends only when the client gives up.</summary>
    public static Behaviour Hang() => Delay(Timeout.InfiniteTimeSpan);

    /// <summary>Sends <paramref name="chunks"/> content chunks, then aborts the connection.</summary>
    public static Behaviour CutStreamAfter(int chunks) => new() { CutAfterChunks = chunks };

    /// <summary>Waits <paramref name="perChunk"/> between content chunks; a long wait keeps a stream open after its first delta.</summary>
    public static Behaviour SlowStream(TimeSpan perChunk) => new() { DelayPerChunk = perChunk };

    /// <summary>
    /// Streams <paramref name="chunks"/> content chunks, then an in-band error (Anthropic <c>event: error</c>,
    /// OpenAI <c>data: {"error":…}</c>) and ends the stream cleanly.
    /// </summary>
    public static Behaviour StreamErrorAfter(int chunks, string type = "overloaded_error", string message = "Overloaded") =>
        new() { StreamErrorAfterChunks = chunks, ErrorType = type, ErrorMessage = message };

    /// <summary>
    /// A fresh choice per request: each of <paramref name="choices"/> with its probability, <paramref name="otherwise"/>
    /// (default: echo) with what is left. Seeded, so a load run injects the same fault sequence each time; e.g.
    /// <c>Random(7, null, (0.1, Status(429)), (0.1, Status(500)))</c> fails 20% of requests.
    /// </summary>
    public static Behaviour Random(int seed, Behaviour? otherwise, params (double Probability, Behaviour Behaviour)[] choices)
    {
        if (choices.Any(c => c.Probability < 0) || choices.Sum(c => c.Probability) > 1 + 1e-9)
            throw new ArgumentOutOfRangeException(nameof(choices), "Probabilities must be non-negative and add up to at most 1.");
        var random = new System.Random(seed);
        var gate = new Lock();
        var fallback = otherwise ?? Echo;
        return new Behaviour
        {
            Pick = () =>
            {
                double roll;
                lock (gate) roll = random.NextDouble();
                foreach (var (probability, behaviour) in choices)
                {
                    if (roll < probability) return behaviour;
                    roll -= probability;
                }
                return fallback;
            },
        };
    }

    public Behaviour WithDelay(TimeSpan delay) => this with { DelayBeforeResponse = delay };

    public Behaviour WithHeaders(params (string Name, string Value)[] headers) =>
        this with { Headers = [.. Headers, .. ToPairs(headers)] };

    private static KeyValuePair<string, string>[] ToPairs((string Name, string Value)[] headers) =>
        [.. headers.Select(h => KeyValuePair.Create(h.Name, h.Value))];
}

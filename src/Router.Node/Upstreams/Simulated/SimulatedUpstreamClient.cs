using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Node.Upstreams.Simulated;

/// <summary>How the in-process provider behaves; mirrors the <c>simulated</c> provider's configuration fields.</summary>
public sealed record SimulatedUpstreamOptions
{
    /// <summary>Time to the first token.</summary>
    public TimeSpan Latency { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Pace of generation after the first token; zero or less means no delay between tokens.</summary>
    public double TokensPerSecond { get; init; } = 200;

    /// <summary>Tokens in each answer (fewer when the request's max_tokens is lower).</summary>
    public int CompletionTokens { get; init; } = 24;

    /// <summary>Share of calls (0..1) that fail with a 500, after the latency.</summary>
    public double FailureRate { get; init; }

    /// <summary>Seed for the failure draws, so a demo or test run repeats itself.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// An upstream that answers in-process, for demo mode, load tests and tests of everything above the wire:
/// realistic timing (latency, token pace) and failures without a network or a provider bill. The answer is
/// a fixed phrase followed by words of the prompt, so the same prompt always gets the same text. Given tools (and a
/// last message that is not already a tool result) it calls the chosen tool with arguments that satisfy the required
/// fields of its schema; given a JSON response format it answers with a JSON value of that schema's shape; it embeds
/// deterministically (the same input always gets the same unit vector).
/// </summary>
public sealed class SimulatedUpstreamClient : IUpstreamClient
{
    private static readonly string[] Phrase = ["This", " is", " a", " simulated", " answer", " about"];

    private readonly SimulatedUpstreamOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private long _sequence;

    /// <param name="random">Failure draws; defaults to one seeded with <see cref="SimulatedUpstreamOptions.Seed"/>.</param>
    public SimulatedUpstreamClient(SimulatedUpstreamOptions options, TimeProvider timeProvider, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfNegative(options.CompletionTokens);
        if (options.FailureRate is < 0 or > 1 || double.IsNaN(options.FailureRate))
            throw new ArgumentOutOfRangeException(nameof(options), options.FailureRate, "FailureRate must be within 0..1.");
        _options = options;
        _time = timeProvider;
        _random = random ?? new Random(options.Seed);
    }

    public bool PassesThrough(ChatRequest request) => false;

    public bool SupportsEmbeddings => true;

    /// <summary>Dimensions of an embedding when the request does not ask for a number.</summary>
    public const int DefaultDimensions = 16;

    /// <summary>
    /// The simulated provider honours the canonical model and nothing more: a field only an upstream of the client's own
    /// wire could take is refused here as by any other wire, so a demo behaves like production.
    /// </summary>
    public RouterException? Refuses(ChatRequest request) => request.UnmappedFields.Count == 0 ? null
        : new RouterException(RouterErrorCode.InvalidRequest,
            $"'{request.UnmappedFields[0]}' is not supported when model '{request.Model}' is served by a simulated deployment.",
            request.UnmappedFields[0]);

    public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var answer = Prepare(call.Request);
        var fails = DrawFailure();
        // One wait for the whole answer (first token, then the rest at the configured pace) keeps timing exact under a fake clock.
        var generation = fails || answer.Tokens.Count <= 1 ? TimeSpan.Zero : PerToken * (answer.Tokens.Count - 1);
        await DelayAsync(_options.Latency + generation, cancellationToken).ConfigureAwait(false);
        if (fails) throw Failure(call);
        if (answer.Call is { } tool)
            return new ChatCompletion(NextId(), call.UpstreamModel, [new ChatChoice(0, [], [tool], FinishReason.ToolCalls)], answer.Usage);
        return new ChatCompletion(NextId(), call.UpstreamModel, string.Concat(answer.Tokens), answer.Finish, answer.Usage);
    }

    public async Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var fails = DrawFailure();
        await DelayAsync(_options.Latency, cancellationToken).ConfigureAwait(false);
        if (fails) throw new UpstreamException(UpstreamFailureKind.ServerError, $"{call.DeploymentId}: simulated upstream failure (500)", 500);
        var dimensions = call.Request.Dimensions ?? DefaultDimensions;
        var vectors = new float[call.Request.Inputs.Count][];
        var tokens = call.Request.TokenArrayTokens;
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = Embed(call.Request.Inputs[i], dimensions);
            tokens += (call.Request.Inputs[i].Length + 3) / 4;
        }
        return new EmbeddingResult(call.UpstreamModel, tokens) { Vectors = vectors };
    }

    /// <summary>A unit vector derived from the text's SHA-256 chain: equal texts embed equally, different ones almost never.</summary>
    public static float[] Embed(string text, int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimensions);
        var vector = new float[dimensions];
        Span<byte> block = stackalloc byte[32];
        var seed = Encoding.UTF8.GetBytes(text);
        double norm = 0;
        for (var i = 0; i < dimensions; i++)
        {
            if (i % 16 == 0)
            {
                var counter = BitConverter.GetBytes(i / 16);
                SHA256.HashData([.. seed, .. counter], block);
            }
            var v = (BitConverter.ToUInt16(block.Slice(i % 16 * 2, 2)) / 32767.5) - 1.0;
            vector[i] = (float)v;
            norm += v * v;
        }
        var scale = norm > 0 ? 1 / Math.Sqrt(norm) : 1;
        for (var i = 0; i < dimensions; i++) vector[i] = (float)(vector[i] * scale);
        return vector;
    }

    public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(
        UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var answer = Prepare(call.Request);
        var fails = DrawFailure();
        await DelayAsync(_options.Latency, cancellationToken).ConfigureAwait(false);
        if (fails) throw Failure(call);
        if (answer.Call is { } tool)
        {
            yield return new ToolCallStarted(0, tool.Id, tool.Name);
            yield return new ToolCallDelta(0, tool.ArgumentsJson);
            yield return new StreamFinished(FinishReason.ToolCalls, answer.Usage);
            yield break;
        }
        for (var i = 0; i < answer.Tokens.Count; i++)
        {
            if (i > 0) await DelayAsync(PerToken, cancellationToken).ConfigureAwait(false);
            yield return new ContentDelta(answer.Tokens[i]);
        }
        yield return new StreamFinished(answer.Finish, answer.Usage);
    }

    /// <summary>The prompt-token estimate the simulated provider reports: ceil(chars / 4) + 4 per message.</summary>
    public static int EstimatePromptTokens(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var tokens = 0;
        foreach (var m in messages)
        {
            tokens += (m.Text.Length + 3) / 4 + 4;
            foreach (var c in m.ToolCalls) tokens += (c.Name.Length + c.ArgumentsJson.Length + 3) / 4;
        }
        return tokens;
    }

    private TimeSpan PerToken => _options.TokensPerSecond > 0 ? TimeSpan.FromSeconds(1 / _options.TokensPerSecond) : TimeSpan.Zero;

    private sealed record Answer(IReadOnlyList<string> Tokens, FinishReason Finish, TokenUsage Usage, ToolCall? Call = null);

    private Answer Prepare(ChatRequest request)
    {
        var prompt = EstimatePromptTokens(request.Messages);
        // A tool loop: call a tool first; once its result is the last message, answer in text.
        if (request.Tools.Count > 0 && request.ToolChoice?.Mode != ToolChoiceMode.None
            && (request.Messages.Count == 0 || request.Messages[^1].Role != ChatRole.Tool))
        {
            var tool = request.ToolChoice is { Mode: ToolChoiceMode.Named, Name: { } named }
                ? request.Tools.FirstOrDefault(t => t.Name == named) ?? request.Tools[0]
                : request.Tools[0];
            var arguments = SchemaSample.Json(tool.ParametersJson);
            var call = new ToolCall($"call_sim_{Interlocked.Increment(ref _sequence)}", tool.Name, arguments);
            return new Answer([], FinishReason.ToolCalls, new TokenUsage(prompt, (arguments.Length + 3) / 4 + 1), call);
        }
        if (request.ResponseFormat is { Kind: ResponseFormatKind.JsonSchema or ResponseFormatKind.JsonObject } format)
        {
            var json = format.SchemaJson is { } schema ? SchemaSample.Json(schema) : "{\"answer\":\"simulated\"}";
            return new Answer([json], FinishReason.Stop, new TokenUsage(prompt, (json.Length + 3) / 4));
        }

        var count = _options.CompletionTokens;
        var finish = FinishReason.Stop;
        if (request.MaxTokens is { } max && max < count)
        {
            count = Math.Max(0, max);
            finish = FinishReason.Length;
        }

        var lastUser = request.Messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var words = lastUser.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var tokens = new string[count];
        for (var i = 0; i < count; i++)
        {
            tokens[i] = i < Phrase.Length ? Phrase[i]
                : words.Length > 0 ? " " + words[(i - Phrase.Length) % words.Length]
                : Phrase[i % Phrase.Length];
        }
        return new Answer(tokens, finish, new TokenUsage(prompt, count));
    }

    // Drawn when the call starts, so the sequence of outcomes depends only on the seed and the call order.
    private bool DrawFailure()
    {
        if (_options.FailureRate <= 0) return false;
        lock (_random) return _random.NextDouble() < _options.FailureRate;
    }

    private static UpstreamException Failure(UpstreamCall call) =>
        new(UpstreamFailureKind.ServerError, $"{call.DeploymentId}: simulated upstream failure (500)", 500);

    private string NextId() => $"sim-{Interlocked.Increment(ref _sequence)}";

    private Task DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        if (delay > TimeSpan.Zero) return Task.Delay(delay, _time, ct);
        return ct.IsCancellationRequested ? Task.FromCanceled(ct) : Task.CompletedTask;
    }
}

using System.Diagnostics;
using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Telemetry;
using Router.Actors.Usage;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Observability;

namespace Router.Node.Pipeline;

/// <summary>What an ingress writes back: where it was served and either the whole answer or a committed stream.</summary>
public sealed class ChatExecution
{
    public required AdmissionTicket Ticket { get; init; }
    public required ServedBy ServedBy { get; init; }
    public required RoutePlan Plan { get; init; }
    /// <summary>Router's own count of the prompt (Anthropic's message_start announces it before the upstream does).</summary>
    public int PromptTokens { get; init; }
    public ChatCompletion? Completion { get; init; }
    /// <summary>The upstream's own id for the answer, if it gave one.</summary>
    public string? UpstreamId { get; init; }

    /// <summary>
    /// The id the client sees: the provider's own when it has this protocol's prefix (clients and provider support
    /// correlate on it), else Router's request id with the prefix. Router's id is always in <c>x-router-request-id</c>.
    /// </summary>
    public string ResponseId(string prefix) =>
        UpstreamId is { } id && id.StartsWith(prefix, StringComparison.Ordinal) ? id : prefix + Ticket.RequestId;
    /// <summary>The events of a streamed answer. Failures after the first event surface as <see cref="RouterException"/>.</summary>
    public IAsyncEnumerable<ChatStreamEvent>? Stream { get; init; }

    /// <summary>
    /// The upstream spoke the client's own wire: relay <see cref="ChatCompletion.Raw"/> / the <see cref="RawStreamEvent"/>s
    /// (with only <c>model</c> rewritten) and ignore the canonical events, which are there for metering.
    /// </summary>
    public bool Passthrough => ServedBy.Passthrough;
}

/// <summary>Finished embeddings and where they were served.</summary>
public sealed class EmbeddingExecution
{
    public required AdmissionTicket Ticket { get; init; }
    public required ServedBy ServedBy { get; init; }
    public required RoutePlan Plan { get; init; }
    public required EmbeddingResult Embeddings { get; init; }
}

/// <summary>
/// The protocol-neutral request path every ingress shares: authenticate and admit, plan the route, dispatch,
/// then reconcile limits and record usage when the answer ends (also when the client goes away).
/// </summary>
public sealed class ChatPipeline(
    RoutePlanner planner,
    IAdmission admission,
    Dispatcher dispatcher,
    TokenCounter tokens,
    IUsageRecorder usage,
    TimeProvider clock,
    int defaultMaxTokens,
    RouterMetrics? metrics = null,
    RequestTelemetry? telemetry = null)
{
    // Per-key series only: admission does not return the key's name, so it is looked up once per key and kept.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _keyNames = new(StringComparer.Ordinal);

    public RoutePlanner Planner => planner;

    public Task<ChatExecution> ExecuteAsync(string? presentedKey, ChatRequest request, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(presentedKey) ? Task.FromException<ChatExecution>(NoKey()) : ExecuteAsync(KeyHash.Of(presentedKey), request, cancellationToken);

    /// <summary>Runs a request against a key known by its hash: a batch item, on its owner's behalf, through the same path.</summary>
    public async Task<ChatExecution> ExecuteAsync(KeyHash key, ChatRequest request, CancellationToken cancellationToken)
    {
        // 1. Plan locally first (pure), but let a bad key win over an unknown model.
        // Counted once per request with the tokenizer of the model's first deployment; reused below.
        var promptTokens = tokens.CountPromptTokens(request, TokenizerModel(request.Model));
        RoutePlan plan;
        try
        {
            var tier = string.Equals(request.Model, RoutePlanner.AutoModel, StringComparison.OrdinalIgnoreCase)
                ? ComplexityClassifier.Classify(request, promptTokens)
                : ComplexityTier.Standard;
            plan = planner.Plan(request.Model, promptTokens, tier);
            RequestTelemetry.Planned(TelemetryNames.Chat, plan);
            if (plan.Model.Kind == ModelKinds.Embeddings)
                throw new RouterException(RouterErrorCode.InvalidRequest,
                    $"Model '{request.Model}' is an embeddings model; send it to /v1/embeddings.", "model");
        }
        catch (RouterException)
        {
            await admission.AuthenticateAsync(key, cancellationToken).ConfigureAwait(false);
            throw;
        }

        // 2. One hop to the key's owner: limits, budget, allow-list.
        var estimated = TokenCounter.EstimateAdmissionTokens(promptTokens, request.MaxTokens, defaultMaxTokens);
        var ticket = await admission.AdmitAsync(key, request.Model, plan.Model, estimated, cancellationToken).ConfigureAwait(false);
        var started = clock.GetTimestamp();
        var keyName = await ObserveAsync(key, plan, ticket, request.Stream, cancellationToken).ConfigureAwait(false);

        // 3. Dispatch; a failure before the answer starts releases the admission.
        try
        {
            if (!request.Stream)
            {
                var done = await Upstream(Stopwatch.GetTimestamp(), dispatcher.CompleteAsync(request, plan, estimated, cancellationToken)).ConfigureAwait(false);
                Finish(ticket, plan, TelemetryNames.Chat, request.Stream, done.ServedBy, done.Completion.Usage, started, UsageOutcome.Success, keyName, done.Completion.FinishReason);
                return new ChatExecution { Ticket = ticket, ServedBy = done.ServedBy, Plan = plan, PromptTokens = promptTokens, Completion = done.Completion, UpstreamId = done.Completion.Id };
            }
            var stream = await Upstream(Stopwatch.GetTimestamp(), dispatcher.StreamAsync(request, plan, estimated, cancellationToken)).ConfigureAwait(false);
            return new ChatExecution
            {
                Ticket = ticket, ServedBy = stream.ServedBy, Plan = plan, PromptTokens = promptTokens, UpstreamId = stream.UpstreamId,
                Stream = Relay(stream, ticket, request, plan, promptTokens, started, keyName, cancellationToken),
            };
        }
        catch (RouterException ex)
        {
            admission.Abort(ticket);
            Record(UsageEntry.Failed(ticket, request.Model, request.Stream, plan, clock.GetElapsedTime(started), Outcome(ex.Code), ex.Attempts));
            throw;
        }
        catch (OperationCanceledException)
        {
            admission.Abort(ticket);
            Record(UsageEntry.Failed(ticket, request.Model, request.Stream, plan, clock.GetElapsedTime(started), UsageOutcome.Cancelled));
            throw;
        }
    }

    /// <summary>
    /// Anthropic's <c>count_tokens</c>: the key must be valid and may use the model; the count is Router's own
    /// tokenizer's (the one admission charges), with no upstream call and nothing charged.
    /// </summary>
    public async Task<int> CountTokensAsync(string? presentedKey, ChatRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(presentedKey)) throw NoKey();
        var allowed = await admission.ModelFilterAsync(presentedKey, cancellationToken).ConfigureAwait(false);
        var plan = planner.Plan(request.Model, 0, ComplexityTier.Standard);
        if (!allowed(plan.Model))
            throw new RouterException(RouterErrorCode.PermissionDenied, $"This key may not use model '{request.Model}'.", "model");
        return tokens.CountPromptTokens(request, TokenizerModel(request.Model));
    }

    /// <summary>Embeddings: the same admission, routing, failover, limits and ledger as chat.</summary>
    public Task<EmbeddingExecution> EmbedAsync(string? presentedKey, EmbeddingRequest request, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(presentedKey) ? Task.FromException<EmbeddingExecution>(NoKey()) : EmbedAsync(KeyHash.Of(presentedKey), request, cancellationToken);

    /// <summary>Embeddings against a key known by its hash (a batch item's owner).</summary>
    public async Task<EmbeddingExecution> EmbedAsync(KeyHash key, EmbeddingRequest request, CancellationToken cancellationToken)
    {
        RoutePlan plan;
        try
        {
            plan = planner.Plan(request.Model, 0, ComplexityTier.Standard);
            RequestTelemetry.Planned(TelemetryNames.Embeddings, plan);
            if (plan.Model.Kind != ModelKinds.Embeddings)
                throw new RouterException(RouterErrorCode.InvalidRequest,
                    $"Model '{request.Model}' is a chat model and serves no embeddings; use a model of kind 'embeddings'.", "model");
        }
        catch (RouterException)
        {
            await admission.AuthenticateAsync(key, cancellationToken).ConfigureAwait(false);
            throw;
        }
        // Each input must fit the model, as OpenAI checks (8,192 tokens for its embedding models: set ContextWindow).
        var tokenizer = TokenizerModel(request.Model);
        var inputTokens = request.TokenArrayTokens;
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var n = tokens.CountText(request.Inputs[i], tokenizer);
            inputTokens += n;
            if (n <= plan.Model.ContextWindow) continue;
            var path = request.Inputs.Count == 1 && request.TokenArrayTokens == 0 ? "input" : $"input[{i}]";
            throw new RouterException(RouterErrorCode.InvalidRequest,
                $"Invalid '{path}': it is {n} tokens long; model '{request.Model}' accepts at most {plan.Model.ContextWindow}.", path);
        }
        var ticket = await admission.AdmitAsync(key, request.Model, plan.Model, inputTokens, cancellationToken).ConfigureAwait(false);
        var started = clock.GetTimestamp();
        var keyName = await ObserveAsync(key, plan, ticket, stream: false, cancellationToken).ConfigureAwait(false);
        try
        {
            var done = await Upstream(Stopwatch.GetTimestamp(), dispatcher.EmbedAsync(request, plan, inputTokens, cancellationToken)).ConfigureAwait(false);
            var used = new TokenUsage(done.Embeddings.PromptTokens > 0 ? done.Embeddings.PromptTokens : inputTokens, 0);
            Finish(ticket, plan, TelemetryNames.Embeddings, stream: false, done.ServedBy, used, started, UsageOutcome.Success, keyName);
            return new EmbeddingExecution { Ticket = ticket, ServedBy = done.ServedBy, Plan = plan, Embeddings = done.Embeddings };
        }
        catch (RouterException ex)
        {
            admission.Abort(ticket);
            Record(UsageEntry.Failed(ticket, request.Model, false, plan, clock.GetElapsedTime(started), Outcome(ex.Code), ex.Attempts));
            throw;
        }
        catch (OperationCanceledException)
        {
            admission.Abort(ticket);
            Record(UsageEntry.Failed(ticket, request.Model, false, plan, clock.GetElapsedTime(started), UsageOutcome.Cancelled));
            throw;
        }
    }

    private static RouterException NoKey() => new(RouterErrorCode.Unauthorized, "You didn't provide an API key.");

    private string TokenizerModel(string requested) =>
        planner.TryResolve(requested, out var named) && named.Deployments.Count > 0 ? named.Deployments[0].UpstreamModel : requested;

    /// <summary>Relays a committed stream and settles the books whichever way it ends.</summary>
    private async IAsyncEnumerable<ChatStreamEvent> Relay(
        DispatchedStream stream, AdmissionTicket ticket, ChatRequest request, RoutePlan plan, int promptTokens, long started, string? keyName,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TokenUsage? final = null;
        var outputChars = 0;
        var outcome = UsageOutcome.Cancelled;
        FinishReason? reason = null;
        try
        {
            await using var e = stream.ReadAllAsync().GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                ChatStreamEvent current;
                try
                {
                    if (!await e.MoveNextAsync().ConfigureAwait(false)) break;
                    current = e.Current;
                }
                catch (Router.Actors.Upstreams.UpstreamException ex)
                {
                    outcome = ex.Kind == Router.Actors.Upstreams.UpstreamFailureKind.Timeout ? UsageOutcome.Timeout : UsageOutcome.UpstreamError;
                    throw new RouterException(ex.Kind == Router.Actors.Upstreams.UpstreamFailureKind.Timeout
                        ? RouterErrorCode.UpstreamTimeout : RouterErrorCode.UpstreamError,
                        "The upstream stream failed after it started: " + ex.Message);
                }
                outputChars += current switch
                {
                    ContentDelta d => d.Text.Length,
                    ToolCallDelta t => t.ArgumentsFragment.Length,
                    ReasoningDelta r => r.Text?.Length ?? 0,
                    _ => 0,
                };
                if (current is StreamFinished f)
                {
                    final = f.Usage;
                    reason = f.Reason;
                    outcome = UsageOutcome.Success;
                }
                yield return current;
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            // An upstream that sent no usage (or a stream cut short) is charged by estimate: ~4 characters a token.
            var used = final ?? new TokenUsage(promptTokens, (outputChars + 3) / 4);
            Finish(ticket, plan, TelemetryNames.Chat, request.Stream, stream.ServedBy, used, started, outcome, keyName, reason);
        }
    }

    private void Finish(
        AdmissionTicket ticket, RoutePlan plan, string operation, bool stream, ServedBy served, TokenUsage used, long started, UsageOutcome outcome,
        string? keyName, FinishReason? reason = null)
    {
        var cost = Router.Actors.Usage.Pricing.Cost(used, served.Deployment);
        admission.Complete(ticket, used, cost);
        Record(new UsageEntry(ticket, plan.RequestedModel, stream, served, used, cost, clock.GetElapsedTime(started), outcome), reason);
        if (metrics is null) return;
        metrics.Answered(operation, plan.Model.Id, served.Deployment, used, cost, keyName);
        if (served.Attempts > 1) metrics.FellBack(plan.Model.Id, served.Deployment);
    }

    /// <summary>
    /// Tells the request's clock (when an ingress started one) what it serves, catalog names only; returns the key's
    /// configured name when per-key series are on (else null).
    /// </summary>
    private async ValueTask<string?> ObserveAsync(KeyHash key, RoutePlan plan, AdmissionTicket ticket, bool stream, CancellationToken cancellationToken)
    {
        string? keyName = null;
        if (metrics is { PerKey: true })
        {
            if (!_keyNames.TryGetValue(ticket.Caller.KeyId, out keyName))
            {
                try
                {
                    keyName = ticket.Caller.KeyName is { Length: > 0 } n ? n : (await admission.AuthenticateAsync(key, cancellationToken).ConfigureAwait(false)).KeyName;
                    _keyNames[ticket.Caller.KeyId] = keyName;
                }
                catch (Exception ex) when (ex is RouterException or OperationCanceledException)
                {
                    // A label is not worth failing the admitted request over (its ticket is settled by the caller's path).
                    keyName = null;
                }
            }
        }
        if (RequestTiming.Current is { } timing)
        {
            timing.Model = plan.Model.Id;
            timing.Streamed = stream;
            timing.KeyName = keyName;
        }
        return keyName;
    }

    /// <summary>Awaits a dispatch, adding the time it took to the request's upstream wait (what overhead leaves out).</summary>
    private static async Task<T> Upstream<T>(long from, Task<T> dispatch)
    {
        try
        {
            return await dispatch.ConfigureAwait(false);
        }
        finally
        {
            RequestTiming.Current?.AddUpstreamWait(Stopwatch.GetElapsedTime(from));
        }
    }

    /// <summary>To the ledger, the request's span and its log line.</summary>
    private void Record(UsageEntry entry, FinishReason? reason = null)
    {
        usage.Record(entry);
        telemetry?.Finished(entry, reason);
    }

    private static UsageOutcome Outcome(RouterErrorCode code) => code switch
    {
        RouterErrorCode.UpstreamTimeout => UsageOutcome.Timeout,
        RouterErrorCode.Overloaded => UsageOutcome.Overloaded,
        RouterErrorCode.InvalidRequest or RouterErrorCode.ContextLengthExceeded => UsageOutcome.Rejected,
        _ => UsageOutcome.UpstreamError,
    };
}

/// <summary>One finished request, on its way to the ledger.</summary>
public sealed record UsageEntry(
    AdmissionTicket Ticket, string RequestedModel, bool Stream, ServedBy? ServedBy, TokenUsage Usage, decimal CostUsd,
    TimeSpan Latency, UsageOutcome Outcome, int FailedAttempts = 0)
{
    public int Attempts => ServedBy?.Attempts ?? FailedAttempts;

    public static UsageEntry Failed(AdmissionTicket t, string requestedModel, bool stream, RoutePlan p, TimeSpan latency, UsageOutcome outcome, int attempts = 0) =>
        new(t, requestedModel, stream, null, default, 0m, latency, outcome, attempts);
}

/// <summary>Where finished requests go; the ledger writer in production.</summary>
public interface IUsageRecorder
{
    void Record(UsageEntry entry);
}

using System.Diagnostics;
using Router.Actors.Breakers;
using Router.Actors.Routing;
using Router.Actors.Telemetry;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Actors.Dispatch;

/// <summary>Dispatch tuning: the retry policy plus how long one attempt may wait for its answer (or first event).</summary>
public sealed record DispatchSettings(RetrySettings Retry, TimeSpan AttemptTimeout);

/// <summary>
/// The per-request attempt loop. Candidates come from the route plan; a candidate whose breaker is open (read
/// from the node's local <see cref="BreakerView"/>, never asked) is skipped; each attempt leases a provider key
/// from the provider's <see cref="ProviderKeyPool"/>; after a failure <see cref="RetryPolicy"/> decides between
/// another key, the next deployment, a larger context window, the same deployment after backoff, or giving up.
/// A stream is committed once its first event is read; before that any failure may still fall back.
/// </summary>
public sealed class Dispatcher(
    IReadOnlyDictionary<string, ProviderRuntime> providers,
    BreakerView breakers,
    DispatchSettings settings,
    IDispatchObserver observer,
    TimeProvider clock,
    DeploymentLimiter? limiter = null,
    Func<double>? jitter = null)
{
    private readonly DeploymentLimiter _limiter = limiter ?? new DeploymentLimiter();
    private readonly RetryPolicy _policy = new(settings.Retry);
    private readonly DispatchSettings _settings = settings;
    private readonly IDispatchObserver _observer = observer;
    private readonly Func<double> _jitter = jitter ?? Random.Shared.NextDouble;

    private long Now => clock.GetElapsedTime(0).Ticks;

    public Task<DispatchedCompletion> CompleteAsync(ChatRequest request, RoutePlan plan, int estimatedTokens, CancellationToken cancellationToken) =>
        RunAsync(TelemetryNames.Chat, plan, estimatedTokens, c => c.Refuses(request), async (attempt, ct) =>
        {
            var completion = await attempt.Provider.Client.CompleteAsync(attempt.ChatCall(request), ct).ConfigureAwait(false);
            attempt.Succeeded(completion.Usage);
            return new DispatchedCompletion(completion, attempt.ServedBy);
        }, cancellationToken);

    public Task<DispatchedEmbeddings> EmbedAsync(EmbeddingRequest request, RoutePlan plan, int estimatedTokens, CancellationToken cancellationToken) =>
        RunAsync(TelemetryNames.Embeddings, plan, estimatedTokens, c => c.SupportsEmbeddings ? null : new RouterException(RouterErrorCode.InvalidRequest,
                $"Model '{plan.RequestedModel}' has no deployment that serves embeddings.", "model"),
            async (attempt, ct) =>
            {
                var call = new EmbeddingCall(request, attempt.Deployment.UpstreamModel, attempt.ApiKey, attempt.Deployment.Id);
                var result = await attempt.Provider.Client.EmbedAsync(call, ct).ConfigureAwait(false);
                attempt.Succeeded(new TokenUsage(result.PromptTokens, 0));
                return new DispatchedEmbeddings(result, attempt.ServedBy);
            }, cancellationToken);

    public Task<DispatchedStream> StreamAsync(ChatRequest request, RoutePlan plan, int estimatedTokens, CancellationToken cancellationToken) =>
        RunAsync(TelemetryNames.Chat, plan, estimatedTokens, c => c.Refuses(request), async (attempt, ct) =>
        {
            var events = attempt.Provider.Client.StreamAsync(attempt.ChatCall(request), ct).GetAsyncEnumerator(ct);
            string? upstreamId = null;
            var head = new List<ChatStreamEvent>(2);
            try
            {
                // The upstream's id and its preamble are not yet an answer: commit only on the first event that carries
                // part of it, so an upstream that fails after its preamble can still be retried elsewhere.
                while (true)
                {
                    if (!await events.MoveNextAsync().ConfigureAwait(false))
                        throw new UpstreamException(UpstreamFailureKind.Reset, head.Count == 0 && upstreamId is null
                            ? "The upstream closed the stream without sending anything."
                            : "The upstream closed the stream before its first token.");
                    var current = events.Current;
                    if (current is StreamStarted started)
                    {
                        upstreamId ??= started.Id;
                        continue;
                    }
                    head.Add(current);
                    if (current.Commits) break;
                }
            }
            catch
            {
                await events.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            // Committed: the attempt timeout bounded the time to first event; the rest may take longer.
            attempt.Commit();
            return new DispatchedStream(attempt.ServedBy, head, events, attempt.Succeeded, attempt.FailedAfterCommit, attempt.Abandoned, upstreamId);
        }, cancellationToken);

    private async Task<T> RunAsync<T>(
        string operation, RoutePlan plan, int estimatedTokens, Func<IUpstreamClient, RouterException?> refuses,
        Func<Attempt, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        var started = Now;
        var candidates = Carriers(plan.Candidates, refuses);
        var index = NextAvailable(candidates, -1, started, out var earliestHalfOpen);
        if (index < 0)
            throw new RouterException(RouterErrorCode.Overloaded,
                $"Every deployment of '{plan.RequestedModel}' is failing and its circuit breaker is open.",
                retryAfter: RetryAfterFrom(earliestHalfOpen, started));

        var triedKeys = new HashSet<string>(StringComparer.Ordinal);
        UpstreamException? last = null;
        var attempts = 0;
        // Each attempt's span is current while it runs (HttpClient's span nests under it); the next one is a sibling.
        var outer = Activity.Current;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var deployment = candidates[index];
            var provider = providers[deployment.Provider];

            // 0. A deployment at its concurrency cap is passed over, not blamed.
            if (!_limiter.TryEnter(deployment))
            {
                index = NextAvailable(candidates, index, Now, out _);
                if (index >= 0) continue;
                if (last is not null) throw GiveUp(last, attempts);
                throw new RouterException(RouterErrorCode.Overloaded,
                    $"Every deployment of '{plan.RequestedModel}' is at its concurrency limit on this node.", retryAfter: TimeSpan.FromSeconds(1));
            }

            // 1. A key for this deployment's provider (providers without keys, like simulated, need none).
            ProviderKeyLease? lease = null;
            UpstreamException? failure;
            if (provider.Keys.Count > 0)
            {
                lease = provider.Pool.TryAcquire(Now, estimatedTokens, triedKeys, out var retryAt);
                if (lease is null)
                {
                    _limiter.Exit(deployment);
                    // The pool already passed over every untried key: none is left to try now. Without this the
                    // policy would see "another key" forever and spin without an attempt until the deadline.
                    foreach (var key in provider.Keys) triedKeys.Add(key.Id);
                    failure = new UpstreamException(UpstreamFailureKind.RateLimited,
                        $"every key of provider '{provider.Name}' is cooling down or at its limit",
                        retryAfter: retryAt is { } at ? TimeSpan.FromTicks(Math.Max(0, at - Now)) : null);
                    goto decide;
                }
            }

            // 2. The attempt itself.
            attempts++;
            var attempt = new Attempt(this, operation, provider, deployment, lease, attempts, cancellationToken);
            try
            {
                return await run(attempt, attempt.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new UpstreamException(UpstreamFailureKind.Timeout,
                    $"'{deployment.Id}' did not answer within {_settings.AttemptTimeout.TotalSeconds:0.###} s");
                attempt.Failed(failure);
            }
            catch (UpstreamException ex)
            {
                failure = ex;
                attempt.Failed(ex);
            }
            catch
            {
                attempt.Abandoned();
                throw;
            }
            Activity.Current = outer;
            if (lease is not null) triedKeys.Add(lease.KeyId);

        decide:
            last = failure;
            var alternatives = new Alternatives(
                OtherKey: provider.Keys.Count > 0 && provider.Keys.Any(k => !triedKeys.Contains(k.Id)),
                NextDeployment: NextAvailable(candidates, index, Now, out _) >= 0,
                LargerContext: NextLarger(candidates, index) >= 0);
            var decision = _policy.Decide(failure.Kind, Math.Max(1, attempts), streamStarted: false,
                TimeSpan.FromTicks(Now - started), alternatives, failure.RetryAfter, _jitter);
            switch (decision.Action)
            {
                case RetryAction.RetrySameDeploymentOtherKey:
                    break;
                case RetryAction.RetrySameDeployment:
                    triedKeys.Clear();
                    if (decision.Delay > TimeSpan.Zero)
                    {
                        using var backoff = RouterActivity.Source.StartActivity(TelemetryNames.BackoffSpan);
                        backoff?.SetTag(TelemetryNames.BackoffMs, (long)decision.Delay.TotalMilliseconds);
                        await Task.Delay(decision.Delay, clock, cancellationToken).ConfigureAwait(false);
                    }
                    break;
                case RetryAction.NextDeployment:
                    index = NextAvailable(candidates, index, Now, out _);
                    // A breaker may have opened since the alternatives were counted.
                    if (index < 0) throw GiveUp(last, attempts);
                    triedKeys.Clear();
                    break;
                case RetryAction.FallbackLargerContext:
                    index = NextLarger(candidates, index);
                    triedKeys.Clear();
                    break;
                default:
                    throw GiveUp(last, attempts);
            }
        }
    }

    /// <summary>
    /// The candidates whose upstream can carry the request (a wire that cannot express one of its fields is skipped,
    /// so a fallback chain over several providers serves whatever each can). None can: the first refusal, a 400.
    /// </summary>
    private IReadOnlyList<Deployment> Carriers(IReadOnlyList<Deployment> candidates, Func<IUpstreamClient, RouterException?> refuses)
    {
        List<Deployment>? kept = null;
        RouterException? first = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            var refusal = refuses(providers[candidates[i].Provider].Client);
            if (refusal is null)
            {
                kept?.Add(candidates[i]);
                continue;
            }
            first ??= refusal;
            if (kept is null)
            {
                kept = new List<Deployment>(candidates.Count);
                for (var j = 0; j < i; j++) kept.Add(candidates[j]);
            }
        }
        if (kept is null) return candidates;
        if (kept.Count == 0) throw first!;
        return kept;
    }

    private int NextAvailable(IReadOnlyList<Deployment> candidates, int after, long now, out long? earliest)
    {
        earliest = null;
        for (var i = after + 1; i < candidates.Count; i++)
        {
            if (breakers.IsAvailable(candidates[i].Id, now, out var at)) return i;
            if (at is { } t && (earliest is null || t < earliest)) earliest = t;
        }
        return -1;
    }

    private static int NextLarger(IReadOnlyList<Deployment> candidates, int index)
    {
        for (var i = index + 1; i < candidates.Count; i++)
            if (candidates[i].ContextWindow > candidates[index].ContextWindow) return i;
        return -1;
    }

    private static TimeSpan RetryAfterFrom(long? atTicks, long now) =>
        atTicks is { } at && at > now ? TimeSpan.FromTicks(at - now) : TimeSpan.FromSeconds(1);

    /// <summary>The one error the client sees when no attempt succeeded, carrying the last upstream's reason.</summary>
    public static RouterException GiveUp(UpstreamException? last, int attempts)
    {
        var ex = GiveUpCore(last, attempts);
        return ex.Attempts == attempts ? ex : new RouterException(ex.Code, ex.Message, ex.Param, ex.RetryAfter) { Attempts = attempts };
    }

    private static RouterException GiveUpCore(UpstreamException? last, int attempts)
    {
        if (last is null)
            return new RouterException(RouterErrorCode.UpstreamError, "No deployment of this model is available.");
        var suffix = attempts > 1 ? $" (after {attempts} attempts)" : "";
        return last.Kind switch
        {
            UpstreamFailureKind.Timeout => new RouterException(RouterErrorCode.UpstreamTimeout, "Upstream timed out: " + last.Message + suffix),
            UpstreamFailureKind.BadRequest => new RouterException(RouterErrorCode.InvalidRequest, last.Message),
            UpstreamFailureKind.ContextLengthExceeded => new RouterException(RouterErrorCode.ContextLengthExceeded, last.Message, "messages"),
            UpstreamFailureKind.RateLimited => new RouterException(RouterErrorCode.Overloaded,
                "Every upstream key for this model is rate limited: " + last.Message + suffix,
                retryAfter: last.RetryAfter is { } ra && ra > TimeSpan.Zero ? ra : TimeSpan.FromSeconds(1)),
            _ => new RouterException(RouterErrorCode.UpstreamError, "Upstream failed: " + last.Message + suffix),
        };
    }

    /// <summary>One try against one deployment with one key: owns the attempt's timeout and the key lease.</summary>
    private sealed class Attempt
    {
        private readonly Dispatcher _owner;
        private readonly CancellationTokenSource _cts;
        private readonly long _started;
        private readonly Activity? _span;
        private int _settled;

        public Attempt(
            Dispatcher owner, string operation, ProviderRuntime provider, Deployment deployment, ProviderKeyLease? lease, int number,
            CancellationToken requestToken)
        {
            _owner = owner;
            _span = StartSpan(operation, provider, deployment, lease, number);
            Provider = provider;
            Deployment = deployment;
            Lease = lease;
            _started = owner.Now;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(requestToken);
            _cts.CancelAfter(owner._settings.AttemptTimeout);
            ApiKey = lease is null ? null : provider.SecretOf(lease.KeyId);
            ServedBy = new ServedBy(deployment, lease?.KeyId, number);
        }

        public ProviderRuntime Provider { get; }
        public Deployment Deployment { get; }
        public ProviderKeyLease? Lease { get; }
        /// <summary>The leased provider key's secret (null for providers without keys). Never logged.</summary>
        public string? ApiKey { get; }
        public ServedBy ServedBy { get; private set; }
        public CancellationToken Token => _cts.Token;

        public UpstreamCall ChatCall(ChatRequest request)
        {
            if (Provider.Client.PassesThrough(request)) ServedBy = ServedBy with { Passthrough = true };
            return new(request, Deployment.UpstreamModel, ApiKey, Deployment.Id);
        }

        /// <summary>A CLIENT span per attempt, named as the GenAI conventions name an inference call; null when not recording.</summary>
        private static Activity? StartSpan(string operation, ProviderRuntime provider, Deployment deployment, ProviderKeyLease? lease, int number)
        {
            if (!RouterActivity.Source.HasListeners()) return null;
            var span = RouterActivity.Source.StartActivity($"{operation} {deployment.UpstreamModel}", ActivityKind.Client);
            if (span is null) return null;
            span.SetTag(TelemetryNames.OperationName, operation);
            span.SetTag(TelemetryNames.ProviderName, provider.Name);
            span.SetTag(TelemetryNames.RequestModel, deployment.UpstreamModel);
            span.SetTag(TelemetryNames.Deployment, deployment.Id);
            span.SetTag(TelemetryNames.Attempt, number);
            if (lease is not null) span.SetTag(TelemetryNames.ProviderKey, lease.KeyId);
            return span;
        }

        public void Commit() => _cts.CancelAfter(Timeout.InfiniteTimeSpan);

        public void Succeeded(TokenUsage? usage)
        {
            if (Interlocked.Exchange(ref _settled, 1) != 0) return;
            var now = _owner.Now;
            if (Lease is not null)
            {
                Provider.Pool.Release(Lease, now, usage?.TotalTokens);
                Provider.Pool.ReportSuccess(Lease.KeyId);
            }
            _owner._observer.AttemptSucceeded(Deployment, Lease?.KeyId, TimeSpan.FromTicks(now - _started));
            _owner._limiter.Exit(Deployment);
            _cts.Dispose();
            if (_span is not null)
            {
                if (usage is { } u) _span.SetTag(TelemetryNames.UsageInputTokens, u.InputTokens).SetTag(TelemetryNames.UsageOutputTokens, u.OutputTokens);
                _span.Stop();
            }
        }

        public void Failed(UpstreamException failure)
        {
            if (Interlocked.Exchange(ref _settled, 1) != 0) return;
            var now = _owner.Now;
            if (Lease is not null)
            {
                Provider.Pool.Release(Lease, now);
                var status = failure.Kind switch
                {
                    UpstreamFailureKind.RateLimited => Provider.Pool.ReportRateLimited(Lease.KeyId, now, failure.RetryAfter),
                    UpstreamFailureKind.AuthFailed => Provider.Pool.ReportAuthFailure(Lease.KeyId),
                    _ => null,
                };
                if (status is not null) _owner._observer.KeyStatusChanged(status);
            }
            _owner._observer.AttemptFailed(Deployment, Lease?.KeyId, failure, TimeSpan.FromTicks(now - _started));
            _owner._limiter.Exit(Deployment);
            _cts.Dispose();
            if (_span is not null)
            {
                _span.SetTag(TelemetryNames.ErrorType, failure.Kind.ToString());
                _span.SetStatus(ActivityStatusCode.Error); // no message: an upstream error text may quote a key
                _span.Stop();
            }
        }

        /// <summary>A committed stream broke: the breaker still hears of it, the client gets an error event.</summary>
        public void FailedAfterCommit(UpstreamException failure) => Failed(failure);

        /// <summary>The client went away: release the key without blaming the deployment.</summary>
        public void Abandoned()
        {
            if (Interlocked.Exchange(ref _settled, 1) != 0) return;
            if (Lease is not null) Provider.Pool.Release(Lease, _owner.Now);
            _owner._limiter.Exit(Deployment);
            _cts.Dispose();
            if (_span is not null)
            {
                _span.SetTag(TelemetryNames.ErrorType, "abandoned");
                _span.Stop();
            }
        }
    }
}

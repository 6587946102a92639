using Router.Actors.Upstreams;

namespace Router.Actors.Dispatch;

/// <summary>Retry tuning, bound from <c>Router:Retry</c>.</summary>
/// <param name="MaxAttempts">Attempts per request in all, over every key and deployment (the first one included).</param>
/// <param name="BaseDelay">Backoff ceiling of the first retry of the same deployment; doubles per attempt.</param>
/// <param name="MaxDelay">Largest backoff ceiling (a provider's retry-after may still ask for longer).</param>
/// <param name="Deadline">No retry starts after this much time since the request arrived.</param>
public sealed record RetrySettings(int MaxAttempts, TimeSpan BaseDelay, TimeSpan MaxDelay, TimeSpan Deadline)
{
    /// <summary>The configuration contract's defaults (3 attempts, 200 ms, 5 s) with a 2-minute deadline.</summary>
    public static RetrySettings Default { get; } =
        new(3, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(BaseDelay, TimeSpan.Zero, nameof(BaseDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, BaseDelay, nameof(MaxDelay));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Deadline, TimeSpan.Zero, nameof(Deadline));
    }
}

/// <summary>What the attempt loop does after a failed attempt.</summary>
public enum RetryAction
{
    /// <summary>Same deployment with a key this request has not tried (the failure belonged to the key).</summary>
    RetrySameDeploymentOtherKey,
    /// <summary>Same deployment again, any usable key, after the decision's delay: nothing else is left to try.</summary>
    RetrySameDeployment,
    /// <summary>The next candidate deployment (same model's next deployment, then fallback models).</summary>
    NextDeployment,
    /// <summary>The next candidate whose context window is larger than the one that refused the prompt.</summary>
    FallbackLargerContext,
    /// <summary>Answer the client with this failure.</summary>
    GiveUp,
}

/// <summary>What is left to try, which only the caller (planner and key pool) knows.</summary>
/// <param name="OtherKey">The same deployment's provider has a usable key this request has not tried.</param>
/// <param name="NextDeployment">Another candidate deployment remains (not yet tried, breaker not open).</param>
/// <param name="LargerContext">A remaining candidate has a larger context window than the one that failed.</param>
public readonly record struct Alternatives(bool OtherKey, bool NextDeployment, bool LargerContext)
{
    public static Alternatives None => default;
}

/// <summary>The verdict on one failed attempt.</summary>
/// <param name="Action">Where to go next.</param>
/// <param name="Delay">How long to wait before that attempt (zero when switching to a fresh key or deployment).</param>
/// <param name="Reason">A short, stable, secret-free word for logs and metrics.</param>
public readonly record struct RetryDecision(RetryAction Action, TimeSpan Delay, string Reason)
{
    public bool ShouldRetry => Action != RetryAction.GiveUp;

    internal static RetryDecision GiveUp(string reason) => new(RetryAction.GiveUp, TimeSpan.Zero, reason);
}

/// <summary>
/// The failover rules of the attempt loop, kept pure so the whole decision table is unit-tested.
/// </summary>
/// <remarks>
/// <para>Decision table (first matching row wins):</para>
/// <list type="number">
/// <item>The stream already started (a byte reached the client) → give up: the client cannot un-read it.</item>
/// <item><see cref="RetrySettings.MaxAttempts"/> reached → give up.</item>
/// <item>RateLimited (429) → another key of the same deployment; else the next deployment; else the same
/// deployment again once the provider's retry-after has passed.</item>
/// <item>AuthFailed (401/403: the provider key is bad; the client's own key was checked at admission) → another
/// key; else the next deployment; else give up.</item>
/// <item>ServerError, Overloaded, Timeout, ConnectFailure, Reset, InvalidResponse → the next deployment,
/// because these belong to the deployment, not the key, and its breaker is counting them; else the same
/// deployment again after backoff.</item>
/// <item>ContextLengthExceeded → a candidate with a larger context window; else give up.</item>
/// <item>NotFound (the provider does not know this deployment's model) → the next deployment, which is on
/// another provider or model; else give up.</item>
/// <item>BadRequest → give up: any deployment would refuse the same request.</item>
/// </list>
/// <para>Moving to another key or deployment happens at once: the new target has not been failing, and waiting
/// would only add latency. Only retrying the same deployment waits, with <see cref="NextDelay(int, TimeSpan?, Func{double})"/>.
/// A retry whose start (elapsed + delay) would reach <see cref="RetrySettings.Deadline"/> is not made.</para>
/// </remarks>
public sealed class RetryPolicy
{
    private readonly RetrySettings _settings;

    public RetryPolicy(RetrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
    }

    public RetrySettings Settings => _settings;

    /// <summary>
    /// Exponential backoff with full jitter: uniform in [0, min(MaxDelay, BaseDelay·2^attempt)], scaled by
    /// <paramref name="jitter"/>, but never shorter than the provider's <paramref name="retryAfter"/>. Full
    /// jitter spreads the retries of many requests that failed together instead of synchronising them.
    /// </summary>
    /// <param name="attempt">Retries of the same target so far: 0 for the first retry.</param>
    /// <param name="jitter">Returns a number in [0, 1]; values outside are clamped.</param>
    public TimeSpan NextDelay(int attempt, TimeSpan? retryAfter, Func<double> jitter)
    {
        ArgumentNullException.ThrowIfNull(jitter);
        var ceiling = Ceiling(attempt);
        var fraction = jitter();
        fraction = double.IsNaN(fraction) ? 0 : Math.Clamp(fraction, 0, 1);
        var delay = TimeSpan.FromTicks((long)(ceiling.Ticks * fraction));
        return retryAfter is { } floor && floor > delay ? floor : delay;
    }

    /// <inheritdoc cref="NextDelay(int, TimeSpan?, Func{double})"/>
    public TimeSpan NextDelay(int attempt, TimeSpan? retryAfter, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return NextDelay(attempt, retryAfter, random.NextDouble);
    }

    /// <summary>Decides what follows a failed attempt (see the decision table on the class).</summary>
    /// <param name="kind">How the attempt failed.</param>
    /// <param name="attemptsSoFar">Attempts made for this request, the failed one included (≥ 1).</param>
    /// <param name="streamStarted">Whether any byte of the answer already reached the client.</param>
    /// <param name="elapsed">Time since the request arrived.</param>
    /// <param name="alternatives">What is left to try.</param>
    /// <param name="retryAfter">What the provider asked for, if anything (see <see cref="RetryAfterParser"/>).</param>
    /// <param name="jitter">Random source in [0, 1] for backoff; only used when retrying the same deployment.</param>
    public RetryDecision Decide(
        UpstreamFailureKind kind,
        int attemptsSoFar,
        bool streamStarted,
        TimeSpan elapsed,
        Alternatives alternatives,
        TimeSpan? retryAfter,
        Func<double> jitter)
    {
        ArgumentNullException.ThrowIfNull(jitter);
        if (streamStarted)
        {
            return RetryDecision.GiveUp("stream-started");
        }

        if (attemptsSoFar >= _settings.MaxAttempts)
        {
            return RetryDecision.GiveUp("max-attempts");
        }

        var (action, reason) = Route(kind, alternatives);
        if (action == RetryAction.GiveUp)
        {
            return RetryDecision.GiveUp(reason);
        }

        var delay = action == RetryAction.RetrySameDeployment
            ? NextDelay(Math.Max(0, attemptsSoFar - 1), retryAfter, jitter)
            : TimeSpan.Zero;
        if (elapsed + delay >= _settings.Deadline)
        {
            return RetryDecision.GiveUp("deadline");
        }

        return new RetryDecision(action, delay, reason);
    }

    private static (RetryAction Action, string Reason) Route(UpstreamFailureKind kind, Alternatives next) => kind switch
    {
        UpstreamFailureKind.RateLimited => next.OtherKey ? (RetryAction.RetrySameDeploymentOtherKey, "rate-limited")
            : next.NextDeployment ? (RetryAction.NextDeployment, "rate-limited")
            : (RetryAction.RetrySameDeployment, "rate-limited"),

        UpstreamFailureKind.AuthFailed => next.OtherKey ? (RetryAction.RetrySameDeploymentOtherKey, "provider-auth")
            : next.NextDeployment ? (RetryAction.NextDeployment, "provider-auth")
            : (RetryAction.GiveUp, "provider-auth"),

        UpstreamFailureKind.ServerError or UpstreamFailureKind.Overloaded or UpstreamFailureKind.Timeout
            or UpstreamFailureKind.ConnectFailure or UpstreamFailureKind.Reset or UpstreamFailureKind.InvalidResponse
            => next.NextDeployment ? (RetryAction.NextDeployment, Word(kind)) : (RetryAction.RetrySameDeployment, Word(kind)),

        UpstreamFailureKind.ContextLengthExceeded => next.LargerContext
            ? (RetryAction.FallbackLargerContext, "context-length")
            : (RetryAction.GiveUp, "context-length"),

        UpstreamFailureKind.NotFound => next.NextDeployment
            ? (RetryAction.NextDeployment, "not-found")
            : (RetryAction.GiveUp, "not-found"),

        _ => (RetryAction.GiveUp, Word(kind)),
    };

    private static string Word(UpstreamFailureKind kind) => kind switch
    {
        UpstreamFailureKind.ServerError => "server-error",
        UpstreamFailureKind.Overloaded => "overloaded",
        UpstreamFailureKind.Timeout => "timeout",
        UpstreamFailureKind.ConnectFailure => "connect-failure",
        UpstreamFailureKind.Reset => "reset",
        UpstreamFailureKind.InvalidResponse => "invalid-response",
        UpstreamFailureKind.BadRequest => "bad-request",
        _ => "unknown",
    };

    private TimeSpan Ceiling(int attempt)
    {
        // Past 62 doublings the product overflows long; the cap was reached long before.
        var exponent = Math.Clamp(attempt, 0, 62);
        var ticks = _settings.BaseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= _settings.MaxDelay.Ticks ? _settings.MaxDelay : TimeSpan.FromTicks((long)ticks);
    }
}

using Router.Contracts.RateLimiting;

namespace Router.Actors.RateLimiting;

/// <summary>A key's rate limits; null means unlimited. Values must be positive.</summary>
public sealed record KeyLimits(int? Rpm, int? Tpm, int? MaxConcurrent)
{
    public static readonly KeyLimits Unlimited = new(null, null, null);

    /// <summary>Null when valid, else a message naming the bad field (no secrets involved).</summary>
    public string? Validate() =>
        Rpm <= 0 ? "Rpm must be positive or absent"
        : Tpm <= 0 ? "Tpm must be positive or absent"
        : MaxConcurrent <= 0 ? "MaxConcurrent must be positive or absent"
        : null;
}

/// <summary>Which limit refused an admission.</summary>
public enum LimitKind
{
    Requests,
    Tokens,
    Concurrency,
    /// <summary>The estimate alone exceeds the tokens-per-minute capacity: waiting never helps.</summary>
    NeverFits,
}

/// <summary>Outcome of <see cref="KeyRateLimiter.Admit"/>.</summary>
/// <param name="RefusedBy">The binding limit on refusal; null when admitted.</param>
/// <param name="RetryAfter">On refusal, when retrying can succeed at the earliest; null for never-fits.</param>
/// <param name="Requests">RPM status after the decision; null when unlimited.</param>
/// <param name="Tokens">TPM status after the decision; null when unlimited.</param>
public sealed record AdmitDecision(
    bool Admitted, LimitKind? RefusedBy, TimeSpan? RetryAfter, RateLimitStatus? Requests, RateLimitStatus? Tokens);

/// <summary>Exportable limiter state for snapshots.</summary>
public sealed record KeyRateLimiterState(TokenBucketState? Requests, TokenBucketState? Tokens, int InFlight);

/// <summary>
/// One key's request-rate, token-rate and concurrency limits, decided together so that a refusal takes
/// nothing from any of them (a request refused for tokens must not burn a request slot). Tokens are taken
/// up front from an estimate and reconciled with the real usage on completion, as OpenAI does: a refund when
/// the estimate was high, an extra charge (possibly into debt) when it was low. Pure: time comes as ticks.
/// </summary>
public sealed class KeyRateLimiter
{
    /// <summary>RPM and TPM are per minute.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Retry hint when only concurrency refuses: when a slot frees is unknowable, and a zero Retry-After
    /// invites clients to hammer.
    /// </summary>
    public static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    private TokenBucket? _requests;
    private TokenBucket? _tokens;

    public KeyRateLimiter(KeyLimits limits, long nowTicks)
    {
        ThrowIfInvalid(limits);
        Limits = limits;
        _requests = limits.Rpm is { } rpm ? new TokenBucket(rpm, Period, nowTicks) : null;
        _tokens = limits.Tpm is { } tpm ? new TokenBucket(tpm, Period, nowTicks) : null;
    }

    public KeyLimits Limits { get; private set; }

    /// <summary>Admitted requests not yet completed or aborted.</summary>
    public int InFlight { get; private set; }

    /// <summary>
    /// Rebuilds a limiter from <see cref="Export"/> under <paramref name="limits"/>: a bucket that was unlimited
    /// in the state starts full, levels above the new capacity are clamped.
    /// </summary>
    public static KeyRateLimiter Restore(KeyLimits limits, KeyRateLimiterState state, long nowTicks)
    {
        var limiter = new KeyRateLimiter(limits, nowTicks) { InFlight = Math.Max(0, state.InFlight) };
        if (limits.Rpm is { } rpm && state.Requests is { } requests)
        {
            limiter._requests = TokenBucket.Restore(rpm, Period, requests);
        }

        if (limits.Tpm is { } tpm && state.Tokens is { } tokens)
        {
            limiter._tokens = TokenBucket.Restore(tpm, Period, tokens);
        }

        return limiter;
    }

    /// <summary>Admits one request estimated at <paramref name="estimatedTokens"/>, or takes nothing and says why.</summary>
    public AdmitDecision Admit(long nowTicks, int estimatedTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(estimatedTokens);
        if (_tokens is not null && _tokens.NeverFits(estimatedTokens))
        {
            return Refused(nowTicks, LimitKind.NeverFits, retryAfter: null);
        }

        // Every limit must pass before anything is taken; report the longest wait, since all must be met.
        var requestWait = _requests?.TimeUntilAvailable(nowTicks, 1) ?? TimeSpan.Zero;
        var tokenWait = _tokens?.TimeUntilAvailable(nowTicks, estimatedTokens) ?? TimeSpan.Zero;
        var concurrencyWait = InFlight >= Limits.MaxConcurrent ? ConcurrencyRetryAfter : TimeSpan.Zero;
        if (requestWait > TimeSpan.Zero || tokenWait > TimeSpan.Zero || concurrencyWait > TimeSpan.Zero)
        {
            var (kind, wait) = (LimitKind.Requests, requestWait);
            if (tokenWait > wait)
            {
                (kind, wait) = (LimitKind.Tokens, tokenWait);
            }

            if (concurrencyWait > wait)
            {
                (kind, wait) = (LimitKind.Concurrency, concurrencyWait);
            }

            return Refused(nowTicks, kind, wait);
        }

        _requests?.TryTake(nowTicks, 1);
        _tokens?.TryTake(nowTicks, estimatedTokens);
        InFlight++;
        return new AdmitDecision(true, null, null, RequestStatus(nowTicks), TokenStatus(nowTicks));
    }

    /// <summary>A request finished: reconciles its tokens and frees its concurrency slot.</summary>
    public void Complete(long nowTicks, int estimatedTokens, int actualTokens)
    {
        Reconcile(nowTicks, estimatedTokens, actualTokens);
        Release();
    }

    /// <summary>
    /// A request failed or the client went away: frees its slot and settles its tokens at what was used
    /// (the whole estimate is refunded when nothing was). The request still counts against RPM, or a
    /// client could cancel its way past the limit.
    /// </summary>
    public void Abort(long nowTicks, int estimatedTokens, int tokensUsed = 0) => Complete(nowTicks, estimatedTokens, tokensUsed);

    /// <summary>
    /// Settles the token estimate against the real usage without touching concurrency: for completions of
    /// requests admitted by an earlier incarnation whose slot is no longer tracked.
    /// </summary>
    public void Reconcile(long nowTicks, int estimatedTokens, int actualTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(estimatedTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        if (_tokens is null)
        {
            return;
        }

        if (actualTokens > estimatedTokens)
        {
            _tokens.Charge(nowTicks, actualTokens - estimatedTokens);
        }
        else if (actualTokens < estimatedTokens)
        {
            _tokens.Refund(nowTicks, estimatedTokens - actualTokens);
        }
    }

    /// <summary>Applies new limits, keeping current levels (clamped); a newly limited bucket starts full.</summary>
    public void Reconfigure(KeyLimits limits, long nowTicks)
    {
        ThrowIfInvalid(limits);
        _requests = Reconfigure(_requests, limits.Rpm, nowTicks);
        _tokens = Reconfigure(_tokens, limits.Tpm, nowTicks);
        Limits = limits;
    }

    public RateLimitStatus? RequestStatus(long nowTicks) => Status(_requests, nowTicks);

    public RateLimitStatus? TokenStatus(long nowTicks) => Status(_tokens, nowTicks);

    public KeyRateLimiterState Export(long nowTicks) =>
        new(_requests?.Export(nowTicks), _tokens?.Export(nowTicks), InFlight);

    private void Release()
    {
        if (InFlight > 0)
        {
            InFlight--;
        }
    }

    private AdmitDecision Refused(long nowTicks, LimitKind kind, TimeSpan? retryAfter) =>
        new(false, kind, retryAfter, RequestStatus(nowTicks), TokenStatus(nowTicks));

    private static TokenBucket? Reconfigure(TokenBucket? bucket, int? limit, long nowTicks)
    {
        if (limit is not { } capacity)
        {
            return null;
        }

        if (bucket is null)
        {
            return new TokenBucket(capacity, Period, nowTicks);
        }

        bucket.Reconfigure(capacity, nowTicks);
        return bucket;
    }

    private static RateLimitStatus? Status(TokenBucket? bucket, long nowTicks) =>
        bucket is null
            ? null
            : RateLimitStatus.Of(bucket.Capacity, Math.Max(0, bucket.Available(nowTicks)), bucket.TimeUntilFull(nowTicks));

    private static void ThrowIfInvalid(KeyLimits limits)
    {
        if (limits.Validate() is { } error)
        {
            throw new ArgumentException(error, nameof(limits));
        }
    }
}

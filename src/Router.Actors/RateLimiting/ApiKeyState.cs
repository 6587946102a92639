using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using static Router.Contracts.RateLimiting.ApiKeyCommands;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Actors.RateLimiting;

/// <summary>
/// One instant on the two clocks a key needs: monotonic <paramref name="Ticks"/> (TimeSpan ticks from any fixed
/// origin) for intervals (buckets, leases), and <paramref name="Utc"/> wall-clock time for calendar budgets and the
/// dates written into events and snapshots.
/// </summary>
public readonly record struct Moment(long Ticks, DateTimeOffset Utc);

/// <summary>What <see cref="ApiKeyState"/> decided about one command.</summary>
/// <param name="Reply">
/// The answer to send at once: an <see cref="AdmitResult"/> or a <see cref="KeyState"/>, or an
/// <see cref="ArgumentException"/> for an invalid command (sent as a failure). Null when the command has no
/// answer, or, when <paramref name="Events"/> is not empty, when the answer is the key's state once they are applied.
/// </param>
/// <param name="Events">Events to persist, in order; <see cref="ApiKeyState.Apply"/> each once it is written.</param>
/// <param name="LeasesExpired">In-flight requests released because their Complete/Abort never came (worth a warning).</param>
public readonly record struct ApiKeyDecision(object? Reply, IReadOnlyList<IRouterMessage> Events, int LeasesExpired = 0)
{
    public static readonly ApiKeyDecision None = new(null, []);

    public void Deconstruct(out object? reply, out IReadOnlyList<IRouterMessage> events) => (reply, events) = (Reply, Events);
}

/// <summary>
/// A virtual key's state and rules, with no actor and no clock: <c>Decide(command, now)</c> answers a command and
/// names the events to persist, <see cref="Apply"/> folds a written event in. <see cref="ApiKeyActor"/> owns one and
/// does the I/O (journal, timers, replies). The state has two parts, split by what the journal knows:
/// <list type="bullet">
/// <item>The record's properties (definition, creation, revocation, spend written to the journal) change only
/// through <see cref="Apply"/>. Replaying the journal from <see cref="Empty"/> gives an equal state; equality
/// covers these properties only.</item>
/// <item>A meter holding what lives only in memory: bucket levels, in-flight leases, spend not written yet. Decide
/// changes it in place (Apply too: it queues new limits for the buckets and retires written spend). Admit and Complete run once per request on the hot path (DESIGN.md), and copying buckets,
/// leases and the record per request would allocate for state that never becomes an event anyway. Levels and
/// leases reach storage only through <see cref="ToSnapshot"/>; unwritten spend moves to the written figures when
/// its batch event is applied. A state and every state derived from it share one meter: keep only the newest.</item>
/// </list>
/// Admissions persist nothing; create, update and revoke are events persisted before they are answered; spend is
/// counted at once in memory and written in batches (<see cref="ApiKeyActorSettings.FlushEveryCompletions"/>, or
/// <see cref="CloseSpendBatch"/> on the actor's flush timer), a batch never spanning two budget periods.
/// </summary>
public sealed record ApiKeyState
{
    private readonly ApiKeyActorSettings _settings;
    private readonly Meter _meter;

    private ApiKeyState(ApiKeyId keyId, ApiKeyActorSettings settings, Meter meter)
    {
        KeyId = keyId;
        _settings = settings;
        _meter = meter;
    }

    public ApiKeyId KeyId { get; }

    /// <summary>The definition as last upserted; null until the key is created.</summary>
    public KeyUpserted? Key { get; private init; }

    public DateTimeOffset CreatedAt { get; private init; }

    public DateTimeOffset? RevokedAt { get; private init; }

    /// <summary>Limit, period and the spend the journal holds for it; null until the key is created.</summary>
    public Budget? Budget { get; private init; }

    /// <summary>Lifetime spend the journal holds (spend not written yet is in the meter).</summary>
    public decimal TotalSpentUsd { get; private init; }

    public bool Exists => Key is not null;

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>Requests admitted and not yet completed, aborted or expired.</summary>
    public int InFlight => _meter.Leases.Count;

    /// <summary>Spend counted in memory but not yet in a batch handed out by Decide.</summary>
    public bool HasUnwrittenSpend => _meter.Pending.Requests > 0;

    /// <summary>The entity of <paramref name="keyId"/> before any event: an unknown key.</summary>
    public static ApiKeyState Empty(ApiKeyId keyId, ApiKeyActorSettings? settings = null) =>
        new(keyId, settings ?? ApiKeyActorSettings.Default, new Meter());

    /// <summary>
    /// Restores <see cref="ToSnapshot"/>'s output at <paramref name="now"/>. Buckets refill only by the wall-clock
    /// time that passed since it was taken (never negative), so a key moved to another node gets no allowance from
    /// the move (up to clock skew between nodes).
    /// </summary>
    public static ApiKeyState FromSnapshot(ApiKeyId keyId, ApiKeySnapshot s, Moment now, ApiKeyActorSettings? settings = null)
    {
        var meter = new Meter();
        foreach (var r in s.InFlight)
        {
            meter.Leases[r.RequestId] = new AdmissionLease(r.EstimatedTokens, now.Ticks - Math.Max(0, (now.Utc - r.AdmittedAt).Ticks));
        }

        var away = Math.Max(0, (now.Utc - s.TakenAt).Ticks);
        TokenBucketState? Bucket(BucketLevel? level) =>
            level is null ? null : new TokenBucketState(level.Level, now.Ticks - away - level.RefillOffsetTicks);
        meter.Limiter = KeyRateLimiter.Restore(
            LimitsOf(s.Key), new KeyRateLimiterState(Bucket(s.Requests), Bucket(s.Tokens), meter.Leases.Count), now.Ticks);

        return new ApiKeyState(keyId, settings ?? ApiKeyActorSettings.Default, meter)
        {
            Key = s.Key,
            CreatedAt = s.CreatedAt,
            RevokedAt = s.RevokedAt,
            Budget = Budget.Restore(s.Key.BudgetUsd, s.Key.BudgetPeriod, s.SpentUsd, s.BudgetPeriodStart),
            TotalSpentUsd = s.TotalSpentUsd,
        };
    }

    // --- Decide -------------------------------------------------------------------------------------------

    /// <summary>Admits one request or says why not; never an event (buckets live in memory).</summary>
    public ApiKeyDecision Decide(Admit m, Moment now)
    {
        if (Key is not { } key || Budget is not { } budget)
        {
            return new(Refusal(m, AdmitRefusal.UnknownKey, null, null, now.Ticks), []);
        }

        var limiter = Limiter(now.Ticks);
        if (IsRevoked)
        {
            return new(Refusal(m, AdmitRefusal.Revoked, null, limiter, now.Ticks), []);
        }

        // 1. The id is only a prefix of the hash: the full hash decides whether this is the key.
        if (m.KeyHash is not null && !string.Equals(m.KeyHash, key.KeyHash, StringComparison.OrdinalIgnoreCase))
        {
            return new(Refusal(m, AdmitRefusal.UnknownKey, null, limiter, now.Ticks), []);
        }

        if (!ModelAllowList.Allows(key.Models, m.Model) && (m.ModelNames is null || !m.ModelNames.Any(n => ModelAllowList.Allows(key.Models, n))))
        {
            return new(Refusal(m, AdmitRefusal.ModelNotAllowed, null, limiter, now.Ticks), []);
        }

        // 2. Budget, counting spend not written yet.
        if (budget.LimitUsd is not null && budget.IsExhausted(now.Utc, UnwrittenInPeriod(budget, now.Utc)))
        {
            var retryAfter = budget.ResetsAt(now.Utc) is { } resetsAt ? resetsAt - now.Utc : (TimeSpan?)null;
            return new(Refusal(m, AdmitRefusal.BudgetExhausted, retryAfter, limiter, now.Ticks), []);
        }

        // 3. A re-sent Admit (the asker retried) must not take a second slot.
        if (_meter.Leases.ContainsKey(m.RequestId))
        {
            var again = new AdmitDecision(true, null, null, limiter.RequestStatus(now.Ticks), limiter.TokenStatus(now.Ticks));
            return new(Result(m, again), []);
        }

        // 4. Only a full house is worth scanning for requests whose node died.
        var expired = limiter.InFlight >= limiter.Limits.MaxConcurrent ? ExpireLeases(now.Ticks) : 0;

        var estimate = Math.Max(0, m.EstimatedTokens);
        var decision = limiter.Admit(now.Ticks, estimate);
        if (decision.Admitted)
        {
            _meter.Leases[m.RequestId] = new AdmissionLease(estimate, now.Ticks);
        }

        return new(Result(m, decision), [], expired);
    }

    /// <summary>
    /// A request finished: settles its tokens, frees its slot and counts its cost at once. The events are the
    /// spend batches this closed (a full batch, or one of an earlier budget period); often none.
    /// </summary>
    public ApiKeyDecision Decide(Complete m, Moment now)
    {
        if (Key is null)
        {
            return ApiKeyDecision.None;
        }

        var limiter = Limiter(now.Ticks);
        var actual = Math.Max(0, m.ActualTokens);
        if (_meter.Leases.Remove(m.RequestId, out var lease))
        {
            limiter.Complete(now.Ticks, lease.EstimatedTokens, actual);
        }
        else
        {
            // Admitted by an earlier incarnation, or its lease expired: settle tokens, no slot to free.
            limiter.Reconcile(now.Ticks, Math.Max(0, m.EstimatedTokens), actual);
        }

        // Requests admitted before a revocation still finish, and their spend still counts.
        return RecordSpend(Math.Max(0m, m.CostUsd), actual, now.Utc);
    }

    /// <summary>A request failed or its client left: frees its slot and refunds its estimate. Never an event.</summary>
    public ApiKeyDecision Decide(Abort m, Moment now)
    {
        if (Key is null)
        {
            return ApiKeyDecision.None;
        }

        var limiter = Limiter(now.Ticks);
        if (_meter.Leases.Remove(m.RequestId, out var lease))
        {
            limiter.Abort(now.Ticks, lease.EstimatedTokens);
        }
        else
        {
            limiter.Reconcile(now.Ticks, Math.Max(0, m.EstimatedTokens), 0);
        }

        return ApiKeyDecision.None;
    }

    /// <summary>Creates or updates the key; an identical definition persists nothing, and a revoked key stays revoked.</summary>
    public ApiKeyDecision Decide(Upsert m, Moment now)
    {
        if (IsRevoked)
        {
            return new(View(now), []); // revocation is permanent: issue a new key instead
        }

        // An update of an existing key (admin PATCH) does not know the hash: an empty one keeps the stored hash.
        if (Key is not null && m.KeyHash.Length == 0)
        {
            m = m with { KeyHash = Key.KeyHash };
        }

        if (Validate(m) is { } error)
        {
            return new(new ArgumentException(error), []);
        }

        if (Key is not null && SameDefinition(Key, m))
        {
            return new(View(now), []);
        }

        var upserted = new KeyUpserted(
            KeyId, m.Name, m.KeyHash.ToLowerInvariant(), m.Rpm, m.Tpm, m.MaxConcurrent, m.BudgetUsd, m.BudgetPeriod,
            m.Models.ToArray(), m.Source, now.Utc);
        return new(null, [upserted]);
    }

    /// <summary>Revokes the key for good.</summary>
    public ApiKeyDecision Decide(Revoke m, Moment now) =>
        Key is null ? new(KeyState.NotFound(KeyId), [])
        : IsRevoked ? new(View(now), [])
        : new(null, [new KeyRevoked(KeyId, now.Utc)]);

    /// <summary>The spend counted in memory as one batch event to persist (the flush timer, a graceful stop); none when there is none.</summary>
    public ApiKeyDecision CloseSpendBatch() => _meter.Pending.Requests == 0 ? ApiKeyDecision.None : new(null, [CloseBatch()]);

    /// <summary>Frees the slots of requests whose Complete/Abort never came (their node died); returns how many.</summary>
    public int ExpireLeases(long nowTicks)
    {
        if (Key is null)
        {
            return 0;
        }

        var limiter = Limiter(nowTicks);
        var expired = _meter.Leases.Where(r => nowTicks - r.Value.AdmittedTicks >= _settings.InFlightLease.Ticks).ToList();
        foreach (var (requestId, lease) in expired)
        {
            _meter.Leases.Remove(requestId);
            limiter.Complete(nowTicks, lease.EstimatedTokens, lease.EstimatedTokens); // usage unknown: keep the estimate
        }

        return expired.Count;
    }

    // --- Apply --------------------------------------------------------------------------------------------

    /// <summary>Folds in a written event: <see cref="KeyUpserted"/>, <see cref="KeyRevoked"/> or <see cref="SpendRecorded"/>.</summary>
    public ApiKeyState Apply(IRouterMessage e) => e switch
    {
        KeyUpserted upserted => Apply(upserted),
        KeyRevoked revoked => this with { RevokedAt = revoked.At },
        SpendRecorded spend => Apply(spend),
        _ => throw new ArgumentException($"{e.GetType().Name} is not an event of a key", nameof(e)),
    };

    private ApiKeyState Apply(KeyUpserted e)
    {
        // Buckets take the new limits at their next use, when the time is known; both go at the same instant
        // when the actor answers with the new state.
        _meter.LimitChanges.Add(LimitsOf(e));
        return Key is null || Budget is null
            ? this with { Key = e, CreatedAt = e.At, Budget = new Budget(e.BudgetUsd, e.BudgetPeriod, e.At) }
            : this with { Key = e, Budget = Budget.Reconfigure(e.BudgetUsd, e.BudgetPeriod, e.At) };
    }

    private ApiKeyState Apply(SpendRecorded e)
    {
        // Live, this is the oldest batch handed out (PersistAsync keeps the order), already counted from memory:
        // move it from the meter to the written figures. On replay the meter holds no batch.
        if (_meter.Unwritten.TryPeek(out var oldest) && oldest == e)
        {
            _meter.Unwritten.Dequeue();
        }

        return this with { Budget = Budget?.Record(e.CostUsd, e.At), TotalSpentUsd = TotalSpentUsd + e.CostUsd };
    }

    // --- Views --------------------------------------------------------------------------------------------

    /// <summary>The key as the Admin API shows it, spend not written yet included.</summary>
    public KeyState View(Moment now)
    {
        if (Key is not { } key || Budget is not { } budget)
        {
            return KeyState.NotFound(KeyId);
        }

        var limiter = Limiter(now.Ticks);
        return new KeyState(
            KeyId, true, key.Name, key.Source, key.Rpm, key.Tpm, key.MaxConcurrent,
            limiter.RequestStatus(now.Ticks)?.Remaining, limiter.Export(now.Ticks).Tokens?.Level, limiter.InFlight,
            key.BudgetUsd, key.BudgetPeriod, budget.Spent(now.Utc) + UnwrittenInPeriod(budget, now.Utc),
            TotalSpentUsd + UnwrittenTotal(), budget.ResetsAt(now.Utc), IsRevoked, RevokedAt, key.Models, CreatedAt, key.At);
    }

    /// <summary>
    /// The whole state for a snapshot. Spend comes from the written figures only: the snapshot describes the
    /// journal up to its sequence number, and spend not written there is replayed from its own event later.
    /// Bucket levels and in-flight requests are included so a moved key does not start with full buckets.
    /// </summary>
    public ApiKeySnapshot ToSnapshot(Moment now)
    {
        var (key, budget) = (Key ?? throw new InvalidOperationException("An unknown key has nothing to snapshot"), Budget!);
        var limiter = Limiter(now.Ticks).Export(now.Ticks);
        return new ApiKeySnapshot(
            key,
            CreatedAt,
            RevokedAt,
            budget.Spent(now.Utc),
            budget.CurrentPeriodStart(now.Utc),
            TotalSpentUsd,
            ToLevel(limiter.Requests, now.Ticks),
            ToLevel(limiter.Tokens, now.Ticks),
            _meter.Leases.Select(r => new InFlightRequest(r.Key, r.Value.EstimatedTokens, now.Utc - TimeSpan.FromTicks(now.Ticks - r.Value.AdmittedTicks))).ToArray(),
            now.Utc);
    }

    // Equality is the journal's view of the key; the meter is not part of it (see the summary).
    public bool Equals(ApiKeyState? other) =>
        other is not null && KeyId == other.KeyId && Equals(Key, other.Key) && CreatedAt == other.CreatedAt
        && RevokedAt == other.RevokedAt && Equals(Budget, other.Budget) && TotalSpentUsd == other.TotalSpentUsd;

    public override int GetHashCode() => HashCode.Combine(KeyId, Key, CreatedAt, RevokedAt, Budget, TotalSpentUsd);

    // --- Spend --------------------------------------------------------------------------------------------

    private ApiKeyDecision RecordSpend(decimal costUsd, int tokens, DateTimeOffset now)
    {
        var budget = Budget!;
        // A batch never spans two budget periods: replay dates the whole batch by its last completion.
        var previousPeriod = _meter.Pending.Requests > 0 && _meter.Pending.PeriodStart != Budget.StartOf(budget.Period, now)
            ? CloseBatch()
            : null;

        _meter.Pending = _meter.Pending.Add(costUsd, tokens, now, budget.CurrentPeriodStart(now));
        var full = _meter.Pending.Requests >= _settings.FlushEveryCompletions ? CloseBatch() : null;

        return (previousPeriod, full) switch
        {
            (null, null) => ApiKeyDecision.None,
            ({ } a, null) => new(null, [a]),
            (null, { } b) => new(null, [b]),
            ({ } a, { } b) => new(null, [a, b]),
        };
    }

    private SpendRecorded CloseBatch()
    {
        var batch = _meter.Pending.ToEvent(KeyId);
        _meter.Pending = PendingSpend.Empty;
        _meter.Unwritten.Enqueue(batch);
        return batch;
    }

    // Spend in memory (handed out as batches, or still pending) that will count in the budget period containing
    // now once written: what Budget.Record will make of it, so the live figure equals the replayed one.
    private decimal UnwrittenInPeriod(Budget budget, DateTimeOffset now)
    {
        var current = budget.CurrentPeriodStart(now);
        var sum = _meter.Pending.Requests > 0 && Counts(budget, current, _meter.Pending.LastAt) ? _meter.Pending.CostUsd : 0m;
        foreach (var batch in _meter.Unwritten)
        {
            if (Counts(budget, current, batch.At))
            {
                sum += batch.CostUsd;
            }
        }

        return sum;

        static bool Counts(Budget budget, DateTimeOffset current, DateTimeOffset at) =>
            at >= budget.PeriodStart && budget.CurrentPeriodStart(at) == current;
    }

    private decimal UnwrittenTotal()
    {
        var sum = _meter.Pending.CostUsd;
        foreach (var batch in _meter.Unwritten)
        {
            sum += batch.CostUsd;
        }

        return sum;
    }

    // --- Helpers ------------------------------------------------------------------------------------------

    // The buckets of a known key, brought up to its latest limits first (see Apply(KeyUpserted)).
    private KeyRateLimiter Limiter(long nowTicks)
    {
        if (_meter.LimitChanges.Count > 0)
        {
            foreach (var limits in _meter.LimitChanges)
            {
                if (_meter.Limiter is null)
                {
                    _meter.Limiter = new KeyRateLimiter(limits, nowTicks);
                }
                else
                {
                    _meter.Limiter.Reconfigure(limits, nowTicks);
                }
            }

            _meter.LimitChanges.Clear();
        }

        return _meter.Limiter ?? throw new InvalidOperationException($"Key {KeyId} has no limits before it is created");
    }

    private AdmitResult Refusal(Admit m, AdmitRefusal reason, TimeSpan? retryAfter, KeyRateLimiter? limiter, long nowTicks) =>
        new(KeyId, m.RequestId, false, reason, retryAfter is { } r ? CeilMs(r) : null,
            limiter?.RequestStatus(nowTicks), limiter?.TokenStatus(nowTicks));

    private AdmitResult Result(Admit m, AdmitDecision d)
    {
        var reason = d.RefusedBy switch
        {
            null => AdmitRefusal.None,
            LimitKind.Requests => AdmitRefusal.Requests,
            LimitKind.Tokens => AdmitRefusal.Tokens,
            LimitKind.Concurrency => AdmitRefusal.Concurrency,
            LimitKind.NeverFits => AdmitRefusal.NeverFits,
            _ => throw new ArgumentOutOfRangeException(nameof(d), d.RefusedBy, "Unknown limit"),
        };
        var retryAfter = d.RetryAfter is { } r && r != TimeSpan.MaxValue ? CeilMs(r) : (long?)null;
        return new AdmitResult(KeyId, m.RequestId, d.Admitted, reason, retryAfter, d.Requests, d.Tokens);
    }

    // Rounded up: a client that waits exactly this long must find the allowance there.
    private static long CeilMs(TimeSpan t) => (t.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;

    private static BucketLevel? ToLevel(TokenBucketState? state, long nowTicks) =>
        state is { } s ? new BucketLevel(s.Level, nowTicks - s.LastRefillTicks) : null;

    private string? Validate(Upsert m)
    {
        if (m.KeyId != KeyId)
        {
            return "Upsert routed to the wrong key";
        }

        if (!ApiKeyHash.IsValid(m.KeyHash) || !m.KeyHash.StartsWith(KeyId.Value, StringComparison.OrdinalIgnoreCase))
        {
            return $"KeyHash must be the key's SHA-256 hex, starting with the key id {KeyId}";
        }

        if (Key is not null && !string.Equals(Key.KeyHash, m.KeyHash, StringComparison.OrdinalIgnoreCase))
        {
            return $"Another key already has id {KeyId}";
        }

        if (string.IsNullOrWhiteSpace(m.Name))
        {
            return "Name is required";
        }

        if (m.BudgetUsd < 0)
        {
            return "BudgetUsd cannot be negative";
        }

        return new KeyLimits(m.Rpm, m.Tpm, m.MaxConcurrent).Validate();
    }

    private static bool SameDefinition(KeyUpserted k, Upsert m) =>
        k.Name == m.Name && k.Rpm == m.Rpm && k.Tpm == m.Tpm && k.MaxConcurrent == m.MaxConcurrent
        && k.BudgetUsd == m.BudgetUsd && k.BudgetPeriod == m.BudgetPeriod && k.Source == m.Source
        && k.Models.SequenceEqual(m.Models, StringComparer.Ordinal);

    private static KeyLimits LimitsOf(KeyUpserted k) => new(k.Rpm, k.Tpm, k.MaxConcurrent);

    /// <summary>What a key holds only in memory; changed in place (see <see cref="ApiKeyState"/>).</summary>
    private sealed class Meter
    {
        public Dictionary<string, AdmissionLease> Leases { get; } = new(StringComparer.Ordinal);

        // Batches handed out by Decide to be written, oldest first, until their event is applied.
        public Queue<SpendRecorded> Unwritten { get; } = new();

        // Limits upserted since the buckets were last used, in order.
        public List<KeyLimits> LimitChanges { get; } = [];

        public KeyRateLimiter? Limiter { get; set; }

        public PendingSpend Pending { get; set; } = PendingSpend.Empty;
    }

    private readonly record struct AdmissionLease(int EstimatedTokens, long AdmittedTicks);

    private readonly record struct PendingSpend(decimal CostUsd, int Requests, long Tokens, DateTimeOffset LastAt, DateTimeOffset PeriodStart)
    {
        public static readonly PendingSpend Empty = default;

        public PendingSpend Add(decimal costUsd, int tokens, DateTimeOffset at, DateTimeOffset periodStart) =>
            new(CostUsd + costUsd, Requests + 1, Tokens + tokens, at, periodStart);

        public SpendRecorded ToEvent(ApiKeyId keyId) => new(keyId, CostUsd, Requests, Tokens, LastAt);
    }
}

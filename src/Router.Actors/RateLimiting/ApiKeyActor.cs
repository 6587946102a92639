using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Router.Contracts.RateLimiting;
using static Router.Contracts.RateLimiting.ApiKeyCommands;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Actors.RateLimiting;

/// <summary>
/// The one place a virtual key's limits and budget live (sharded by key id), which is what makes them exact
/// across nodes. A thin owner of <see cref="KeyRateLimiter"/> and <see cref="Budget"/>.
/// <para>Persistence trade-offs:</para>
/// <list type="bullet">
/// <item>Admissions are decided in memory and never persisted: a journal write per request would cap
/// throughput at the store's write rate.</item>
/// <item>Create/update/revoke are persisted before they are acknowledged: a revocation is never lost.</item>
/// <item>Spend is applied in memory at once (so the budget stops admissions immediately) and persisted in
/// batches every <see cref="ApiKeyActorSettings.FlushEveryCompletions"/> completions or
/// <see cref="ApiKeyActorSettings.FlushInterval"/>, and before a graceful stop. A crash loses at most the
/// spend not yet written (about one flush window); revocations and definitions are never in that window.</item>
/// <item>Bucket levels and in-flight requests go into the snapshot taken on a graceful stop (passivation,
/// hand-off), and are restored refilled only by the wall-clock time elapsed, so moving an entity creates no
/// allowance (up to clock skew between nodes). After a crash, buckets restart from the last snapshot.</item>
/// </list>
/// Stop it with <see cref="StopEntity"/> (the shard region's hand-off stop message), not PoisonPill, or the
/// final flush and snapshot are skipped.
/// </summary>
public sealed class ApiKeyActor : ReceivePersistentActor, IWithTimers
{
    private const string FlushTimer = "flush";
    private const string StopTimer = "stop";

    private readonly ApiKeyId _keyId;
    private readonly TimeProvider _clock;
    private readonly ApiKeyActorSettings _settings;
    private readonly long _origin;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Lease> _inFlight = new(StringComparer.Ordinal);
    // Spend batches applied in memory and handed to Akka.Persistence, not yet confirmed written.
    private readonly Queue<SpendRecorded> _unconfirmed = new();
    private PendingSpend _pending = PendingSpend.Empty;

    private KeyUpserted? _key;
    private DateTimeOffset _createdAt;
    private DateTimeOffset? _revokedAt;
    private KeyRateLimiter? _limiter;
    private Budget? _budget;
    private decimal _totalSpent;
    private int _eventsSinceSnapshot;
    private long _finalSnapshotSequenceNr = long.MaxValue;

    public ApiKeyActor(string keyId, TimeProvider clock, ApiKeyActorSettings settings)
    {
        _keyId = new ApiKeyId(keyId);
        _clock = clock;
        _settings = settings;
        _origin = clock.GetTimestamp();
        PersistenceId = $"apikey-{keyId}";

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ApiKeySnapshot snapshot)
            {
                ApplySnapshot(snapshot);
            }
        });
        Recover<KeyUpserted>(ApplyUpsert);
        Recover<KeyRevoked>(e => _revokedAt = e.At);
        Recover<SpendRecorded>(ApplySpend);
        Recover<RecoveryCompleted>(_ =>
        {
            Context.SetReceiveTimeout(_settings.IdleTimeout);
            if (_revokedAt is not null)
            {
                Become(Revoked);
            }
            else if (_key is not null)
            {
                Become(Active);
            }
        });

        Unknown();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the entity with id <paramref name="keyId"/> (the sharding entity id).</summary>
    public static Props Props(string keyId, TimeProvider clock, ApiKeyActorSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new ApiKeyActor(keyId, clock, settings ?? ApiKeyActorSettings.Default));

    /// <summary>The entity props factory that sharding wants.</summary>
    public static Func<string, Props> PropsFactory(TimeProvider clock, ApiKeyActorSettings? settings = null) =>
        entityId => Props(entityId, clock, settings);

    /// <summary>Monotonic TimeSpan ticks since this incarnation started; intervals never use the wall clock.</summary>
    private long NowTicks => _clock.GetElapsedTime(_origin).Ticks;

    // --- Behaviours ---------------------------------------------------------------------------------------

    private void Unknown()
    {
        Command<Admit>(m => Sender.Tell(Refusal(m, AdmitRefusal.UnknownKey, null)));
        Command<Upsert>(HandleUpsert);
        Command<Revoke>(_ => Sender.Tell(KeyState.NotFound(_keyId)));
        Command<Complete>(_ => _log.Warning("Completion for unknown key {0} ignored", _keyId));
        Command<Abort>(_ => { });
        Common();
    }

    private void Active()
    {
        Command<Admit>(HandleAdmit);
        Command<Upsert>(HandleUpsert);
        Command<Revoke>(HandleRevoke);
        Command<Complete>(HandleComplete);
        Command<Abort>(HandleAbort);
        Common();
    }

    private void Revoked()
    {
        Command<Admit>(m => Sender.Tell(Refusal(m, AdmitRefusal.Revoked, null)));
        Command<Upsert>(_ => Sender.Tell(State())); // revocation is permanent: issue a new key instead
        Command<Revoke>(_ => Sender.Tell(State()));
        // Requests admitted before the revocation still finish, and their spend still counts.
        Command<Complete>(HandleComplete);
        Command<Abort>(HandleAbort);
        Common();
    }

    private void Common()
    {
        Command<GetState>(_ => Sender.Tell(State()));
        Command<FlushTick>(_ => Flush());
        Command<ReceiveTimeout>(_ => OnIdle());
        Command<StopEntity>(_ => BeginStop());
        Command<SaveSnapshotSuccess>(s => OnSnapshotSaved(s.Metadata));
        Command<SaveSnapshotFailure>(f => _log.Warning("Snapshot of key {0} failed: {1}", _keyId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("Deleting old snapshots of key {0} failed: {1}", _keyId, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("Deleting old events of key {0} failed: {1}", _keyId, f.Cause.Message));
    }

    private void Stopping()
    {
        // A periodic snapshot's answer can still arrive here: only the final one (or a later one) ends the actor.
        Command<SaveSnapshotSuccess>(s =>
        {
            if (s.Metadata.SequenceNr >= _finalSnapshotSequenceNr)
            {
                Context.Stop(Self);
            }
        });
        Command<SaveSnapshotFailure>(f =>
        {
            if (f.Metadata.SequenceNr >= _finalSnapshotSequenceNr)
            {
                _log.Warning("Final snapshot of key {0} failed: {1}", _keyId, f.Cause.Message);
                Context.Stop(Self);
            }
        });
        Command<StopTimeoutTick>(_ =>
        {
            _log.Warning("Key {0} stopped before its final snapshot was confirmed", _keyId);
            Context.Stop(Self);
        });
        // Nothing should arrive (the shard buffers during passivation and hand-off); if something does, a
        // reply would be decided on state already written to the snapshot, so hold it instead.
        CommandAny(_ => Stash.Stash());
    }

    // --- Commands -----------------------------------------------------------------------------------------

    private void HandleAdmit(Admit m)
    {
        var (key, limiter, budget) = (_key!, _limiter!, _budget!);
        var now = NowTicks;
        var wall = _clock.GetUtcNow();

        if (m.KeyHash is not null && !string.Equals(m.KeyHash, key.KeyHash, StringComparison.OrdinalIgnoreCase))
        {
            Sender.Tell(Refusal(m, AdmitRefusal.UnknownKey, null, now));
            return;
        }

        if (!ModelAllowList.Allows(key.Models, m.Model) && (m.ModelNames is null || !m.ModelNames.Any(n => ModelAllowList.Allows(key.Models, n))))
        {
            Sender.Tell(Refusal(m, AdmitRefusal.ModelNotAllowed, null, now));
            return;
        }

        if (budget.IsExhausted(wall))
        {
            var retryAfter = budget.ResetsAt(wall) is { } resetsAt ? resetsAt - wall : (TimeSpan?)null;
            Sender.Tell(Refusal(m, AdmitRefusal.BudgetExhausted, retryAfter, now));
            return;
        }

        if (_inFlight.ContainsKey(m.RequestId))
        {
            // A re-sent Admit (the asker retried) must not take a second slot.
            Sender.Tell(Result(m, new AdmitDecision(true, null, null, limiter.RequestStatus(now), limiter.TokenStatus(now))));
            return;
        }

        if (limiter.InFlight >= limiter.Limits.MaxConcurrent)
        {
            ExpireLeases(now);
        }

        var estimate = Math.Max(0, m.EstimatedTokens);
        var decision = limiter.Admit(now, estimate);
        if (decision.Admitted)
        {
            _inFlight[m.RequestId] = new Lease(estimate, now);
        }

        Sender.Tell(Result(m, decision));
    }

    private void HandleComplete(Complete m)
    {
        var now = NowTicks;
        var actual = Math.Max(0, m.ActualTokens);
        if (_inFlight.Remove(m.RequestId, out var lease))
        {
            _limiter!.Complete(now, lease.EstimatedTokens, actual);
        }
        else
        {
            // Admitted by an earlier incarnation, or its lease expired: settle tokens, no slot to free.
            _limiter!.Reconcile(now, Math.Max(0, m.EstimatedTokens), actual);
        }

        RecordSpend(Math.Max(0m, m.CostUsd), actual);
    }

    private void HandleAbort(Abort m)
    {
        var now = NowTicks;
        if (_inFlight.Remove(m.RequestId, out var lease))
        {
            _limiter!.Abort(now, lease.EstimatedTokens);
        }
        else
        {
            _limiter!.Reconcile(now, Math.Max(0, m.EstimatedTokens), 0);
        }
    }

    private void HandleUpsert(Upsert m)
    {
        // An update of an existing key (admin PATCH) does not know the hash: an empty one keeps the stored hash.
        if (_key is not null && m.KeyHash.Length == 0) m = m with { KeyHash = _key.KeyHash };
        if (ValidateUpsert(m) is { } error)
        {
            Sender.Tell(new Status.Failure(new ArgumentException(error)));
            return;
        }

        if (_key is not null && SameDefinition(_key, m))
        {
            Sender.Tell(State());
            return;
        }

        var sender = Sender;
        var created = _key is null;
        var upserted = new KeyUpserted(
            _keyId, m.Name, m.KeyHash.ToLowerInvariant(), m.Rpm, m.Tpm, m.MaxConcurrent, m.BudgetUsd, m.BudgetPeriod,
            m.Models.ToArray(), m.Source, _clock.GetUtcNow());
        Persist(upserted, e =>
        {
            ApplyUpsert(e);
            if (created)
            {
                _log.Info("Key {0} ({1}) created", _keyId, e.Name);
                Become(Active);
            }

            AfterEventPersisted();
            sender.Tell(State());
        });
    }

    private void HandleRevoke(Revoke m)
    {
        var sender = Sender;
        Persist(new KeyRevoked(_keyId, _clock.GetUtcNow()), e =>
        {
            _revokedAt = e.At;
            _log.Info("Key {0} revoked", _keyId);
            Become(Revoked);
            AfterEventPersisted();
            sender.Tell(State());
        });
    }

    private void OnIdle()
    {
        ExpireLeases(NowTicks);
        if (_inFlight.Count == 0)
        {
            // The shard answers by sending StopEntity, buffering this key's messages until we are gone.
            Context.Parent.Tell(new Passivate(StopEntity.Instance));
        }
    }

    private void BeginStop()
    {
        Context.SetReceiveTimeout(null);
        if (_key is null)
        {
            Context.Stop(Self);
            return;
        }

        Become(Stopping);
        Timers.StartSingleTimer(StopTimer, StopTimeoutTick.Instance, _settings.StopTimeout);
        if (_pending.Requests > 0)
        {
            PersistAsync(ClosePendingBatch(), OnSpendPersisted);
        }

        // Spend batches may still wait inside Akka.Persistence for an earlier write to finish; stopping now
        // would drop them. DeferAsync runs after every earlier PersistAsync handler, so the snapshot's
        // sequence number covers all spend.
        DeferAsync(StopEntity.Instance, _ =>
        {
            _finalSnapshotSequenceNr = SnapshotSequenceNr;
            SaveSnapshot(BuildSnapshot());
        });
    }

    // --- Spend --------------------------------------------------------------------------------------------

    private void RecordSpend(decimal costUsd, int tokens)
    {
        var wall = _clock.GetUtcNow();
        var budget = _budget!;
        // A batch never spans two budget periods: replay dates the whole batch by its last completion.
        if (_pending.Requests > 0 && _pending.PeriodStart != Budget.StartOf(budget.Period, wall))
        {
            Flush();
        }

        budget.Record(costUsd, wall);
        _totalSpent += costUsd;
        _pending = _pending.Add(costUsd, tokens, wall, budget.PeriodStart);

        if (_pending.Requests >= _settings.FlushEveryCompletions)
        {
            Flush();
        }
        else if (!Timers.IsTimerActive(FlushTimer))
        {
            Timers.StartSingleTimer(FlushTimer, FlushTick.Instance, _settings.FlushInterval);
        }
    }

    private void Flush()
    {
        if (_pending.Requests == 0)
        {
            return;
        }

        // PersistAsync: admissions keep flowing while the batch is written. The spend is already applied,
        // so the handler only does bookkeeping.
        PersistAsync(ClosePendingBatch(), e =>
        {
            OnSpendPersisted(e);
            AfterEventPersisted();
        });
    }

    private SpendRecorded ClosePendingBatch()
    {
        Timers.Cancel(FlushTimer);
        var batch = new SpendRecorded(_keyId, _pending.CostUsd, _pending.Requests, _pending.Tokens, _pending.LastAt);
        _pending = PendingSpend.Empty;
        _unconfirmed.Enqueue(batch);
        return batch;
    }

    private void OnSpendPersisted(SpendRecorded e) => _unconfirmed.Dequeue();

    // --- Snapshots ----------------------------------------------------------------------------------------

    private void AfterEventPersisted()
    {
        if (++_eventsSinceSnapshot >= _settings.SnapshotEvery)
        {
            _eventsSinceSnapshot = 0;
            SaveSnapshot(BuildSnapshot());
        }
    }

    private void OnSnapshotSaved(SnapshotMetadata metadata)
    {
        // The snapshot holds everything up to its sequence number, so older snapshots and events only cost
        // storage (spend batches pile up fast on a busy key). The newest event stays: with none left the key's
        // persistence id drops out of the journal's persistence-id query, and the admin key list reads that query.
        DeleteSnapshots(new SnapshotSelectionCriteria(metadata.SequenceNr - 1));
        DeleteMessages(metadata.SequenceNr - 1);
    }

    private ApiKeySnapshot BuildSnapshot()
    {
        var now = NowTicks;
        var wall = _clock.GetUtcNow();
        var budget = _budget!;
        var spent = budget.Spent(wall);
        var total = _totalSpent;
        // The snapshot must describe the journal up to its sequence number: spend not yet written there is
        // replayed from its own event later, so leave it out here.
        foreach (var batch in _unconfirmed.Append(_pending.ToEvent(_keyId)))
        {
            total -= batch.CostUsd;
            if (batch.At >= budget.PeriodStart)
            {
                spent -= batch.CostUsd;
            }
        }

        var limiter = _limiter!.Export(now);
        return new ApiKeySnapshot(
            _key!,
            _createdAt,
            _revokedAt,
            spent,
            budget.PeriodStart,
            total,
            ToLevel(limiter.Requests, now),
            ToLevel(limiter.Tokens, now),
            _inFlight.Select(r => new InFlightRequest(r.Key, r.Value.EstimatedTokens, wall - TimeSpan.FromTicks(now - r.Value.AdmittedTicks))).ToArray(),
            wall);
    }

    private static BucketLevel? ToLevel(TokenBucketState? state, long nowTicks) =>
        state is { } s ? new BucketLevel(s.Level, nowTicks - s.LastRefillTicks) : null;

    // --- Applying state -----------------------------------------------------------------------------------

    private void ApplySnapshot(ApiKeySnapshot s)
    {
        var now = NowTicks;
        var wall = _clock.GetUtcNow();
        // Refill by the time that really passed while nobody owned the buckets; never negative.
        var away = Math.Max(0, (wall - s.TakenAt).Ticks);

        _key = s.Key;
        _createdAt = s.CreatedAt;
        _revokedAt = s.RevokedAt;
        _totalSpent = s.TotalSpentUsd;
        _budget = Budget.Restore(s.Key.BudgetUsd, s.Key.BudgetPeriod, s.SpentUsd, s.BudgetPeriodStart);
        _inFlight.Clear();
        foreach (var r in s.InFlight)
        {
            _inFlight[r.RequestId] = new Lease(r.EstimatedTokens, now - Math.Max(0, (wall - r.AdmittedAt).Ticks));
        }

        TokenBucketState? Bucket(BucketLevel? level) =>
            level is null ? null : new TokenBucketState(level.Level, now - away - level.RefillOffsetTicks);
        _limiter = KeyRateLimiter.Restore(
            LimitsOf(s.Key), new KeyRateLimiterState(Bucket(s.Requests), Bucket(s.Tokens), _inFlight.Count), now);
    }

    private void ApplyUpsert(KeyUpserted e)
    {
        var now = NowTicks;
        if (_key is null || _limiter is null || _budget is null)
        {
            _createdAt = e.At;
            _limiter = new KeyRateLimiter(LimitsOf(e), now);
            _budget = new Budget(e.BudgetUsd, e.BudgetPeriod, e.At);
        }
        else
        {
            _limiter.Reconfigure(LimitsOf(e), now);
            _budget.Reconfigure(e.BudgetUsd, e.BudgetPeriod, e.At);
        }

        _key = e;
    }

    private void ApplySpend(SpendRecorded e)
    {
        _budget?.Record(e.CostUsd, e.At);
        _totalSpent += e.CostUsd;
    }

    /// <summary>Frees slots of requests whose Complete/Abort never came (their node died).</summary>
    private void ExpireLeases(long now)
    {
        var expired = _inFlight.Where(r => now - r.Value.AdmittedTicks >= _settings.InFlightLease.Ticks).ToList();
        foreach (var (requestId, lease) in expired)
        {
            _inFlight.Remove(requestId);
            _limiter!.Complete(now, lease.EstimatedTokens, lease.EstimatedTokens); // usage unknown: keep the estimate
        }

        if (expired.Count > 0)
        {
            _log.Warning("Key {0}: {1} in-flight request(s) never completed; their slots were released", _keyId, expired.Count);
        }
    }

    // --- Replies ------------------------------------------------------------------------------------------

    private KeyState State()
    {
        if (_key is not { } key || _limiter is null || _budget is null)
        {
            return KeyState.NotFound(_keyId);
        }

        var now = NowTicks;
        var wall = _clock.GetUtcNow();
        return new KeyState(
            _keyId, true, key.Name, key.Source, key.Rpm, key.Tpm, key.MaxConcurrent,
            _limiter.RequestStatus(now)?.Remaining, _limiter.Export(now).Tokens?.Level,
            _limiter.InFlight, key.BudgetUsd, key.BudgetPeriod, _budget.Spent(wall), _totalSpent, _budget.ResetsAt(wall),
            _revokedAt is not null, _revokedAt, key.Models, _createdAt, key.At);
    }

    private AdmitResult Refusal(Admit m, AdmitRefusal reason, TimeSpan? retryAfter, long? nowTicks = null)
    {
        var now = nowTicks ?? NowTicks;
        return new AdmitResult(
            _keyId, m.RequestId, false, reason, retryAfter is { } r ? CeilMs(r) : null,
            Info(_limiter?.RequestStatus(now)), Info(_limiter?.TokenStatus(now)));
    }

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
        return new AdmitResult(_keyId, m.RequestId, d.Admitted, reason, retryAfter, Info(d.Requests), Info(d.Tokens));
    }

    private static RateLimitInfo? Info(LimitStatus? s) =>
        s is { } v ? new RateLimitInfo(v.Limit, v.Remaining, CeilMs(v.ResetAfter)) : null;

    // Rounded up: a client that waits exactly this long must find the allowance there.
    private static long CeilMs(TimeSpan t) => (t.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;

    // --- Validation ---------------------------------------------------------------------------------------

    private string? ValidateUpsert(Upsert m)
    {
        if (m.KeyId != _keyId)
        {
            return "Upsert routed to the wrong key";
        }

        if (!ApiKeyHash.IsValid(m.KeyHash) || !m.KeyHash.StartsWith(_keyId.Value, StringComparison.OrdinalIgnoreCase))
        {
            return $"KeyHash must be the key's SHA-256 hex, starting with the key id {_keyId}";
        }

        if (_key is not null && !string.Equals(_key.KeyHash, m.KeyHash, StringComparison.OrdinalIgnoreCase))
        {
            return $"Another key already has id {_keyId}";
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

    // --- Messages -----------------------------------------------------------------------------------------

    /// <summary>
    /// Graceful stop: flush spend, snapshot buckets, then stop. Use it as the shard region's hand-off stop
    /// message. Local to a node, so never serialized.
    /// </summary>
    public sealed class StopEntity : INoSerializationVerificationNeeded
    {
        public static readonly StopEntity Instance = new();

        private StopEntity()
        {
        }
    }

    private sealed class FlushTick : INoSerializationVerificationNeeded, INotInfluenceReceiveTimeout
    {
        public static readonly FlushTick Instance = new();
    }

    private sealed class StopTimeoutTick : INoSerializationVerificationNeeded, INotInfluenceReceiveTimeout
    {
        public static readonly StopTimeoutTick Instance = new();
    }

    private readonly record struct Lease(int EstimatedTokens, long AdmittedTicks);

    private readonly record struct PendingSpend(decimal CostUsd, int Requests, long Tokens, DateTimeOffset LastAt, DateTimeOffset PeriodStart)
    {
        public static readonly PendingSpend Empty = default;

        public PendingSpend Add(decimal costUsd, int tokens, DateTimeOffset at, DateTimeOffset periodStart) =>
            new(CostUsd + costUsd, Requests + 1, Tokens + tokens, at, periodStart);

        public SpendRecorded ToEvent(ApiKeyId keyId) => new(keyId, CostUsd, Requests, Tokens, LastAt);
    }
}

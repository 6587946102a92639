using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Router.Actors.Sharding;
using Router.Actors.Telemetry;
using Router.Contracts.RateLimiting;
using static Router.Contracts.RateLimiting.ApiKeyCommands;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Actors.RateLimiting;

/// <summary>
/// The one place a virtual key's limits and budget live (sharded by key id), which is what makes them exact
/// across nodes. A thin journal owner of <see cref="ApiKeyState"/>, which holds every rule; this actor persists
/// what the state decides, applies it once written, answers, and runs the timers.
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

    private ApiKeyState _state;
    private int _eventsSinceSnapshot;
    private long _finalSnapshotSequenceNr = long.MaxValue;

    public ApiKeyActor(string keyId, TimeProvider clock, ApiKeyActorSettings settings)
    {
        _keyId = new ApiKeyId(keyId);
        _clock = clock;
        _settings = settings;
        _origin = clock.GetTimestamp();
        _state = ApiKeyState.Empty(_keyId, settings);
        PersistenceId = $"apikey-{keyId}";

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ApiKeySnapshot snapshot)
            {
                _state = ApiKeyState.FromSnapshot(_keyId, snapshot, Now, _settings);
            }
        });
        Recover<KeyUpserted>(e => _state = _state.Apply(e));
        Recover<KeyRevoked>(e => _state = _state.Apply(e));
        Recover<SpendRecorded>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => Context.SetReceiveTimeout(_settings.IdleTimeout));

        Running();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the entity with id <paramref name="keyId"/> (the sharding entity id).</summary>
    public static Props Props(string keyId, TimeProvider clock, ApiKeyActorSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new ApiKeyActor(keyId, clock, settings ?? ApiKeyActorSettings.Default));

    /// <summary>The entity props factory that sharding wants.</summary>
    public static Func<string, Props> PropsFactory(TimeProvider clock, ApiKeyActorSettings? settings = null) =>
        entityId => Props(entityId, clock, settings);

    /// <summary>Monotonic TimeSpan ticks since this incarnation started (intervals never use the wall clock), and the wall clock.</summary>
    private Moment Now => new(_clock.GetElapsedTime(_origin).Ticks, _clock.GetUtcNow());

    // --- Behaviours ---------------------------------------------------------------------------------------
    // Whether the key is unknown, active or revoked is the state's business (its rules differ per status);
    // the actor's behaviours are its own modes: running, and stopping once the final snapshot is under way.

    private void Running()
    {
        Command<Admit>(m =>
        {
            // A child of the request's span, sent along with the ask: the trace crosses to this node.
            using var span = RouterActivity.StartChildOf(m.TraceParent, TelemetryNames.AdmissionSpan);
            var decision = _state.Decide(m, Now);
            if (span is not null && decision.Reply is AdmitResult result)
            {
                span.SetTag(TelemetryNames.KeyId, m.KeyId.Value);
                span.SetTag(TelemetryNames.Admitted, result.Admitted);
                if (!result.Admitted) span.SetTag(TelemetryNames.Refusal, result.Refusal.ToString());
            }
            if (decision.LeasesExpired > 0)
            {
                _log.Warning("Key {0}: {1} in-flight request(s) never completed; their slots were released", _keyId, decision.LeasesExpired);
            }

            Sender.Tell(decision.Reply);
        });
        Command<Upsert>(m => PersistDefinition(_state.Decide(m, Now)));
        Command<Revoke>(m => PersistDefinition(_state.Decide(m, Now)));
        Command<Complete>(m =>
        {
            if (!_state.Exists)
            {
                _log.Warning("Completion for unknown key {0} ignored", _keyId);
            }

            PersistSpend(_state.Decide(m, Now));
        });
        Command<Abort>(m => _state.Decide(m, Now));
        Command<GetState>(_ => Sender.Tell(_state.View(Now)));
        Command<FlushTick>(_ => PersistSpend(_state.CloseSpendBatch()));
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

    // --- Persistence --------------------------------------------------------------------------------------

    /// <summary>Create, update, revoke: written before they take effect and before they are answered.</summary>
    private void PersistDefinition(ApiKeyDecision decision)
    {
        var (reply, events) = decision;
        if (events.Count == 0)
        {
            Sender.Tell(reply is Exception error ? new Status.Failure(error) : reply);
            return;
        }

        var sender = Sender;
        var unwritten = events.Count; // the handler may get a copy of the event (the journal's), so count them
        PersistAll(events, e =>
        {
            var created = !_state.Exists;
            _state = _state.Apply(e);
            if (created)
            {
                _log.Info("Key {0} ({1}) created", _keyId, _state.Key!.Name);
            }
            else if (e is KeyRevoked)
            {
                _log.Info("Key {0} revoked", _keyId);
            }

            AfterEventPersisted();
            if (--unwritten == 0)
            {
                sender.Tell(reply ?? _state.View(Now));
            }
        });
    }

    /// <summary>
    /// Spend batches. PersistAsync: admissions keep flowing while a batch is written; the spend already counts
    /// in memory, and applying the written event only moves it to the written figures.
    /// </summary>
    private void PersistSpend(ApiKeyDecision decision)
    {
        if (decision.Events.Count > 0)
        {
            Timers.Cancel(FlushTimer);
            PersistAllAsync(decision.Events, e =>
            {
                _state = _state.Apply(e);
                AfterEventPersisted();
            });
        }

        if (_state.HasUnwrittenSpend && !Timers.IsTimerActive(FlushTimer))
        {
            Timers.StartSingleTimer(FlushTimer, FlushTick.Instance, _settings.FlushInterval);
        }
    }

    private void AfterEventPersisted()
    {
        if (++_eventsSinceSnapshot >= _settings.SnapshotEvery)
        {
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot(Now));
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

    // --- Lifecycle ----------------------------------------------------------------------------------------

    private void OnIdle()
    {
        var expired = _state.ExpireLeases(Now.Ticks);
        if (expired > 0)
        {
            _log.Warning("Key {0}: {1} in-flight request(s) never completed; their slots were released", _keyId, expired);
        }

        if (_state.InFlight == 0)
        {
            // The shard answers by sending StopEntity, buffering this key's messages until we are gone.
            Context.Parent.Tell(new Passivate(StopEntity.Instance));
        }
    }

    private void BeginStop()
    {
        Context.SetReceiveTimeout(null);
        if (!_state.Exists)
        {
            Context.Stop(Self);
            return;
        }

        Become(Stopping);
        Timers.StartSingleTimer(StopTimer, StopTimeoutTick.Instance, _settings.StopTimeout);
        var final = _state.CloseSpendBatch();
        if (final.Events.Count > 0)
        {
            Timers.Cancel(FlushTimer);
            PersistAllAsync(final.Events, e => _state = _state.Apply(e));
        }

        // Spend batches may still wait inside Akka.Persistence for an earlier write to finish; stopping now
        // would drop them. DeferAsync runs after every earlier PersistAsync handler, so the snapshot's
        // sequence number covers all spend.
        DeferAsync(StopEntity.Instance, _ =>
        {
            _finalSnapshotSequenceNr = SnapshotSequenceNr;
            SaveSnapshot(_state.ToSnapshot(Now));
        });
    }

    // --- Messages -----------------------------------------------------------------------------------------

    private sealed class FlushTick : INoSerializationVerificationNeeded, INotInfluenceReceiveTimeout
    {
        public static readonly FlushTick Instance = new();
    }

    private sealed class StopTimeoutTick : INoSerializationVerificationNeeded, INotInfluenceReceiveTimeout
    {
        public static readonly StopTimeoutTick Instance = new();
    }
}

using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Router.Contracts.Breakers;

namespace Router.Actors.Upstreams;

/// <summary>
/// One per node: shares provider-key health across the cluster, so a key the provider throttled (429) or revoked
/// (401/403) on one node is rested on every node. Publishes what the local dispatch reports and applies what other
/// nodes publish to this node's <see cref="ProviderKeyPool"/>s.
/// </summary>
/// <remarks>
/// Cooldowns travel as remaining durations and are rebuilt on <c>clock.GetElapsedTime(0)</c> ticks, which must be
/// the clock the dispatch passes to the pools. Its own publications come back through the topic and are skipped
/// (pub-sub keeps the publisher as sender): re-applying them would stretch the cooldown by the round trip.
/// </remarks>
public sealed class ProviderKeyStatusSync : ReceiveActor
{
    private readonly IReadOnlyDictionary<string, ProviderKeyPool> _pools;
    private readonly TimeProvider _clock;
    private readonly IActorRef _mediator;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ProviderKeyStatusSync(IReadOnlyDictionary<string, ProviderKeyPool> pools, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(clock);
        _pools = pools;
        _clock = clock;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;

        Receive<Announce>(Publish);
        Receive<ProviderKeyEvents.StatusChanged>(ApplyRemote);
        Receive<SubscribeAck>(_ => _log.Debug("Subscribed to {Topic}", ProviderKeyEvents.Topic));
    }

    public static Props Props(IReadOnlyDictionary<string, ProviderKeyPool> pools, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new ProviderKeyStatusSync(pools, clock));

    protected override void PreStart() => _mediator.Tell(new Subscribe(ProviderKeyEvents.Topic, Self));

    private long Now => _clock.GetElapsedTime(0).Ticks;

    private void Publish(Announce announce)
    {
        var status = announce.Status;
        var remaining = status.CooldownRemaining(Now);
        var changed = new ProviderKeyEvents.StatusChanged(
            status.Provider,
            status.KeyId,
            // Rounded up so a cooldown never arrives shorter than it is.
            remaining is { } r ? (long)Math.Ceiling(r.TotalMilliseconds) : null,
            status.Disabled);
        _mediator.Tell(new Publish(ProviderKeyEvents.Topic, changed), Self);
    }

    private void ApplyRemote(ProviderKeyEvents.StatusChanged changed)
    {
        if (Sender.Equals(Self) || !_pools.TryGetValue(changed.Provider, out var pool))
        {
            return;
        }

        TimeSpan? remaining = changed.CooldownRemainingMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        if (pool.ApplyRemote(changed.KeyId, remaining, changed.Disabled, Now))
        {
            _log.Info("Provider key {Provider}/{KeyId} updated from another node: cooldown {CooldownMs} ms, disabled {Disabled}",
                changed.Provider, changed.KeyId, changed.CooldownRemainingMs ?? 0, changed.Disabled);
        }
    }

    /// <summary>
    /// Told by the local dispatch with the status a pool returned from <see cref="ProviderKeyPool.ReportRateLimited"/>
    /// or <see cref="ProviderKeyPool.ReportAuthFailure"/> (when not null). Local only: it carries this node's ticks.
    /// </summary>
    public sealed record Announce(ProviderKeyStatus Status);
}

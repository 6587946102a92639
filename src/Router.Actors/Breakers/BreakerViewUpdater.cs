using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Router.Contracts.Breakers;

namespace Router.Actors.Breakers;

/// <summary>
/// One per node: keeps the node's <see cref="BreakerView"/> current from the breakers' published state changes,
/// which is how the hot path learns of a breaker opened by failures seen on other nodes without asking
/// (design rule 1).
/// </summary>
/// <remarks>
/// Remaining durations are turned into ticks of <c>clock.GetElapsedTime(0)</c>, so the hot path must pass the
/// same clock's ticks to <see cref="BreakerView.IsAvailable(string, long)"/>. A node that joins later misses
/// earlier publications; an unknown breaker reads as available, which fails safe towards serving traffic.
/// </remarks>
public sealed class BreakerViewUpdater : ReceiveActor
{
    private readonly BreakerView _view;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public BreakerViewUpdater(BreakerView view, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(clock);
        _view = view;
        _clock = clock;

        Receive<BreakerEvents.StateChanged>(Apply);
        Receive<SubscribeAck>(_ => _log.Debug("Subscribed to {Topic}", BreakerEvents.Topic));
    }

    public static Props Props(BreakerView view, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new BreakerViewUpdater(view, clock));

    protected override void PreStart() =>
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(BreakerEvents.Topic, Self));

    private void Apply(BreakerEvents.StateChanged changed)
    {
        // A status this node does not know (a newer node's) is ignored rather than guessed: unknown reads as available.
        if (!Enum.TryParse<BreakerStatus>(changed.Status, ignoreCase: false, out var status) || !Enum.IsDefined(status))
        {
            _log.Warning("Ignoring breaker state {Status} for {DeploymentId}: unknown status", changed.Status, changed.DeploymentId);
            return;
        }

        TimeSpan? remaining = changed.RemainingOpenMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        _view.Apply(BreakerSnapshot.FromRemaining(changed.DeploymentId, status, remaining, _clock.GetElapsedTime(0).Ticks));
    }
}

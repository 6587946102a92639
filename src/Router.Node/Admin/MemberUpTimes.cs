using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;

namespace Router.Node.Admin;

/// <summary>
/// When this node saw each member become Up. Akka's <see cref="Member"/> carries no timestamp, so
/// <c>routerctl cluster show</c> can only say "up since" for members that came up while this node was watching;
/// members that were Up before it joined have no entry (the admin service then omits the field).
/// </summary>
public sealed class MemberUpTimes
{
    private readonly ConcurrentDictionary<UniqueAddress, DateTimeOffset> _upSince = new();

    public void MarkUp(UniqueAddress member, DateTimeOffset at) => _upSince.TryAdd(member, at);

    public void Forget(UniqueAddress member) => _upSince.TryRemove(member, out _);

    public DateTimeOffset? UpSince(UniqueAddress member) => _upSince.TryGetValue(member, out var at) ? at : null;
}

/// <summary>Keeps <see cref="MemberUpTimes"/> current from cluster membership events.</summary>
public sealed class MemberUpTracker : ReceiveActor
{
    private readonly Cluster _cluster = Cluster.Get(Context.System);

    public MemberUpTracker(MemberUpTimes times, TimeProvider clock)
    {
        Receive<ClusterEvent.CurrentClusterState>(s =>
        {
            // Started with the node: if this node is already Up, it became so moments ago. Others' times are unknown.
            foreach (var m in s.Members)
                if (m.Status == MemberStatus.Up && m.UniqueAddress.Equals(_cluster.SelfUniqueAddress))
                    times.MarkUp(m.UniqueAddress, clock.GetUtcNow());
        });
        Receive<ClusterEvent.MemberUp>(e => times.MarkUp(e.Member.UniqueAddress, clock.GetUtcNow()));
        Receive<ClusterEvent.MemberRemoved>(e => times.Forget(e.Member.UniqueAddress));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
    }

    public static Props Props(MemberUpTimes times, TimeProvider clock) => Akka.Actor.Props.Create(() => new MemberUpTracker(times, clock));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);
}

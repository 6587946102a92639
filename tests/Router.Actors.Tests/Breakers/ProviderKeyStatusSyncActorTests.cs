using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Upstreams;
using Router.Contracts.Breakers;
using Xunit.Abstractions;

namespace Router.Actors.Tests.Breakers;

/// <remarks>Lives under Breakers/ because it is part of the same failover-sharing work and its test filter.</remarks>
public sealed class ProviderKeyStatusSyncActorTests : SingleNodeClusterTestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _clock = new();
    private readonly ProviderKeyPool _pool = new("openai", [new ProviderKeySpec("a"), new ProviderKeySpec("b"), new ProviderKeySpec("c")]);
    private readonly ProviderKeyPool _barrierPool = new("barrier", [new ProviderKeySpec("x")]);
    private readonly IActorRef _sync;
    private int _barriers;

    public ProviderKeyStatusSyncActorTests(ITestOutputHelper output) : base(output)
    {
        var pools = new Dictionary<string, ProviderKeyPool> { ["openai"] = _pool, ["barrier"] = _barrierPool };
        _sync = Sys.ActorOf(ProviderKeyStatusSync.Props(pools, _clock));
    }

    private long NowTicks => _clock.GetElapsedTime(0).Ticks;

    private ProviderKeyStatus Status(string keyId) => _pool.Snapshot(NowTicks).Single(s => s.KeyId == keyId);

    // Sent by the test actor, as another node's sync would be: a different sender than the local sync.
    private void PublishRemote(ProviderKeyEvents.StatusChanged changed) =>
        Mediator.Tell(new Publish(ProviderKeyEvents.Topic, changed), TestActor);

    /// <summary>
    /// Publishes until applied (the sync's subscription is registered asynchronously), then waits for one more
    /// publication, so no repeat still in flight can land after the test moves on (e.g. after the clock moved).
    /// </summary>
    private void PublishRemoteUntil(ProviderKeyEvents.StatusChanged changed, Action applied)
    {
        AwaitAssert(() =>
        {
            PublishRemote(changed);
            applied();
        }, Wait, TimeSpan.FromMilliseconds(50));

        // Each barrier lengthens the barrier key's cooldown, so its arrival is visible.
        var before = _barrierPool.Snapshot(NowTicks)[0].CooldownUntilTicks;
        PublishRemote(new ProviderKeyEvents.StatusChanged("barrier", "x", 1_000_000_000 + ++_barriers, false));
        AwaitAssert(() => Assert.NotEqual(before, _barrierPool.Snapshot(NowTicks)[0].CooldownUntilTicks), Wait);
    }

    private string? Pick()
    {
        var lease = _pool.TryAcquire(NowTicks, 0);
        if (lease is not null)
        {
            _pool.Release(lease, NowTicks);
        }

        return lease?.KeyId;
    }

    [Fact]
    public void A_remote_cooldown_makes_the_local_pool_skip_the_key_until_it_ends()
    {
        Assert.Equal("a", Pick());

        PublishRemoteUntil(new ProviderKeyEvents.StatusChanged("openai", "a", 10_000, false),
            () => Assert.NotNull(Status("a").CooldownUntilTicks));

        Assert.Equal(TimeSpan.FromSeconds(10), Status("a").CooldownRemaining(NowTicks));
        Assert.Equal("b", Pick());
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("a", Pick());
    }

    [Fact]
    public void A_remote_disable_takes_the_key_out_of_rotation()
    {
        PublishRemoteUntil(new ProviderKeyEvents.StatusChanged("openai", "a", null, true),
            () => Assert.True(Status("a").Disabled));

        Assert.Equal("b", Pick());
    }

    [Fact]
    public void Announces_a_local_cooldown_as_the_time_remaining()
    {
        var topic = SubscribedProbe(ProviderKeyEvents.Topic);
        var status = _pool.ReportRateLimited("a", NowTicks, TimeSpan.FromSeconds(5))!;
        _clock.Advance(TimeSpan.FromSeconds(2));

        _sync.Tell(new ProviderKeyStatusSync.Announce(status));

        var published = topic.ExpectMsg<ProviderKeyEvents.StatusChanged>(Wait);
        Assert.Equal(new ProviderKeyEvents.StatusChanged("openai", "a", 3_000, false), published);
        Assert.Equal(_sync, topic.LastSender);
    }

    [Fact]
    public void Its_own_publications_are_not_applied_again()
    {
        // 1. Make sure the sync is subscribed.
        PublishRemoteUntil(new ProviderKeyEvents.StatusChanged("openai", "c", 1_000, false),
            () => Assert.NotNull(Status("c").CooldownUntilTicks));
        var topic = SubscribedProbe(ProviderKeyEvents.Topic);

        // 2. Announce a status the local pool does not have, so applying it would show.
        _sync.Tell(new ProviderKeyStatusSync.Announce(new ProviderKeyStatus("openai", "a", null, Disabled: true)));
        Assert.True(topic.ExpectMsg<ProviderKeyEvents.StatusChanged>(Wait).Disabled);

        // 3. A later remote publication reaches the sync after its own: once applied, the own one was handled.
        PublishRemote(new ProviderKeyEvents.StatusChanged("openai", "c", 5_000, false));
        AwaitAssert(() => Assert.Equal(TimeSpan.FromSeconds(5), Status("c").CooldownRemaining(NowTicks)), Wait);

        Assert.False(Status("a").Disabled);
        Assert.Equal("a", Pick());
    }
}

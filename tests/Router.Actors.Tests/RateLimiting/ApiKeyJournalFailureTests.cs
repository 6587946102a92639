using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Persistence.TestKit;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.RateLimiting;
using Router.Actors.Sharding;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using Xunit.Abstractions;
using static Router.Contracts.RateLimiting.ApiKeyCommands;

namespace Router.Actors.Tests.RateLimiting;

/// <summary>
/// Supervision of the sharded persistent key entity (docs/operations.md, Supervision): when the journal fails a
/// write or a replay, the entity stops (Akka.Persistence's rule: its state can no longer be trusted) and the
/// shard starts it again on the key's next message, recovering from the journal. The journal is
/// Akka.Persistence.TestKit's, told to fail and then to work again.
/// </summary>
public sealed class ApiKeyJournalFailureTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Config = """
        akka.loglevel = WARNING
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
        akka.cluster.sharding.passivate-idle-entity-after = off
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.test"
            test { class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit", plugin-dispatcher = "akka.actor.default-dispatcher" }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.test"
            test { class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit", plugin-dispatcher = "akka.actor.default-dispatcher" }
          }
        }
        """ + "\n" + RouterSerializer.Hocon;

    private static readonly string Hash = ApiKeyHash.Compute("sk-router-journal-failure");
    private static readonly ApiKeyId Id = ApiKeyId.FromKeyHash(Hash);

    private readonly IActorRef _region;
    private readonly ITestJournal _journal;

    public ApiKeyJournalFailureTests(ITestOutputHelper output) : base(Config, output: output)
    {
        var cluster = Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == MemberStatus.Up, TimeSpan.FromSeconds(10));
        // The shard region as the node registers it (RateLimitingHosting): remember-entities off.
        _region = ClusterSharding.Get(Sys).Start(RateLimitingHosting.ShardTypeName,
            ApiKeyActor.PropsFactory(new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero))),
            ClusterShardingSettings.Create(Sys).WithRememberEntities(false),
            new ApiKeyMessageExtractor(), ClusterSharding.Get(Sys).DefaultShardAllocationStrategy(ClusterShardingSettings.Create(Sys)),
            StopEntity.Instance);
        _journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
    }

    private static Upsert Define(int rpm) => new(Id, "journal-test", Hash, rpm, null, null, null, BudgetPeriod.Day, ["*"], KeySource.Admin);

    private KeyState Ask(IWithApiKeyId command)
    {
        _region.Tell(command);
        return ExpectMsg<KeyState>(TimeSpan.FromSeconds(10));
    }

    /// <summary>The key's entity as the shard runs it now.</summary>
    private IActorRef Entity()
    {
        Sys.ActorSelection($"/system/sharding/{RateLimitingHosting.ShardTypeName}/*/*").Tell(new Identify(Id.Value));
        var identity = ExpectMsg<ActorIdentity>(TimeSpan.FromSeconds(10));
        Assert.NotNull(identity.Subject);
        return identity.Subject;
    }

    /// <summary>Creates the key with 10 RPM, then fails the write of a change to 20 RPM: the entity stops.</summary>
    private async Task<IActorRef> StopByAFailedWriteAsync()
    {
        Assert.Equal(10, Ask(Define(rpm: 10)).Rpm);
        var entity = Entity();
        Watch(entity);
        await _journal.OnWrite.Fail();
        _region.Tell(Define(rpm: 20));
        ExpectTerminated(entity, TimeSpan.FromSeconds(10));
        await _journal.OnWrite.Pass();
        return entity;
    }

    [Fact]
    public async Task A_failed_journal_write_stops_the_entity_and_the_next_message_recovers_what_was_written()
    {
        var stopped = await StopByAFailedWriteAsync();

        var recovered = Ask(new GetState(Id));
        Assert.True(recovered.Exists);
        // The write that failed was never acknowledged and is not in the state; the one before it is.
        Assert.Equal(10, recovered.Rpm);
        Assert.NotEqual(stopped, Entity());
        Assert.Equal(30, Ask(Define(rpm: 30)).Rpm);
    }

    [Fact]
    public async Task While_the_journal_cannot_replay_the_entity_stops_and_it_recovers_once_the_journal_returns()
    {
        // Stopped by a failed write, so no snapshot was taken on the way out: the next start must replay events.
        await StopByAFailedWriteAsync();

        await _journal.OnRecovery.Fail();
        // The entity starts for this message, fails its replay and stops before anyone could watch it: the log
        // says it failed, and the shard no longer holds it.
        EventFilter.Error(contains: "replaying event").ExpectOne(TimeSpan.FromSeconds(10), () => _region.Tell(new GetState(Id)));
        AwaitAssert(() =>
        {
            _region.Tell(GetShardRegionState.Instance);
            Assert.Empty(ExpectMsg<CurrentShardRegionState>().Shards.SelectMany(shard => shard.EntityIds));
        }, TimeSpan.FromSeconds(10));

        await _journal.OnRecovery.Pass();
        var recovered = Ask(new GetState(Id));
        Assert.True(recovered.Exists);
        Assert.Equal(10, recovered.Rpm);
    }
}

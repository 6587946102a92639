using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Router.Actors.Breakers;
using Router.Contracts.Breakers;
using Xunit.Abstractions;

namespace Router.Actors.Tests.Breakers;

/// <summary>
/// Two ActorSystems forming a real cluster over Akka.Remote on 127.0.0.1: failures reported on one node open the
/// breaker in the other node's local view. Messages use the default serializer until RouterSerializer covers them.
/// </summary>
public sealed class BreakerClusterTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public BreakerClusterTests(ITestOutputHelper output) : base(ClusterTestConfig.Create(), output: output)
    {
    }

    [Fact]
    public async Task Failures_reported_on_one_node_make_the_deployment_unavailable_on_the_other()
    {
        var systemA = Sys;
        var systemB = ActorSystem.Create(Sys.Name, ClusterTestConfig.Create());
        try
        {
            // 1. Form the cluster: A joins itself, B joins A.
            var seed = Cluster.Get(systemA).SelfAddress;
            Cluster.Get(systemA).Join(seed);
            Cluster.Get(systemB).Join(seed);
            AwaitAssert(() =>
            {
                Assert.Equal(2, Cluster.Get(systemA).State.Members.Count(m => m.Status == MemberStatus.Up));
                Assert.Equal(2, Cluster.Get(systemB).State.Members.Count(m => m.Status == MemberStatus.Up));
            }, Wait);

            // 2. Each node: a breaker shard region and a local view kept by its updater.
            var settings = new BreakerSettings(3, TimeSpan.FromMinutes(10), 1);
            var (regionA, viewA) = StartNode(systemA, settings);
            var (regionB, viewB) = StartNode(systemB, settings);

            // 3. Pub-sub registrations spread by gossip: wait until each node's topic reaches the other.
            AwaitPublicationsCross(systemA, viewB, "warm-up-a-to-b");
            AwaitPublicationsCross(systemB, viewA, "warm-up-b-to-a");

            // 4. Failures seen on A only.
            var deployment = new DeploymentId("openai/gpt-4o-mini");
            for (var i = 0; i < settings.FailureThreshold; i++)
            {
                regionA.Tell(new BreakerCommands.ReportOutcome(deployment, false, "ServerError"));
            }

            AwaitAssert(() =>
            {
                Assert.False(viewB.IsAvailable(deployment.Value, NowTicks));
                Assert.False(viewA.IsAvailable(deployment.Value, NowTicks));
            }, Wait);
            var state = await regionB.Ask<BreakerEvents.StateChanged>(new BreakerCommands.GetState(deployment), Wait);
            Assert.Equal("Open", state.Status);
        }
        finally
        {
            Shutdown(systemB, Wait);
        }
    }

    private static long NowTicks => TimeProvider.System.GetElapsedTime(0).Ticks;

    private static (IActorRef Region, BreakerView View) StartNode(ActorSystem system, BreakerSettings settings)
    {
        var region = ClusterSharding.Get(system).Start(
            ModelBreakerActor.TypeName,
            id => ModelBreakerActor.Props(id, settings, TimeProvider.System),
            ClusterShardingSettings.Create(system),
            new BreakerMessageExtractor());
        var view = new BreakerView();
        system.ActorOf(BreakerViewUpdater.Props(view, TimeProvider.System), "breaker-view");
        return (region, view);
    }

    private void AwaitPublicationsCross(ActorSystem from, BreakerView to, string deploymentId)
    {
        var mediator = DistributedPubSub.Get(from).Mediator;
        AwaitAssert(() =>
        {
            mediator.Tell(new Publish(BreakerEvents.Topic, new BreakerEvents.StateChanged(deploymentId, "Open", 600_000, null, 0)));
            Assert.False(to.IsAvailable(deploymentId, NowTicks));
        }, Wait, TimeSpan.FromMilliseconds(200));
    }
}

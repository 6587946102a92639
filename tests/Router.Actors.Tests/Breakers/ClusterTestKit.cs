using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace Router.Actors.Tests.Breakers;

/// <summary>Cluster-provider configuration for actor tests: pub-sub needs a cluster, remoting binds a random local port.</summary>
internal static class ClusterTestConfig
{
    // serialize-messages: every message goes through its serializer even locally, as it would between nodes
    // (the default one until the lead registers these messages with RouterSerializer).
    public static Config Create() => ConfigurationFactory.ParseString("""
        akka {
          loglevel = WARNING
          actor {
            provider = cluster
            serialize-messages = on
          }
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
          cluster.sharding.passivate-idle-entity-after = off
        }
        """);
}

/// <summary>A TestKit whose system is a one-node cluster that joined itself, so distributed pub-sub works locally.</summary>
public abstract class SingleNodeClusterTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected SingleNodeClusterTestKit(ITestOutputHelper output)
        : base(ClusterTestConfig.Create(), output: output)
    {
        var cluster = Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == MemberStatus.Up, TimeSpan.FromSeconds(10));
    }

    protected IActorRef Mediator => DistributedPubSub.Get(Sys).Mediator;

    /// <summary>A probe that receives everything published on <paramref name="topic"/> from now on.</summary>
    protected TestProbe SubscribedProbe(string topic)
    {
        var probe = CreateTestProbe();
        Mediator.Tell(new Subscribe(topic, probe.Ref), probe.Ref);
        probe.ExpectMsg<SubscribeAck>();
        return probe;
    }
}

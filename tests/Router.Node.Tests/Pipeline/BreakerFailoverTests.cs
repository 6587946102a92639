using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Breakers;
using Router.Contracts.Breakers;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// Deployment breakers through whole nodes: a deployment that keeps failing is skipped (its fallback serves
/// without it being touched), recovers through a half-open probe on the node's fake clock, and a breaker opened by
/// one node's failures is honoured by another node of the cluster.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class BreakerFailoverTests
{
    private const int Threshold = 3;
    private const int OpenSeconds = 30;
    private const string Failing = "main/flaky";

    // "main" on provider flaky, falling back to "spare" on provider steady; one fake, scripted per provider key.
    private static JsonObject TwoModelConfig(string baseUrl) => Config(
        [Provider("flaky", baseUrl), Provider("steady", baseUrl)],
        [Model("main", "flaky", "spare"), Model("spare", "steady")],
        failureThreshold: Threshold, openSeconds: OpenSeconds);

    private static BehaviourScript FlakyScript(FakeUpstream fake) => fake.ForKey(Secret("flaky", "k"));

    [Fact]
    public async Task Failing_deployment_opens_its_breaker_the_fallback_serves_without_touching_it_and_a_half_open_probe_closes_it()
    {
        await using var fake = await FakeUpstream.StartAsync();
        FlakyScript(fake).Always(Behaviour.Status(500));
        var clock = new FakeTimeProvider();
        await using var node = await RouterTestNode.StartAsync(TwoModelConfig(fake.BaseUrl), clock: clock);

        // 1. Each failure falls over to the fallback model at once; the threshold opens the breaker.
        for (var i = 0; i < Threshold; i++)
        {
            var answer = await ChatAsync(node, "main");
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.Equal(("spare", "spare/steady", 2), (answer.Model, answer.Deployment, answer.Attempts));
        }
        await WaitForBreakerAsync(node, Failing, (state, _) => state == "Open", "Open");

        // 2. While open, the failing deployment is not even tried.
        for (var i = 0; i < 5; i++)
        {
            var answer = await ChatAsync(node, "main");
            Assert.Equal(("spare", 1), (answer.Model, answer.Attempts));
        }
        Assert.Equal(Threshold, RequestsWith(fake, "flaky", "k"));

        // 3. The deployment recovers; once the open period has passed on the node's clock a trial request reaches it.
        FlakyScript(fake).Reset();
        clock.Advance(TimeSpan.FromSeconds(OpenSeconds));
        var probe = await ChatAsync(node, "main");
        Assert.Equal(HttpStatusCode.OK, probe.Status);
        Assert.Equal(("main", "main/flaky", 1), (probe.Model, probe.Deployment, probe.Attempts));

        // 4. The probe's success closed the breaker cluster-wide; the deployment serves again.
        await WaitForBreakerAsync(node, Failing, (state, _) => state == "Closed", "Closed");
        var after = await ChatAsync(node, "main");
        Assert.Equal(("main", 1), (after.Model, after.Attempts));
        Assert.Equal(Threshold + 2, RequestsWith(fake, "flaky", "k"));
    }

    [Fact]
    public async Task Failed_half_open_probe_reopens_the_breaker_for_a_fresh_open_period()
    {
        await using var fake = await FakeUpstream.StartAsync();
        FlakyScript(fake).Always(Behaviour.Status(503));
        var clock = new FakeTimeProvider();
        await using var node = await RouterTestNode.StartAsync(TwoModelConfig(fake.BaseUrl), clock: clock);

        for (var i = 0; i < Threshold; i++) await ChatAsync(node, "main");
        await WaitForBreakerAsync(node, Failing, (state, _) => state == "Open", "Open");

        // The probe fails: the client is still served by the fallback, and the breaker opens again for 30 s more.
        clock.Advance(TimeSpan.FromSeconds(OpenSeconds));
        var probe = await ChatAsync(node, "main");
        Assert.Equal(HttpStatusCode.OK, probe.Status);
        Assert.Equal(("spare", 2), (probe.Model, probe.Attempts));
        Assert.Equal(Threshold + 1, RequestsWith(fake, "flaky", "k"));
        await WaitForBreakerAsync(node, Failing, (state, halfOpenInMs) => state == "Open" && halfOpenInMs > 0, "re-opened");

        clock.Advance(TimeSpan.FromSeconds(OpenSeconds - 1));
        Assert.Equal("spare", (await ChatAsync(node, "main")).Model);
        Assert.Equal(Threshold + 1, RequestsWith(fake, "flaky", "k"));

        FlakyScript(fake).Reset();
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("main", (await ChatAsync(node, "main")).Model);
    }

    [Fact]
    public async Task Open_published_by_an_owner_since_lost_is_honoured_until_due_then_replaced_by_closed()
    {
        await using var fake = await FakeUpstream.StartAsync();
        var clock = new FakeTimeProvider();
        await using var node = await RouterTestNode.StartAsync(TwoModelConfig(fake.BaseUrl), clock: clock);

        // What a view holds after the breaker's node died while it was open: an Open nobody owns any more.
        var system = node.Services.GetRequiredService<ActorSystem>();
        DistributedPubSub.Get(system).Mediator.Tell(
            new Publish(BreakerEvents.Topic, new BreakerEvents.StateChanged(Failing, "Open", 5_000, null, 0)));
        await WaitForBreakerAsync(node, Failing, (state, halfOpenInMs) => state == "Open" && halfOpenInMs > 0, "Open");
        Assert.Equal("spare", (await ChatAsync(node, "main")).Model);
        Assert.Equal(0, RequestsWith(fake, "flaky", "k"));

        // Due: a trial reaches the deployment; the breaker's new owner (which starts Closed) says so to every view.
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("main", (await ChatAsync(node, "main")).Model);
        await WaitForBreakerAsync(node, Failing, (state, _) => state == "Closed", "Closed");
    }

    [Fact]
    public async Task Breaker_opened_by_failures_on_one_node_makes_the_other_node_skip_the_deployment()
    {
        await using var fake = await FakeUpstream.StartAsync();
        FlakyScript(fake).Always(Behaviour.Status(500));
        var seedPort = FreePort();
        var configA = TwoModelConfig(fake.BaseUrl);
        configA["Cluster"] = new JsonObject { ["Hostname"] = "127.0.0.1", ["Port"] = seedPort };
        await using var nodeA = await RouterTestNode.StartAsync(configA);
        var configB = TwoModelConfig(fake.BaseUrl);
        configB["Cluster"] = new JsonObject
        {
            ["Hostname"] = "127.0.0.1", ["Port"] = 0, ["Seeds"] = new JsonArray($"akka.tcp://router@127.0.0.1:{seedPort}"),
        };
        await using var nodeB = await RouterTestNode.StartAsync(configB);

        // 1. Both nodes Up, and each node's publications reach the other's breaker view (pub-sub spreads by gossip).
        var systemA = nodeA.Services.GetRequiredService<ActorSystem>();
        var systemB = nodeB.Services.GetRequiredService<ActorSystem>();
        await EventuallyAsync(() => Task.FromResult(
            Cluster.Get(systemA).State.Members.Count(m => m.Status == MemberStatus.Up) == 2
            && Cluster.Get(systemB).State.Members.Count(m => m.Status == MemberStatus.Up) == 2 ? "up" : null), "two members Up");
        await PublicationsCrossAsync(systemA, nodeB, "warm-up-a-to-b");
        await PublicationsCrossAsync(systemB, nodeA, "warm-up-b-to-a");

        // 2. Failures seen only by node A open the breaker.
        for (var i = 0; i < Threshold; i++) Assert.Equal("spare", (await ChatAsync(nodeA, "main")).Model);
        await WaitForBreakerAsync(nodeB, Failing, (state, _) => state == "Open", "Open on node B");

        // 3. Node B never tried the deployment and does not try it now.
        for (var i = 0; i < 3; i++)
        {
            var answer = await ChatAsync(nodeB, "main");
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.Equal(("spare", "spare/steady", 1), (answer.Model, answer.Deployment, answer.Attempts));
        }
        Assert.Equal(Threshold, RequestsWith(fake, "flaky", "k"));
    }

    private static Task PublicationsCrossAsync(ActorSystem from, RouterTestNode to, string deploymentId)
    {
        var mediator = DistributedPubSub.Get(from).Mediator;
        var view = to.Services.GetRequiredService<BreakerView>();
        return EventuallyAsync(() =>
        {
            mediator.Tell(new Publish(BreakerEvents.Topic, new BreakerEvents.StateChanged(deploymentId, "Open", 600_000, null, 0)));
            return Task.FromResult(view.TryGet(deploymentId, out _) ? "seen" : null);
        }, $"a publication reaching the other node ({deploymentId})");
    }
}

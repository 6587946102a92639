using Akka.Actor;
using Akka.Cluster.Sharding;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Breakers;
using Router.Contracts.Breakers;
using Xunit.Abstractions;
using static Router.Contracts.Breakers.BreakerCommands;

namespace Router.Actors.Tests.Breakers;

/// <remarks>
/// The half-open timer runs on the real scheduler while the breaker reads a <see cref="FakeTimeProvider"/>. The
/// open period is short (200 ms) so the real timer fires soon; the test advances the fake clock by the same amount
/// as soon as it sees Open. If the timer fires first, the breaker finds itself not yet due and re-arms for the rest,
/// so the outcome never depends on which comes first — only on the fake clock.
/// </remarks>
public sealed class ModelBreakerActorTests(ITestOutputHelper output) : SingleNodeClusterTestKit(output)
{
    private static readonly DeploymentId D1 = new("openai/gpt-4o-mini");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _clock = new();

    private IActorRef Breaker(BreakerSettings settings) =>
        Sys.ActorOf(ModelBreakerActor.Props(D1.Value, settings, _clock));

    /// <summary>Also a barrier: everything told before has been handled, so the fake clock may move.</summary>
    private BreakerEvents.StateChanged StateOf(IActorRef breaker)
    {
        breaker.Tell(new GetState(D1));
        return ExpectMsg<BreakerEvents.StateChanged>(Wait);
    }

    private static ReportOutcome Failure() => new(D1, false, "ServerError");

    private static ReportOutcome Success() => new(D1, true);

    [Fact]
    public void Publishes_open_after_threshold_failures_and_nothing_before()
    {
        var topic = SubscribedProbe(BreakerEvents.Topic);
        var breaker = Breaker(new BreakerSettings(3, TimeSpan.FromSeconds(30), 1));

        breaker.Tell(Failure());
        breaker.Tell(Failure());
        breaker.Tell(Failure());

        // The first publication is the Open: the two failures below the threshold published nothing.
        var open = topic.ExpectMsg<BreakerEvents.StateChanged>(Wait);
        Assert.Equal(D1.Value, open.DeploymentId);
        Assert.Equal("Open", open.Status);
        Assert.Equal(30_000, open.RemainingOpenMs);
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), open.LastFailureUnixMs);
    }

    [Fact]
    public void Publishes_half_open_when_the_open_period_ends_without_traffic_then_closed_after_a_good_trial()
    {
        var topic = SubscribedProbe(BreakerEvents.Topic);
        var openFor = TimeSpan.FromMilliseconds(200);
        var breaker = Breaker(new BreakerSettings(2, openFor, 1));
        breaker.Tell(Failure());
        breaker.Tell(Failure());
        Assert.Equal("Open", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);

        _clock.Advance(openFor);

        var halfOpen = topic.ExpectMsg<BreakerEvents.StateChanged>(Wait);
        Assert.Equal("HalfOpen", halfOpen.Status);
        Assert.Null(halfOpen.RemainingOpenMs);

        breaker.Tell(Success());

        var closed = topic.ExpectMsg<BreakerEvents.StateChanged>(Wait);
        Assert.Equal("Closed", closed.Status);
        Assert.Equal(0, closed.ConsecutiveFailures);
    }

    [Fact]
    public void A_failed_trial_reopens_for_a_fresh_open_period()
    {
        var topic = SubscribedProbe(BreakerEvents.Topic);
        var openFor = TimeSpan.FromMilliseconds(200);
        var breaker = Breaker(new BreakerSettings(1, openFor, 1));
        breaker.Tell(Failure());
        Assert.Equal("Open", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);
        _clock.Advance(openFor);
        Assert.Equal("HalfOpen", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);

        breaker.Tell(Failure());

        var reopened = topic.ExpectMsg<BreakerEvents.StateChanged>(Wait);
        Assert.Equal("Open", reopened.Status);
        Assert.Equal(200, reopened.RemainingOpenMs);
    }

    [Fact]
    public void Outcomes_while_open_neither_close_nor_extend_the_breaker()
    {
        var breaker = Breaker(new BreakerSettings(1, TimeSpan.FromHours(1), 1));
        breaker.Tell(Failure());
        Assert.Equal("Open", StateOf(breaker).Status);
        _clock.Advance(TimeSpan.FromMinutes(10));

        breaker.Tell(Success());
        breaker.Tell(Failure());
        var state = StateOf(breaker);
        Assert.Equal("Open", state.Status);
        Assert.Equal((long)TimeSpan.FromMinutes(50).TotalMilliseconds, state.RemainingOpenMs);
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), state.LastFailureUnixMs);
    }

    [Fact]
    public void A_trial_outcome_arriving_before_the_timer_moves_it_through_half_open_to_closed()
    {
        var topic = SubscribedProbe(BreakerEvents.Topic);
        // The real timer is an hour away; only the fake clock says the open period is over.
        var breaker = Breaker(new BreakerSettings(1, TimeSpan.FromHours(1), 1));
        breaker.Tell(Failure());
        Assert.Equal("Open", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);
        _clock.Advance(TimeSpan.FromHours(1));

        breaker.Tell(Success());

        Assert.Equal("HalfOpen", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);
        Assert.Equal("Closed", topic.ExpectMsg<BreakerEvents.StateChanged>(Wait).Status);
    }

    [Fact]
    public void Get_state_reports_counted_failures_of_a_closed_breaker()
    {
        var breaker = Breaker(new BreakerSettings(3, TimeSpan.FromSeconds(30), 1));
        breaker.Tell(Failure());
        var failedAt = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal(1, StateOf(breaker).ConsecutiveFailures);
        _clock.Advance(TimeSpan.FromSeconds(7));
        breaker.Tell(Failure());
        breaker.Tell(Success());
        breaker.Tell(Failure());

        var state = StateOf(breaker);
        Assert.Equal(new BreakerEvents.StateChanged(D1.Value, "Closed", null, failedAt + 7_000, 1), state);
    }

    [Fact]
    public void Asks_to_passivate_when_idle_closed_and_healthy()
    {
        var breaker = ChildActorOf(ModelBreakerActor.Props(D1.Value, BreakerSettings.Default, _clock, TimeSpan.FromMilliseconds(100)));

        breaker.Tell(Success());

        ExpectMsg<Passivate>(Wait);
    }

    [Fact]
    public void Stays_in_memory_while_it_has_failures_to_remember()
    {
        // An idle timeout that never fires by itself: the test delivers the idle signal the scheduler would.
        var breaker = ChildActorOf(ModelBreakerActor.Props(D1.Value, BreakerSettings.Default, _clock, TimeSpan.FromHours(1)));

        breaker.Tell(Failure());
        breaker.Tell(ReceiveTimeout.Instance);
        breaker.Tell(ReceiveTimeout.Instance);
        breaker.Tell(new GetState(D1));

        // The parent (this test) hears the state reply next, so no Passivate was sent before it: the breaker with a
        // failure counted stayed. Messages from one actor to another arrive in the order they were sent.
        var state = ExpectMsg<BreakerEvents.StateChanged>(Wait);
        Assert.Equal("Closed", state.Status);
        Assert.Equal(1, state.ConsecutiveFailures);
    }

    [Fact]
    public void The_same_idle_signal_passivates_a_breaker_with_nothing_to_remember()
    {
        var breaker = ChildActorOf(ModelBreakerActor.Props(D1.Value, BreakerSettings.Default, _clock, TimeSpan.FromHours(1)));

        breaker.Tell(Success());
        breaker.Tell(ReceiveTimeout.Instance);

        Assert.IsType<PoisonPill>(ExpectMsg<Passivate>(Wait).StopMessage);
    }

    [Fact]
    public void Extractor_routes_by_deployment_id_to_a_stable_shard()
    {
        var extractor = new BreakerMessageExtractor();
        var report = Failure();

        Assert.Equal(D1.Value, extractor.EntityId(report));
        var shard = extractor.ShardId(D1.Value, report);
        Assert.Equal(shard, extractor.ShardId(D1.Value, new GetState(D1)));
        // Pinned: every node of every release must put this deployment in the same shard (MurmurHash, 100 shards).
        Assert.Equal("94", shard);
        Assert.Null(extractor.EntityId("not a breaker message"));
    }
}

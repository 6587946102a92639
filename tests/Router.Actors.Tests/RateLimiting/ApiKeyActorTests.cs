using Akka.Actor;
using Akka.Cluster.Sharding;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.RateLimiting;
using Router.Actors.Sharding;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using Xunit.Abstractions;
using static Router.Contracts.RateLimiting.ApiKeyCommands;

namespace Router.Actors.Tests.RateLimiting;

public sealed class ApiKeyActorTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Config, output)
{
    // serialize-messages makes every message in these tests go through RouterSerializer. Status.Failure is
    // bound as Akka.Remote binds it in a cluster (this test system is local, so that config is not loaded).
    private const string Config = """
        akka.loglevel = WARNING
        akka.actor.serialize-messages = on
        akka.actor.serializers.akka-misc = "Akka.Remote.Serialization.MiscMessageSerializer, Akka.Remote"
        akka.actor.serialization-bindings { "Akka.Actor.Status+Failure, Akka" = akka-misc }
        akka.actor.serialization-identifiers { "Akka.Remote.Serialization.MiscMessageSerializer, Akka.Remote" = 16 }
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """ + "\n" + RouterSerializer.Hocon;

    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Hash = ApiKeyHash.Compute("sk-router-test");
    private static readonly ApiKeyId Id = ApiKeyId.FromKeyHash(Hash);

    private readonly FakeTimeProvider _clock = new(Start);

    private static Upsert Define(
        int? rpm = null, int? tpm = null, int? maxConcurrent = null, decimal? budgetUsd = null,
        BudgetPeriod period = BudgetPeriod.Day, IReadOnlyList<string>? models = null) =>
        new(Id, "test", Hash, rpm, tpm, maxConcurrent, budgetUsd, period, models ?? ["*"], KeySource.Admin);

    private IActorRef StartKey(ApiKeyActorSettings? settings = null) =>
        Sys.ActorOf(ApiKeyActor.Props(Id.Value, _clock, settings));

    private IActorRef CreateKey(Upsert definition, ApiKeyActorSettings? settings = null)
    {
        var key = StartKey(settings);
        key.Tell(definition);
        Assert.True(ExpectMsg<KeyState>().Exists);
        return key;
    }

    private AdmitResult Admit(IActorRef key, string requestId, int tokens = 10, string model = "gpt-4o-mini")
    {
        key.Tell(new Admit(Id, requestId, tokens, model));
        return ExpectMsg<AdmitResult>();
    }

    private KeyState GetState(IActorRef key)
    {
        key.Tell(new GetState(Id));
        return ExpectMsg<KeyState>();
    }

    private void StopGracefully(IActorRef key)
    {
        Watch(key);
        key.Tell(StopEntity.Instance);
        ExpectTerminated(key);
    }

    private void Crash(IActorRef key)
    {
        Watch(key);
        key.Tell(PoisonPill.Instance);
        ExpectTerminated(key);
    }

    [Fact]
    public void Uses_the_router_serializer_for_its_messages()
    {
        Assert.IsType<RouterSerializer>(Sys.Serialization.FindSerializerFor(new Admit(Id, "r", 1, "m")));
    }

    [Fact]
    public void Refuses_an_unknown_key_with_UnknownKey()
    {
        var key = StartKey();

        var result = Admit(key, "r1");

        Assert.False(result.Admitted);
        Assert.Equal(AdmitRefusal.UnknownKey, result.Refusal);
        Assert.Null(result.RetryAfterMs);
        Assert.False(GetState(key).Exists);
    }

    [Fact]
    public void Admits_once_the_key_is_upserted()
    {
        var key = StartKey();
        Assert.Equal(AdmitRefusal.UnknownKey, Admit(key, "r0").Refusal);

        key.Tell(Define(rpm: 3, tpm: 1000));
        var state = ExpectMsg<KeyState>();
        var result = Admit(key, "r1", tokens: 100);

        Assert.True(state.Exists);
        Assert.Equal(3, state.Rpm);
        Assert.Equal(Start, state.CreatedAt);
        Assert.True(result.Admitted);
        Assert.Equal(AdmitRefusal.None, result.Refusal);
        Assert.Equal(new RateLimitStatus(3, 2, 20_000), result.Requests);
        Assert.Equal(new RateLimitStatus(1000, 900, 6_000), result.Tokens);
    }

    [Fact]
    public void Admits_up_to_rpm_then_refuses_with_retry_after()
    {
        var key = CreateKey(Define(rpm: 3));

        Assert.True(Admit(key, "r1").Admitted);
        Assert.True(Admit(key, "r2").Admitted);
        Assert.True(Admit(key, "r3").Admitted);
        var refused = Admit(key, "r4");

        Assert.False(refused.Admitted);
        Assert.Equal(AdmitRefusal.Requests, refused.Refusal);
        Assert.Equal(20_000, refused.RetryAfterMs);
        Assert.Equal(new RateLimitStatus(3, 0, 60_000), refused.Requests);

        _clock.Advance(TimeSpan.FromMilliseconds(19_999));
        Assert.False(Admit(key, "r4").Admitted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(Admit(key, "r4").Admitted);
    }

    [Fact]
    public void A_re_sent_admit_for_an_in_flight_request_takes_nothing_more()
    {
        var key = CreateKey(Define(rpm: 2, maxConcurrent: 1));

        Assert.True(Admit(key, "r1").Admitted);
        var again = Admit(key, "r1");

        Assert.True(again.Admitted);
        Assert.Equal(1, again.Requests!.Remaining);
        Assert.Equal(1, GetState(key).InFlight);
    }

    [Fact]
    public void Revoked_key_is_refused_even_after_a_crash()
    {
        var key = CreateKey(Define(rpm: 10));

        key.Tell(new Revoke(Id));
        var state = ExpectMsg<KeyState>();
        Assert.True(state.Revoked);
        Assert.Equal(AdmitRefusal.Revoked, Admit(key, "r1").Refusal);

        // The revocation was persisted before it was acknowledged: an abrupt stop cannot undo it.
        Crash(key);
        var restarted = StartKey();
        Assert.Equal(AdmitRefusal.Revoked, Admit(restarted, "r2").Refusal);
    }

    [Fact]
    public void An_upsert_does_not_undo_a_revocation()
    {
        var key = CreateKey(Define(rpm: 10));
        key.Tell(new Revoke(Id));
        ExpectMsg<KeyState>();

        key.Tell(Define(rpm: 20));

        Assert.True(ExpectMsg<KeyState>().Revoked);
        Assert.Equal(AdmitRefusal.Revoked, Admit(key, "r1").Refusal);
    }

    [Fact]
    public void Spend_survives_a_restart_and_the_budget_stays_exhausted()
    {
        var key = CreateKey(Define(budgetUsd: 1.00m, period: BudgetPeriod.Day));
        Assert.True(Admit(key, "r1").Admitted);

        key.Tell(new Complete(Id, "r1", 10, 2000, 1.25m));
        var exhausted = Admit(key, "r2");
        Assert.Equal(AdmitRefusal.BudgetExhausted, exhausted.Refusal);
        Assert.Equal((long)TimeSpan.FromHours(12).TotalMilliseconds, exhausted.RetryAfterMs); // until UTC midnight

        StopGracefully(key);
        var restarted = StartKey();

        Assert.Equal(AdmitRefusal.BudgetExhausted, Admit(restarted, "r3").Refusal);
        var state = GetState(restarted);
        Assert.Equal(1.25m, state.SpentUsd);
        Assert.Equal(1.25m, state.TotalSpentUsd);

        _clock.Advance(TimeSpan.FromHours(12));
        Assert.True(Admit(restarted, "r4").Admitted);
    }

    [Fact]
    public void Flushed_spend_survives_a_crash()
    {
        var key = CreateKey(Define(budgetUsd: 1.00m), ApiKeyActorSettings.Default with { FlushEveryCompletions = 2 });
        Admit(key, "r1");
        Admit(key, "r2");
        key.Tell(new Complete(Id, "r1", 10, 10, 0.60m));
        key.Tell(new Complete(Id, "r2", 10, 10, 0.60m));
        Assert.Equal(1.20m, GetState(key).SpentUsd);

        Crash(key);
        var restarted = StartKey();

        Assert.Equal(AdmitRefusal.BudgetExhausted, Admit(restarted, "r3").Refusal);
        Assert.Equal(1.20m, GetState(restarted).TotalSpentUsd);
    }

    [Fact]
    public void Spend_is_counted_once_across_periodic_snapshots_and_restarts()
    {
        // Snapshots every 2 events and a batch per completion: the stop meets snapshots and batch writes still
        // in progress. Several keys, because the interleaving varies from run to run.
        var settings = ApiKeyActorSettings.Default with { FlushEveryCompletions = 1, SnapshotEvery = 2 };
        for (var k = 0; k < 10; k++)
        {
            var hash = ApiKeyHash.Compute($"sk-router-spend-{k}");
            var id = ApiKeyId.FromKeyHash(hash);
            var key = Sys.ActorOf(ApiKeyActor.Props(id.Value, _clock, settings));
            key.Tell(Define(budgetUsd: 100m) with { KeyId = id, KeyHash = hash });
            ExpectMsg<KeyState>();
            for (var i = 0; i < 5; i++)
            {
                key.Tell(new Admit(id, $"r{i}", 10, "m"));
                ExpectMsg<AdmitResult>();
                key.Tell(new Complete(id, $"r{i}", 10, 10, 1m));
            }

            Watch(key);
            key.Tell(StopEntity.Instance);
            ExpectTerminated(key);

            var restarted = Sys.ActorOf(ApiKeyActor.Props(id.Value, _clock, settings));
            restarted.Tell(new GetState(id));
            var state = ExpectMsg<KeyState>();
            Assert.Equal(5m, state.SpentUsd);
            Assert.Equal(5m, state.TotalSpentUsd);
        }
    }

    [Fact]
    public void Bucket_levels_survive_a_graceful_stop_so_a_moved_key_gets_no_new_allowance()
    {
        var key = CreateKey(Define(rpm: 2, maxConcurrent: 5));
        Admit(key, "r1");
        Admit(key, "r2");

        StopGracefully(key);
        var restarted = StartKey();

        var refused = Admit(restarted, "r3");
        Assert.Equal(AdmitRefusal.Requests, refused.Refusal);
        Assert.Equal(30_000, refused.RetryAfterMs);
        Assert.Equal(2, GetState(restarted).InFlight);

        // Time that passed while stopped refills: 30 s at 2/min is one request.
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(Admit(restarted, "r3").Admitted);
        Assert.False(Admit(restarted, "r4").Admitted);
    }

    [Fact]
    public void In_flight_requests_restored_after_a_stop_are_released_by_their_completion()
    {
        var key = CreateKey(Define(maxConcurrent: 1));
        Admit(key, "r1");
        StopGracefully(key);
        var restarted = StartKey();
        Assert.Equal(AdmitRefusal.Concurrency, Admit(restarted, "r2").Refusal);

        restarted.Tell(new Complete(Id, "r1", 10, 10, 0m));

        Assert.True(Admit(restarted, "r2").Admitted);
    }

    [Fact]
    public void Concurrency_slot_is_released_on_completion_and_on_abort()
    {
        var key = CreateKey(Define(maxConcurrent: 1, tpm: 1000));
        Assert.True(Admit(key, "r1", tokens: 100).Admitted);

        var refused = Admit(key, "r2", tokens: 100);
        Assert.Equal(AdmitRefusal.Concurrency, refused.Refusal);
        Assert.Equal(1000, refused.RetryAfterMs);

        key.Tell(new Complete(Id, "r1", 100, 300, 0.01m));
        Assert.True(Admit(key, "r2", tokens: 100).Admitted);
        Assert.Equal(600, GetState(key).TokensRemaining); // 1000 - 300 - 100

        // The client went away before any token was produced: slot freed, estimate refunded.
        key.Tell(new Abort(Id, "r2", 100));
        var state = GetState(key);
        Assert.Equal(0, state.InFlight);
        Assert.Equal(700, state.TokensRemaining);
        Assert.True(Admit(key, "r3", tokens: 100).Admitted);
    }

    [Fact]
    public void Usage_above_the_estimate_puts_the_key_in_token_debt()
    {
        var key = CreateKey(Define(tpm: 600));
        Admit(key, "r1", tokens: 100);

        key.Tell(new Complete(Id, "r1", 100, 900, 0m));

        Assert.Equal(-300, GetState(key).TokensRemaining);
        var refused = Admit(key, "r2", tokens: 0);
        Assert.Equal(AdmitRefusal.Tokens, refused.Refusal);
        Assert.Equal(30_000, refused.RetryAfterMs);
    }

    [Fact]
    public void A_request_larger_than_tpm_never_fits_and_gets_no_retry_after()
    {
        var key = CreateKey(Define(rpm: 10, tpm: 1000));

        var refused = Admit(key, "r1", tokens: 5000);

        Assert.Equal(AdmitRefusal.NeverFits, refused.Refusal);
        Assert.Null(refused.RetryAfterMs);
        Assert.Equal(10, refused.Requests!.Remaining);
    }

    [Fact]
    public void A_model_outside_the_allow_list_is_refused()
    {
        var key = CreateKey(Define(rpm: 10, models: ["claude-*"]));

        Assert.Equal(AdmitRefusal.ModelNotAllowed, Admit(key, "r1", model: "gpt-4o").Refusal);
        Assert.True(Admit(key, "r2", model: "claude-haiku").Admitted);
        Assert.Equal(9, GetState(key).RequestsRemaining);
    }

    [Fact]
    public void A_lost_completion_releases_its_slot_when_the_lease_expires()
    {
        var key = CreateKey(Define(maxConcurrent: 1));
        Admit(key, "r1");

        _clock.Advance(ApiKeyActorSettings.Default.InFlightLease - TimeSpan.FromSeconds(1));
        Assert.Equal(AdmitRefusal.Concurrency, Admit(key, "r2").Refusal);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Admit(key, "r2").Admitted);
    }

    [Fact]
    public void An_identical_upsert_changes_nothing_and_a_new_one_reconfigures()
    {
        var key = CreateKey(Define(rpm: 10));
        Admit(key, "r1");
        _clock.Advance(TimeSpan.FromMinutes(5));

        key.Tell(Define(rpm: 10));
        Assert.Equal(Start, ExpectMsg<KeyState>().UpdatedAt);

        key.Tell(Define(rpm: 5));
        var state = ExpectMsg<KeyState>();
        Assert.Equal(Start.AddMinutes(5), state.UpdatedAt);
        Assert.Equal(Start, state.CreatedAt);
        Assert.Equal(5, state.Rpm);
        Assert.Equal(5, state.RequestsRemaining);
    }

    [Fact]
    public void An_invalid_upsert_is_answered_with_a_failure()
    {
        var key = StartKey();

        key.Tell(Define(rpm: 0));
        Assert.IsType<ArgumentException>(ExpectMsg<Status.Failure>().Cause);

        key.Tell(Define() with { KeyHash = ApiKeyHash.Compute("another key") });
        Assert.IsType<ArgumentException>(ExpectMsg<Status.Failure>().Cause);

        Assert.False(GetState(key).Exists);
    }

    [Fact]
    public void Asks_its_shard_to_passivate_when_idle()
    {
        var key = ChildActorOf(ApiKeyActor.Props(Id.Value, _clock, ApiKeyActorSettings.Default with { IdleTimeout = TimeSpan.FromMilliseconds(100) }));

        var passivate = ExpectMsg<Passivate>();

        Assert.IsType<StopEntity>(passivate.StopMessage);
        Watch(key);
        key.Tell(passivate.StopMessage);
        ExpectTerminated(key);
    }
}

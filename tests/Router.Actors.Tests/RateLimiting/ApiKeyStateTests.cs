using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using static Router.Contracts.RateLimiting.ApiKeyCommands;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Actors.Tests.RateLimiting;

/// <summary>
/// The key's rules without an ActorSystem: time is a <see cref="Moment"/> the test moves, and the "journal" is a
/// list the test appends each decided event to before applying it, as <see cref="ApiKeyActor"/> does.
/// </summary>
public sealed class ApiKeyStateTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Hash = ApiKeyHash.Compute("sk-router-state-test");
    private static readonly ApiKeyId Id = ApiKeyId.FromKeyHash(Hash);

    private readonly List<IRouterMessage> _journal = [];
    private ApiKeyState _state = ApiKeyState.Empty(Id);
    private Moment _now = new(0, Start);

    private static Upsert Define(
        int? rpm = null, int? tpm = null, int? maxConcurrent = null, decimal? budgetUsd = null,
        BudgetPeriod period = BudgetPeriod.Day, IReadOnlyList<string>? models = null, string name = "test") =>
        new(Id, name, Hash, rpm, tpm, maxConcurrent, budgetUsd, period, models ?? ["*"], KeySource.Admin);

    private void Use(ApiKeyActorSettings settings) => _state = ApiKeyState.Empty(Id, settings);

    private void Advance(TimeSpan by) => _now = new Moment(_now.Ticks + by.Ticks, _now.Utc + by);

    // What the actor does with a decision: write its events, then apply each.
    private ApiKeyDecision Write(ApiKeyDecision decision)
    {
        foreach (var e in decision.Events)
        {
            _journal.Add(e);
            _state = _state.Apply(e);
        }

        return decision;
    }

    private KeyState Upsert(Upsert definition)
    {
        var (reply, events) = Write(_state.Decide(definition, _now));
        return Assert.IsType<KeyState>(reply ?? (events.Count > 0 ? _state.View(_now) : null));
    }

    private AdmitResult Admit(string requestId, int tokens = 10, string model = "gpt-4o-mini", string? hash = null)
    {
        var (reply, events) = _state.Decide(new Admit(Id, requestId, tokens, model, hash ?? Hash), _now);
        Assert.Empty(events); // admissions are never persisted
        return Assert.IsType<AdmitResult>(reply);
    }

    private IReadOnlyList<IRouterMessage> Complete(string requestId, int estimated, int actual, decimal costUsd) =>
        Write(_state.Decide(new Complete(Id, requestId, estimated, actual, costUsd), _now)).Events;

    private KeyState View() => _state.View(_now);

    private ApiKeyState Replay() => _journal.Aggregate(ApiKeyState.Empty(Id), (s, e) => s.Apply(e));

    // --- Unknown key ----------------------------------------------------------------------------------------

    [Fact]
    public void An_unknown_key_refuses_admissions_and_ignores_everything_but_an_upsert()
    {
        var refused = Admit("r1");

        Assert.Equal((false, AdmitRefusal.UnknownKey, null, null, null), (refused.Admitted, refused.Refusal, refused.RetryAfterMs, refused.Requests, refused.Tokens));
        Assert.False(View().Exists);
        Assert.Equal(KeyState.NotFound(Id), _state.Decide(new Revoke(Id), _now).Reply);
        Assert.Equal(ApiKeyDecision.None, _state.Decide(new Complete(Id, "r1", 10, 10, 1m), _now));
        Assert.Equal(ApiKeyDecision.None, _state.Decide(new Abort(Id, "r1", 10), _now));
        Assert.Equal(ApiKeyState.Empty(Id), _state);
    }

    // --- Create and update ------------------------------------------------------------------------------------

    [Fact]
    public void An_upsert_is_one_event_and_is_answered_with_the_state_once_applied()
    {
        var (reply, events) = _state.Decide(Define(rpm: 3, tpm: 1000), _now);

        Assert.Null(reply);
        var upserted = Assert.IsType<KeyUpserted>(Assert.Single(events));
        Assert.Equal((Id, Hash, 3, 1000, Start), (upserted.KeyId, upserted.KeyHash, upserted.Rpm, upserted.Tpm, upserted.At));
        Assert.False(_state.Exists); // nothing changes before the event is written

        _state = _state.Apply(upserted);
        var state = View();
        Assert.Equal((true, 3, 3L, 1000L, Start, Start), (state.Exists, state.Rpm, state.RequestsRemaining, state.TokensRemaining, state.CreatedAt, state.UpdatedAt));
    }

    [Fact]
    public void An_identical_upsert_persists_nothing_and_a_new_one_reconfigures_the_buckets()
    {
        Upsert(Define(rpm: 10));
        Admit("r1");
        Advance(TimeSpan.FromMinutes(5));

        var (same, none) = _state.Decide(Define(rpm: 10), _now);
        Assert.Empty(none);
        Assert.Equal(Start, Assert.IsType<KeyState>(same).UpdatedAt);

        var state = Upsert(Define(rpm: 5));
        Assert.Equal((5, 5L, Start, Start.AddMinutes(5)), (state.Rpm, state.RequestsRemaining, state.CreatedAt, state.UpdatedAt));
        Assert.Equal(2, _journal.Count);
    }

    [Fact]
    public void Lowering_a_limit_keeps_what_was_used_and_removing_one_makes_it_unlimited()
    {
        Upsert(Define(rpm: 10, tpm: 1000));
        for (var i = 0; i < 8; i++) Admit($"r{i}", tokens: 100);

        var lowered = Upsert(Define(rpm: 5, tpm: 1000));
        Assert.Equal(2, lowered.RequestsRemaining); // 2 left of 10; clamped to the new capacity only when above it
        var unlimited = Upsert(Define(tpm: 1000));
        Assert.Null(unlimited.RequestsRemaining);
        Assert.True(Admit("r9", tokens: 100).Admitted);
        Assert.Equal(AdmitRefusal.Tokens, Admit("r10", tokens: 150).Refusal); // 1000 - 900 left 100
    }

    [Fact]
    public void An_update_without_a_hash_keeps_the_stored_one()
    {
        Upsert(Define(rpm: 10));

        var state = Upsert(Define(rpm: 20) with { KeyHash = "" });

        Assert.Equal(20, state.Rpm);
        Assert.Equal(Hash, _state.Key!.KeyHash);
    }

    [Theory]
    [InlineData("rpm")]
    [InlineData("tpm")]
    [InlineData("concurrency")]
    [InlineData("budget")]
    [InlineData("name")]
    [InlineData("hash")]
    [InlineData("other key's hash")]
    [InlineData("wrong entity")]
    public void An_invalid_upsert_is_refused_with_an_argument_exception_and_no_event(string what)
    {
        var upsert = what switch
        {
            "rpm" => Define(rpm: 0),
            "tpm" => Define(tpm: -1),
            "concurrency" => Define(maxConcurrent: 0),
            "budget" => Define(budgetUsd: -1m),
            "name" => Define(name: " "),
            "hash" => Define() with { KeyHash = "not-a-hash" },
            "other key's hash" => Define() with { KeyHash = ApiKeyHash.Compute("another key") },
            _ => Define() with { KeyId = new ApiKeyId("0123456789abcdef") },
        };

        var (reply, events) = _state.Decide(upsert, _now);

        Assert.IsType<ArgumentException>(reply);
        Assert.Empty(events);
    }

    [Fact]
    public void A_second_key_whose_hash_shares_the_id_cannot_take_it_over()
    {
        Upsert(Define(rpm: 10));
        var impostor = Hash[..ApiKeyId.Length] + new string('0', 64 - ApiKeyId.Length);

        var (reply, events) = _state.Decide(Define(rpm: 99) with { KeyHash = impostor }, _now);

        Assert.Contains("Another key", Assert.IsType<ArgumentException>(reply).Message);
        Assert.Empty(events);
        Assert.Equal(AdmitRefusal.UnknownKey, Admit("r1", hash: impostor).Refusal);
    }

    // --- Rate limits ------------------------------------------------------------------------------------------

    [Fact]
    public void Admits_up_to_rpm_then_refuses_with_an_exact_retry_after()
    {
        Upsert(Define(rpm: 3));

        Assert.True(Admit("r1").Admitted);
        Assert.True(Admit("r2").Admitted);
        Assert.Equal(new RateLimitStatus(3, 0, 60_000), Admit("r3").Requests);
        var refused = Admit("r4");

        Assert.Equal((false, AdmitRefusal.Requests, 20_000L), (refused.Admitted, refused.Refusal, refused.RetryAfterMs));
        Advance(TimeSpan.FromMilliseconds(19_999));
        Assert.False(Admit("r4").Admitted);
        Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(Admit("r4").Admitted);
    }

    [Fact]
    public void Refuses_on_tpm_with_the_wait_for_the_estimate_and_never_fits_above_capacity()
    {
        Upsert(Define(rpm: 10, tpm: 1000));

        Assert.True(Admit("r1", tokens: 900).Admitted);
        var refused = Admit("r2", tokens: 200);
        var tooLarge = Admit("r3", tokens: 5000);

        Assert.Equal((AdmitRefusal.Tokens, 6_000L), (refused.Refusal, refused.RetryAfterMs)); // 100 missing at 1000/min
        Assert.Equal(9, refused.Requests!.Remaining); // a refusal takes nothing
        Assert.Equal((AdmitRefusal.NeverFits, (long?)null), (tooLarge.Refusal, tooLarge.RetryAfterMs));
    }

    [Fact]
    public void Refuses_on_concurrency_until_a_completion_or_an_abort_frees_a_slot()
    {
        Upsert(Define(maxConcurrent: 1, tpm: 1000));
        Assert.True(Admit("r1", tokens: 100).Admitted);

        var refused = Admit("r2", tokens: 100);
        Assert.Equal((AdmitRefusal.Concurrency, 1000L), (refused.Refusal, refused.RetryAfterMs));

        Complete("r1", 100, 300, 0.01m);
        Assert.True(Admit("r2", tokens: 100).Admitted);
        Assert.Equal(600, View().TokensRemaining); // 1000 - 300 - 100

        _state.Decide(new Abort(Id, "r2", 100), _now);
        Assert.Equal((0, 700L), (View().InFlight, View().TokensRemaining)); // estimate refunded
        Assert.True(Admit("r3", tokens: 100).Admitted);
    }

    [Fact]
    public void A_re_sent_admit_for_an_in_flight_request_takes_nothing_more()
    {
        Upsert(Define(rpm: 2, maxConcurrent: 1));

        Assert.True(Admit("r1").Admitted);
        var again = Admit("r1");

        Assert.True(again.Admitted);
        Assert.Equal(1, again.Requests!.Remaining);
        Assert.Equal(1, _state.InFlight);
    }

    [Fact]
    public void Usage_above_the_estimate_puts_the_key_in_token_debt_and_below_it_refunds()
    {
        Upsert(Define(tpm: 600));
        Admit("r1", tokens: 100);
        Admit("r2", tokens: 100);

        Complete("r1", 100, 40, 0m);
        Assert.Equal(460, View().TokensRemaining);
        Complete("r2", 100, 860, 0m);

        Assert.Equal(-300, View().TokensRemaining);
        var refused = Admit("r3", tokens: 0);
        Assert.Equal((AdmitRefusal.Tokens, 30_000L), (refused.Refusal, refused.RetryAfterMs));
    }

    [Fact]
    public void A_completion_of_a_request_it_never_admitted_settles_tokens_but_frees_no_slot()
    {
        Upsert(Define(tpm: 1000, maxConcurrent: 2));
        Admit("r1", tokens: 100);

        Complete("from-an-earlier-incarnation", 200, 500, 0m);

        Assert.Equal((1, 600L), (View().InFlight, View().TokensRemaining)); // 1000 - 100 - (500 - 200)
    }

    [Fact]
    public void A_lost_completion_releases_its_slot_once_its_lease_expires()
    {
        Upsert(Define(maxConcurrent: 1));
        Admit("r1");

        Advance(ApiKeyActorSettings.Default.InFlightLease - TimeSpan.FromSeconds(1));
        Assert.Equal(AdmitRefusal.Concurrency, Admit("r2").Refusal);
        Advance(TimeSpan.FromSeconds(1));
        var decision = _state.Decide(new Admit(Id, "r2", 10, "m"), _now);

        Assert.True(Assert.IsType<AdmitResult>(decision.Reply).Admitted);
        Assert.Equal(1, decision.LeasesExpired);
    }

    [Fact]
    public void Idle_expiry_frees_only_leases_past_their_time()
    {
        Upsert(Define(maxConcurrent: 5));
        Admit("old");
        Advance(TimeSpan.FromMinutes(10));
        Admit("new");
        Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(1, _state.ExpireLeases(_now.Ticks));
        Assert.Equal(1, _state.InFlight);
    }

    // --- Models and hashes ------------------------------------------------------------------------------------

    [Fact]
    public void A_model_outside_the_allow_list_is_refused_unless_one_of_its_names_is_allowed()
    {
        Upsert(Define(rpm: 10, models: ["claude-*", "fast"]));

        Assert.Equal(AdmitRefusal.ModelNotAllowed, Admit("r1", model: "gpt-4o").Refusal);
        Assert.True(Admit("r2", model: "claude-haiku").Admitted);
        var byAlias = _state.Decide(new Admit(Id, "r3", 10, "gpt-4o-mini", Hash, ["gpt-4o-mini", "fast"]), _now);
        Assert.True(Assert.IsType<AdmitResult>(byAlias.Reply).Admitted);
        Assert.Equal(8, View().RequestsRemaining); // the refusal took nothing
    }

    [Fact]
    public void A_presented_key_whose_full_hash_differs_is_unknown()
    {
        Upsert(Define(rpm: 10));

        Assert.Equal(AdmitRefusal.UnknownKey, Admit("r1", hash: ApiKeyHash.Compute("another key")).Refusal);
        Assert.True(Admit("r2", hash: Hash.ToUpperInvariant()).Admitted);
    }

    // --- Revocation -------------------------------------------------------------------------------------------

    [Fact]
    public void A_revoked_key_is_refused_for_good_but_its_running_requests_still_count()
    {
        Upsert(Define(rpm: 10, budgetUsd: 5m));
        Admit("r1");

        var (reply, events) = _state.Decide(new Revoke(Id), _now);
        Assert.Null(reply);
        Assert.Equal(new KeyRevoked(Id, Start), Assert.Single(events));
        Write(new ApiKeyDecision(null, events));

        Assert.True(View().Revoked);
        Assert.Equal(AdmitRefusal.Revoked, Admit("r2").Refusal);
        Assert.Empty(_state.Decide(new Revoke(Id), _now).Events);
        var upsert = _state.Decide(Define(rpm: 20), _now);
        Assert.Empty(upsert.Events);
        Assert.True(Assert.IsType<KeyState>(upsert.Reply).Revoked);

        Complete("r1", 10, 10, 1.5m);
        Assert.Equal((0, 1.5m), (View().InFlight, View().SpentUsd));
    }

    // --- Budget and spend -------------------------------------------------------------------------------------

    [Fact]
    public void A_daily_budget_refuses_once_spent_until_utc_midnight()
    {
        Upsert(Define(budgetUsd: 1.00m, period: BudgetPeriod.Day));
        Admit("r1");

        Complete("r1", 10, 2000, 1.25m);
        var refused = Admit("r2");

        Assert.Equal((AdmitRefusal.BudgetExhausted, (long)TimeSpan.FromHours(12).TotalMilliseconds), (refused.Refusal, refused.RetryAfterMs));
        Assert.Equal((1.25m, 1.25m, Start.Date.AddDays(1)), (View().SpentUsd, View().TotalSpentUsd, View().BudgetResetsAt!.Value.UtcDateTime));
        Advance(TimeSpan.FromHours(12) - TimeSpan.FromTicks(1));
        Assert.False(Admit("r2").Admitted);
        Advance(TimeSpan.FromTicks(1));
        Assert.True(Admit("r2").Admitted);
        Assert.Equal((0m, 1.25m), (View().SpentUsd, View().TotalSpentUsd));
    }

    [Fact]
    public void A_monthly_budget_rolls_over_on_the_first_and_a_total_budget_never_does()
    {
        Upsert(Define(budgetUsd: 2m, period: BudgetPeriod.Month));
        Complete("r1", 10, 10, 2m);
        Write(_state.CloseSpendBatch());
        Assert.Equal(AdmitRefusal.BudgetExhausted, Admit("r2").Refusal);

        Advance(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero) - _now.Utc);
        Assert.True(Admit("r2").Admitted);
        Complete("r2", 10, 10, 1m);
        Write(_state.CloseSpendBatch());

        // Spend of the period under way (April's, not March's) is kept when the period changes.
        Upsert(Define(budgetUsd: 2m, period: BudgetPeriod.Total));
        Assert.Equal((1m, 3m), (View().SpentUsd, View().TotalSpentUsd));
        Complete("r3", 10, 10, 1m);
        var refused = Admit("r4");
        Assert.Equal((AdmitRefusal.BudgetExhausted, (long?)null), (refused.Refusal, refused.RetryAfterMs));
        Advance(TimeSpan.FromDays(400));
        Assert.Equal(AdmitRefusal.BudgetExhausted, Admit("r4").Refusal);
    }

    [Fact]
    public void Spend_counts_at_once_and_is_written_in_batches_of_n_completions()
    {
        Use(ApiKeyActorSettings.Default with { FlushEveryCompletions = 3 });
        Upsert(Define(budgetUsd: 10m));

        Assert.Empty(Complete("r1", 10, 10, 1m));
        Assert.Empty(Complete("r2", 10, 20, 2m));
        Assert.True(_state.HasUnwrittenSpend);
        Assert.Equal(3m, View().SpentUsd);
        Assert.Equal(0m, _state.Budget!.SpentUsd); // the journal has none of it yet

        Advance(TimeSpan.FromSeconds(1));
        var batch = Assert.IsType<SpendRecorded>(Assert.Single(Complete("r3", 10, 30, 4m)));

        Assert.Equal(new SpendRecorded(Id, 7m, 3, 60, Start.AddSeconds(1)), batch);
        Assert.False(_state.HasUnwrittenSpend);
        Assert.Equal((7m, 7m, 7m), (View().SpentUsd, View().TotalSpentUsd, _state.Budget!.SpentUsd));
    }

    [Fact]
    public void Spend_handed_out_as_a_batch_counts_once_before_and_after_it_is_written()
    {
        Upsert(Define(budgetUsd: 10m));
        Complete("r1", 10, 10, 4m);

        var (_, events) = _state.CloseSpendBatch();
        Assert.Equal(4m, View().SpentUsd); // handed to the journal, not written yet
        Assert.Empty(_state.CloseSpendBatch().Events);

        Write(new ApiKeyDecision(null, events));
        Assert.Equal((4m, 4m), (View().SpentUsd, View().TotalSpentUsd));
        Assert.Equal(Replay(), _state);
    }

    [Fact]
    public void A_batch_never_spans_two_budget_periods()
    {
        _now = new Moment(0, new DateTimeOffset(2026, 3, 10, 23, 59, 59, TimeSpan.Zero));
        Upsert(Define(budgetUsd: 10m, period: BudgetPeriod.Day));
        Complete("r1", 10, 10, 3m);

        Advance(TimeSpan.FromSeconds(2));
        var closed = Assert.Single(Complete("r2", 10, 10, 1m));

        Assert.Equal(new SpendRecorded(Id, 3m, 1, 10, new DateTimeOffset(2026, 3, 10, 23, 59, 59, TimeSpan.Zero)), closed);
        Assert.Equal((1m, 4m), (View().SpentUsd, View().TotalSpentUsd));
        Assert.Equal(0m, _state.Budget!.Spent(_now.Utc)); // the written batch belongs to the day before
    }

    [Fact]
    public void Costs_and_token_counts_below_zero_count_as_zero()
    {
        Upsert(Define(budgetUsd: 10m, tpm: 1000));
        Admit("r1", tokens: 100);

        Complete("r1", 100, -5, -1m);

        Assert.Equal((0m, 1000L), (View().SpentUsd, View().TokensRemaining));
    }

    // --- Replay and snapshots ---------------------------------------------------------------------------------

    [Fact]
    public void Replaying_the_written_events_gives_the_live_state()
    {
        Use(ApiKeyActorSettings.Default with { FlushEveryCompletions = 2 });
        Upsert(Define(rpm: 10, tpm: 10_000, maxConcurrent: 3, budgetUsd: 5m));
        for (var i = 0; i < 5; i++)
        {
            Admit($"r{i}", tokens: 100);
            Advance(TimeSpan.FromMinutes(1));
            Complete($"r{i}", 100, 150, 0.25m);
        }

        Upsert(Define(rpm: 20, budgetUsd: 4m, period: BudgetPeriod.Month));
        Advance(TimeSpan.FromDays(1));
        Complete("late", 0, 0, 0.5m);
        Write(_state.CloseSpendBatch());
        Write(_state.Decide(new Revoke(Id), _now));

        var replayed = _journal.Aggregate(ApiKeyState.Empty(Id), (s, e) => s.Apply(e));

        Assert.Equal(_state, replayed);
        Assert.Equal(View() with { RequestsRemaining = null, TokensRemaining = null, InFlight = 0 },
            replayed.View(_now) with { RequestsRemaining = null, TokensRemaining = null, InFlight = 0 });
        Assert.Equal((1.75m, 1.75m), (replayed.View(_now).SpentUsd, replayed.TotalSpentUsd));
    }

    [Fact]
    public void A_snapshot_keeps_buckets_and_in_flight_requests_so_a_moved_key_gets_no_new_allowance()
    {
        Upsert(Define(rpm: 2, maxConcurrent: 5));
        Admit("r1");
        Admit("r2");
        var snapshot = _state.ToSnapshot(_now);

        // Another node, whose monotonic clock has another origin; 10 s of wall time passed.
        Advance(TimeSpan.FromSeconds(10));
        var moved = ApiKeyState.FromSnapshot(Id, snapshot, new Moment(42, _now.Utc));

        var refused = moved.Decide(new Admit(Id, "r3", 10, "m"), new Moment(42, _now.Utc));
        Assert.Equal((AdmitRefusal.Requests, 20_000L), (Assert.IsType<AdmitResult>(refused.Reply).Refusal, ((AdmitResult)refused.Reply!).RetryAfterMs));
        Assert.Equal(2, moved.InFlight);
        Assert.Equal(_state, moved);

        moved.Decide(new Complete(Id, "r1", 10, 10, 0m), new Moment(43, _now.Utc));
        Assert.Equal(1, moved.InFlight);
    }

    [Fact]
    public void A_snapshot_leaves_out_spend_not_written_yet_which_its_event_replays_later()
    {
        Upsert(Define(budgetUsd: 10m));
        Complete("r1", 10, 10, 1m);
        Write(_state.CloseSpendBatch());
        Complete("r2", 10, 10, 2m);
        var (_, unwritten) = _state.CloseSpendBatch();

        var snapshot = _state.ToSnapshot(_now);
        Assert.Equal((1m, 1m), (snapshot.SpentUsd, snapshot.TotalSpentUsd));

        Write(new ApiKeyDecision(null, unwritten));
        var restored = ApiKeyState.FromSnapshot(Id, snapshot, _now).Apply(unwritten[0]);
        Assert.Equal(_state, restored);
        Assert.Equal(3m, restored.View(_now).SpentUsd);
    }

    [Theory]
    [InlineData(new[] { 3, 10 }, 3)] // lowered to 3 (clamped), then raised: the 3 left stay
    [InlineData(new[] { 3, 0, 10 }, 10)] // unlimited in between (0 here): the bucket starts again, full
    public void Limits_upserted_after_a_snapshot_apply_on_replay_in_order(int[] rpms, long remaining)
    {
        Upsert(Define(rpm: 10));
        for (var i = 0; i < 4; i++) Admit($"r{i}");
        var snapshot = _state.ToSnapshot(_now);
        var later = new List<IRouterMessage>();
        foreach (var rpm in rpms)
        {
            var (_, events) = _state.Decide(Define(rpm: rpm == 0 ? null : rpm), _now);
            later.AddRange(events);
            _state = _state.Apply(events[0]); // no use of the buckets in between, as during a replay
        }

        var restored = later.Aggregate(ApiKeyState.FromSnapshot(Id, snapshot, _now), (s, e) => s.Apply(e));

        Assert.Equal(_state, restored);
        Assert.Equal(remaining, View().RequestsRemaining);
        Assert.Equal(remaining, restored.View(_now).RequestsRemaining);
    }

    [Fact]
    public void Apply_refuses_what_is_not_an_event_of_a_key()
    {
        Assert.Throws<ArgumentException>(() => _state.Apply(new GetState(Id)));
    }
}

using System.Text;
using Akka.Actor;
using Router.Contracts.Batches;
using Router.Contracts.Breakers;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Contracts.Tests.Serialization;

/// <summary>
/// The journal keeps these bytes for years: each persisted event and snapshot is pinned to its exact JSON, and a row
/// written in that format is read back with every field as it was. A failing test here means stored data would no
/// longer recover, not that a test needs updating.
/// </summary>
public sealed class StoredFormatTests() : Akka.TestKit.Xunit2.TestKit(RouterSerializer.Hocon)
{
    private const string KeyHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private static readonly ApiKeyId Id = new("ba7816bf8f01cfea");
    private static readonly DateTimeOffset At = new(2026, 3, 10, 12, 30, 15, 123, TimeSpan.Zero);

    private RouterSerializer Serializer => new((ExtendedActorSystem)Sys);

    private string Json(object message) => Encoding.UTF8.GetString(Serializer.ToBinary(message));

    private T Read<T>(string manifest, string json) => Assert.IsType<T>(Serializer.FromBinary(Encoding.UTF8.GetBytes(json), manifest));

    private const string UpsertedJson =
        """{"keyId":"ba7816bf8f01cfea","name":"team-a","keyHash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","rpm":60,"tpm":null,"maxConcurrent":20,"budgetUsd":10.50,"budgetPeriod":"Month","models":["gpt-4o-mini","claude-*"],"source":"Admin","at":"2026-03-10T12:30:15.123+00:00"}""";

    private static readonly KeyUpserted Upserted = new(
        Id, "team-a", KeyHash, 60, null, 20, 10.50m, BudgetPeriod.Month, ["gpt-4o-mini", "claude-*"], KeySource.Admin, At);

    [Fact]
    public void Key_upserted_is_stored_as_pinned_json_and_read_back_field_by_field()
    {
        Assert.Equal("ak.e.up", Serializer.Manifest(Upserted));
        Assert.Equal(UpsertedJson, Json(Upserted));

        var back = Read<KeyUpserted>("ak.e.up", UpsertedJson);
        Assert.Equal(Id, back.KeyId);
        Assert.Equal("team-a", back.Name);
        Assert.Equal(KeyHash, back.KeyHash);
        Assert.Equal(60, back.Rpm);
        Assert.Null(back.Tpm);
        Assert.Equal(20, back.MaxConcurrent);
        Assert.Equal(10.50m, back.BudgetUsd);
        Assert.Equal(BudgetPeriod.Month, back.BudgetPeriod);
        Assert.Equal(["gpt-4o-mini", "claude-*"], back.Models);
        Assert.Equal(KeySource.Admin, back.Source);
        Assert.Equal(At, back.At);
    }

    [Fact]
    public void Key_revoked_is_stored_as_pinned_json()
    {
        const string json = """{"keyId":"ba7816bf8f01cfea","at":"2026-03-10T12:30:15.123+00:00"}""";

        Assert.Equal("ak.e.rv", Serializer.Manifest(new KeyRevoked(Id, At)));
        Assert.Equal(json, Json(new KeyRevoked(Id, At)));
        Assert.Equal(new KeyRevoked(Id, At), Read<KeyRevoked>("ak.e.rv", json));
    }

    [Fact]
    public void Spend_recorded_keeps_decimal_precision_that_binary_floating_point_would_lose()
    {
        // 0.1 + 0.2 of a dollar, and a millionth of a cent: spend is money, it must come back to the last digit.
        var spend = new SpendRecorded(Id, 0.300000000001m, 3, 1_234_567_890_123, At);
        const string json = """{"keyId":"ba7816bf8f01cfea","costUsd":0.300000000001,"requests":3,"tokens":1234567890123,"at":"2026-03-10T12:30:15.123+00:00"}""";

        Assert.Equal(json, Json(spend));
        var back = Read<SpendRecorded>("ak.e.sp", json);
        Assert.Equal(0.300000000001m, back.CostUsd);
        Assert.Equal(3, back.Requests);
        Assert.Equal(1_234_567_890_123L, back.Tokens);
        Assert.Equal(spend, back);
    }

    [Fact]
    public void Api_key_snapshot_is_stored_as_pinned_json_and_restores_buckets_and_in_flight_requests()
    {
        var snapshot = new ApiKeySnapshot(
            Upserted, At.AddDays(-1), null, 3.2m, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), 99.9m,
            new BucketLevel(42, 1234), new BucketLevel(-500, 0), [new InFlightRequest("req-9", 300, At)], At);
        var json = "{\"key\":" + UpsertedJson
            + ""","createdAt":"2026-03-09T12:30:15.123+00:00","revokedAt":null,"spentUsd":3.2,"budgetPeriodStart":"2026-03-01T00:00:00+00:00","totalSpentUsd":99.9,"requests":{"level":42,"refillOffsetTicks":1234},"tokens":{"level":-500,"refillOffsetTicks":0},"inFlight":[{"requestId":"req-9","estimatedTokens":300,"admittedAt":"2026-03-10T12:30:15.123+00:00"}],"takenAt":"2026-03-10T12:30:15.123+00:00"}""";

        Assert.Equal("ak.s", Serializer.Manifest(snapshot));
        Assert.Equal(json, Json(snapshot));

        var back = Read<ApiKeySnapshot>("ak.s", json);
        Assert.Equal(Upserted.Models, back.Key.Models);
        Assert.Equal(Upserted with { Models = back.Key.Models }, back.Key);
        Assert.Equal(At.AddDays(-1), back.CreatedAt);
        Assert.Null(back.RevokedAt);
        Assert.Equal(3.2m, back.SpentUsd);
        Assert.Equal(99.9m, back.TotalSpentUsd);
        Assert.Equal(new BucketLevel(42, 1234), back.Requests);
        Assert.Equal(new BucketLevel(-500, 0), back.Tokens);
        Assert.Equal([new InFlightRequest("req-9", 300, At)], back.InFlight);
        Assert.Equal(At, back.TakenAt);
    }

    [Fact]
    public void An_old_row_without_a_field_added_later_still_recovers()
    {
        // Fields may be added to events ("add fields, don't rename"): a row written before maxConcurrent existed
        // reads with it absent (null), not as a failure.
        const string json = """{"keyId":"ba7816bf8f01cfea","name":"old","keyHash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","rpm":5,"tpm":100,"budgetUsd":null,"budgetPeriod":"Total","models":[],"source":"Config","at":"2026-03-10T12:30:15.123+00:00"}""";

        var back = Read<KeyUpserted>("ak.e.up", json);

        Assert.Equal("old", back.Name);
        Assert.Equal(5, back.Rpm);
        Assert.Equal(100, back.Tpm);
        Assert.Null(back.MaxConcurrent);
        Assert.Null(back.BudgetUsd);
        Assert.Equal(BudgetPeriod.Total, back.BudgetPeriod);
        Assert.Empty(back.Models);
        Assert.Equal(KeySource.Config, back.Source);
    }

    [Fact]
    public void Batch_events_are_stored_as_pinned_json()
    {
        var created = new BatchEvents.BatchCreated(
            "batch_1", "ba7816bf8f01cfea", KeyHash, "file-1", "/v1/chat/completions", "24h", 3,
            [new BatchLineError(2, "c-2", "invalid_url", "Line 2: url")], new Dictionary<string, string> { ["team"] = "a" }, At);

        Assert.Equal(
            """{"batchId":"batch_1","keyId":"ba7816bf8f01cfea","keyHash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","inputFileId":"file-1","endpoint":"/v1/chat/completions","completionWindow":"24h","total":3,"malformed":[{"line":2,"customId":"c-2","code":"invalid_url","message":"Line 2: url"}],"metadata":{"team":"a"},"at":"2026-03-10T12:30:15.123+00:00"}""",
            Json(created));
        Assert.Equal(
            """{"customId":"item-1","index":4,"succeeded":false,"line":"{\u0022custom_id\u0022:\u0022item-1\u0022}","at":"2026-03-10T12:30:15.123+00:00"}""",
            Json(new BatchEvents.ItemCompleted("item-1", 4, false, "{\"custom_id\":\"item-1\"}", At)));
        Assert.Equal("""{"at":"2026-03-10T12:30:15.123+00:00"}""", Json(new BatchEvents.BatchCancelled(At)));
        Assert.Equal(
            """{"status":"Completed","outputFileId":"file-out","errorFileId":null,"completed":2,"failed":1,"at":"2026-03-10T12:30:15.123+00:00"}""",
            Json(new BatchEvents.BatchFinished(BatchJobStatus.Completed, "file-out", null, 2, 1, At)));
    }

    [Fact]
    public void Batch_item_read_back_keeps_its_output_line_byte_for_byte()
    {
        const string json = """{"customId":"item-1","index":4,"succeeded":true,"line":"{\"custom_id\":\"item-1\",\"response\":{\"status_code\":200}}","at":"2026-03-10T12:30:15.123+00:00"}""";

        var back = Read<BatchEvents.ItemCompleted>("bt.e.ic", json);

        Assert.Equal(new BatchEvents.ItemCompleted("item-1", 4, true, """{"custom_id":"item-1","response":{"status_code":200}}""", At), back);
    }

    [Fact]
    public void Breaker_and_provider_key_publications_have_pinned_json()
    {
        Assert.Equal(
            """{"deploymentId":"gpt-4o-mini/openai","status":"Open","remainingOpenMs":30000,"lastFailureUnixMs":1795000000000,"consecutiveFailures":5}""",
            Json(new BreakerEvents.StateChanged("gpt-4o-mini/openai", "Open", 30_000, 1_795_000_000_000, 5)));
        Assert.Equal(
            """{"provider":"openai","keyId":"primary","cooldownRemainingMs":null,"disabled":true}""",
            Json(new ProviderKeyEvents.StatusChanged("openai", "primary", null, true)));
        // Unlike ApiKeyId, DeploymentId has no converter of its own: it travels as an object with a value.
        Assert.Equal(
            """{"deploymentId":{"value":"gpt-4o-mini/openai"},"success":false,"failureKind":"ServerError"}""",
            Json(new BreakerCommands.ReportOutcome(new DeploymentId("gpt-4o-mini/openai"), false, "ServerError")));
    }
}

using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Router.Contracts.RateLimiting;
using Router.Contracts.Serialization;
using static Router.Contracts.RateLimiting.ApiKeyCommands;
using static Router.Contracts.RateLimiting.ApiKeyEvents;

namespace Router.Contracts.Tests.Serialization;

public sealed class RouterSerializerTests() : Akka.TestKit.Xunit2.TestKit(RouterSerializer.Hocon)
{
    private static readonly string Hash = ApiKeyHash.Compute("sk-serializer-test");
    private static readonly ApiKeyId Id = ApiKeyId.FromKeyHash(Hash);
    private static readonly DateTimeOffset At = new(2026, 3, 10, 12, 30, 15, 123, TimeSpan.Zero);

    private static readonly KeyUpserted Upserted = new(
        Id, "team-a", Hash, 60, 100_000, 20, 10.50m, BudgetPeriod.Month, ["gpt-4o-mini", "claude-*"], KeySource.Config, At);

    private static readonly Router.Contracts.Batches.BatchEvents.BatchCreated BatchCreated = new(
        "batch_1", "0123456789abcdef", Hash, "file-1", "/v1/chat/completions", "24h", 3,
        [new Router.Contracts.Batches.BatchLineError(2, "c-2", "invalid_url", "Line 2: url")], null, At);

    /// <summary>One non-trivial instance per message type; nulls and collections included where a type has them.</summary>
    public static readonly IReadOnlyList<IRouterMessage> Samples =
    [
        new Upsert(Id, "team-a", Hash, 60, null, 20, 0.000001m, BudgetPeriod.Day, ["*"], KeySource.Admin),
        new Revoke(Id),
        new Admit(Id, "req-1", 1234, "gpt-4o-mini"),
        new Admit(Id, "req-3", 99, "fast", Hash, ["gpt-4o-mini", "fast"]),
        new Admit(Id, "req-4", 99, "fast", Hash, ["fast"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        new Complete(Id, "req-1", 1234, 987, 0.0012345m),
        new Abort(Id, "req-2", 50),
        new GetState(Id),
        new AdmitResult(Id, "req-1", false, AdmitRefusal.Tokens, 20_000, new RateLimitStatus(60, 0, 60_000), null),
        new KeyState(
            Id, true, "team-a", KeySource.Config, 60, 100_000, null, 59, -300, 1, 10m, BudgetPeriod.Month, 1.5m, 7.25m,
            At.AddDays(20), true, At, ["gpt-4o-mini"], At.AddDays(-3), At),
        KeyState.NotFound(Id),
        Upserted,
        new KeyRevoked(Id, At),
        new SpendRecorded(Id, 0.75m, 12, 40_000, At),
        new ApiKeySnapshot(
            Upserted, At.AddDays(-1), null, 3.2m, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), 99.9m,
            new BucketLevel(42, 1234), new BucketLevel(-500, 0), [new InFlightRequest("req-9", 300, At)], At),
        new Router.Contracts.Breakers.BreakerCommands.ReportOutcome(new("gpt-4o-mini/openai"), false, "ServerError"),
        new Router.Contracts.Breakers.BreakerCommands.GetState(new("gpt-4o-mini/openai")),
        new Router.Contracts.Breakers.BreakerEvents.StateChanged("gpt-4o-mini/openai", "Open", 30_000, 1_795_000_000_000, 5),
        new Router.Contracts.Breakers.ProviderKeyEvents.StatusChanged("openai", "primary", 30_000, false),
        new Router.Contracts.Batches.BatchCommands.Create("batch_1", "0123456789abcdef", Hash, "file-1", "/v1/chat/completions", "24h", 3,
            [new Router.Contracts.Batches.BatchLineError(2, null, "invalid_json", "Line 2 is not valid JSON.")], new Dictionary<string, string> { ["team"] = "a" }),
        new Router.Contracts.Batches.BatchCommands.GetStatus("batch_1"),
        new Router.Contracts.Batches.BatchCommands.Cancel("batch_1"),
        new Router.Contracts.Batches.BatchCommands.Resume("batch_1"),
        new Router.Contracts.Batches.BatchCommands.Resumed("batch_1", true, false),
        new Router.Contracts.Batches.BatchCommands.BatchStatus("batch_1", true, "0123456789abcdef", Router.Contracts.Batches.BatchJobStatus.InProgress,
            "file-1", "/v1/chat/completions", "24h", 3, 1, 1, null, "file-1-errors", At, At, null, null, null, null, null, null),
        Router.Contracts.Batches.BatchCommands.BatchStatus.NotFound("batch_2"),
        BatchCreated,
        new Router.Contracts.Batches.BatchEvents.ItemCompleted("item-1", 0, true, "{\"custom_id\":\"item-1\"}", At),
        new Router.Contracts.Batches.BatchEvents.BatchCancelled(At),
        new Router.Contracts.Batches.BatchEvents.BatchFinished(Router.Contracts.Batches.BatchJobStatus.Completed, "file-1-output", null, 2, 1, At),
        new Router.Contracts.Batches.BatchEvents.BatchSnapshot(BatchCreated, Router.Contracts.Batches.BatchJobStatus.Cancelled, 1, 2, null, "file-e", At, At),
    ];

    public static TheoryData<int> SampleIndexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Samples.Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SampleIndexes))]
    public void Round_trips_every_message_type_through_the_bound_serializer(int index)
    {
        var message = Samples[index];
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<RouterSerializer>(serializer);

        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var back = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(message.GetType(), back);
        Assert.Equivalent(message, back, strict: true);
        // Value equality where the record has no collections confirms nothing was lost in conversion.
        Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(serializer.ToBinary(back)));
    }

    [Fact]
    public void Every_type_in_the_manifest_table_has_a_round_trip_sample()
    {
        var sampled = Samples.Select(s => s.GetType()).ToHashSet();

        Assert.All(RouterManifests.All, entry => Assert.Contains(entry.Type, sampled));
    }

    [Fact]
    public void Every_router_message_type_has_exactly_one_manifest()
    {
        var messageTypes = typeof(IRouterMessage).Assembly.GetTypes()
            .Where(t => typeof(IRouterMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .ToList();

        // Every type in the table lives in Contracts, and nothing in Contracts is missing from it.
        Assert.Equal(RouterManifests.All.Count, messageTypes.Count);
        Assert.All(messageTypes, t => Assert.Single(RouterManifests.All, e => e.Type == t));
        Assert.Equal(RouterManifests.All.Count, RouterManifests.All.Select(e => e.Manifest).Distinct().Count());
    }

    [Fact]
    public void Stored_event_format_is_stable()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);
        var spend = new SpendRecorded(new ApiKeyId("0123456789abcdef"), 0.75m, 12, 40_000, At);

        Assert.Equal("ak.e.sp", serializer.Manifest(spend));
        Assert.Equal(
            """{"keyId":"0123456789abcdef","costUsd":0.75,"requests":12,"tokens":40000,"at":"2026-03-10T12:30:15.123+00:00"}""",
            Encoding.UTF8.GetString(serializer.ToBinary(spend)));
    }

    [Fact]
    public void Admit_result_wire_format_is_stable()
    {
        // As sent by nodes from before the limit status had one type: a rolling upgrade must still read it.
        const string Sent =
            """{"keyId":"0123456789abcdef","requestId":"req-1","admitted":false,"refusal":"Tokens","retryAfterMs":20000,"requests":{"limit":60,"remaining":0,"resetMs":60000},"tokens":null}""";
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);
        var result = new AdmitResult(new ApiKeyId("0123456789abcdef"), "req-1", false, AdmitRefusal.Tokens, 20_000, new RateLimitStatus(60, 0, 60_000), null);

        Assert.Equal("ak.ar", serializer.Manifest(result));
        Assert.Equal(Sent, Encoding.UTF8.GetString(serializer.ToBinary(result)));
        var read = Assert.IsType<AdmitResult>(serializer.FromBinary(Encoding.UTF8.GetBytes(Sent), "ak.ar"));
        Assert.Equal(TimeSpan.FromMinutes(1), read.Requests!.ResetAfter);
        Assert.Equal(result, read);
    }

    [Fact]
    public void Admit_from_a_node_without_tracing_still_reads_and_a_trace_parent_is_carried()
    {
        // As sent before admission carried the trace context: a rolling upgrade must still read it.
        const string Old = """{"keyId":"0123456789abcdef","requestId":"req-1","estimatedTokens":50,"model":"gpt","keyHash":null,"modelNames":null}""";
        const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        var old = Assert.IsType<Admit>(serializer.FromBinary(Encoding.UTF8.GetBytes(Old), "ak.ad"));
        Assert.Equal("req-1", old.RequestId);
        Assert.Null(old.TraceParent);

        var sent = new Admit(new ApiKeyId("0123456789abcdef"), "req-2", 50, "gpt", TraceParent: TraceParent);
        var json = Encoding.UTF8.GetString(serializer.ToBinary(sent));
        Assert.Contains($"\"traceParent\":\"{TraceParent}\"", json);
        Assert.Equal(TraceParent, Assert.IsType<Admit>(serializer.FromBinary(Encoding.UTF8.GetBytes(json), "ak.ad")).TraceParent);
    }

    [Fact]
    public void Enums_are_stored_by_name()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        var json = Encoding.UTF8.GetString(serializer.ToBinary(Upserted));

        Assert.Contains("\"budgetPeriod\":\"Month\"", json);
        Assert.Contains("\"source\":\"Config\"", json);
    }

    [Fact]
    public void Unknown_manifest_is_a_serialization_exception()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "no.such"));
    }

    [Fact]
    public void Malformed_payload_is_a_serialization_exception()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<SerializationException>(() => serializer.FromBinary("not json"u8.ToArray(), "ak.rv"));
    }

    [Theory]
    [InlineData("""{"keyId":null}""")]
    [InlineData("""{"keyId":""}""")]
    [InlineData("""{"keyId":42}""")]
    public void A_message_whose_key_id_is_null_empty_or_not_a_string_is_refused(string payload)
    {
        // A null id would otherwise reach the shard extractor and fail there, far from the bad payload.
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<SerializationException>(() => serializer.FromBinary(Encoding.UTF8.GetBytes(payload), "ak.rv"));
    }

    [Fact]
    public void A_type_without_a_manifest_is_refused()
    {
        var serializer = new RouterSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<SerializationException>(() => serializer.ToBinary(new NotInTheTable()));
    }

    [Fact]
    public void Identifier_is_fixed_and_outside_akkas_range()
    {
        Assert.Equal(1701, new RouterSerializer((ExtendedActorSystem)Sys).Identifier);
    }

    private sealed record NotInTheTable;
}

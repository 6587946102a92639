using Router.Actors.Usage;
using Router.Node.Usage;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Usage;

/// <summary>
/// Behaviour every ledger store must show, run once per provider against a real database
/// (a temp SQLite file; the PostgreSQL named by ROUTER_TEST_POSTGRES).
/// </summary>
public abstract class UsageStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private IUsageStore? _store;

    protected IUsageStore Store => _store ?? throw new InvalidOperationException("store not initialised");

    /// <summary>Creates a store over an empty, private table.</summary>
    protected abstract Task<IUsageStore> CreateStoreAsync();

    protected abstract Task DestroyStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.EnsureSchemaAsync();
    }

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
        await DestroyStoreAsync();
    }

    internal static UsageRecord Row(
        string id,
        DateTimeOffset? at = null,
        string key = "k1",
        string model = "gpt-4o-mini",
        string? deployment = "gpt-4o-mini/openai",
        int input = 100,
        int output = 50,
        decimal cost = 0.0001m,
        int latency = 100,
        UsageOutcome outcome = UsageOutcome.Success) =>
        new(id, at ?? T0, key, key + "-name", model, model, deployment, "primary",
            input, output, cost, latency, 1, outcome, Stream: false);

    [Fact]
    public async Task Round_trips_every_field_in_utc_with_exact_cost()
    {
        var full = new UsageRecord("req-full", new DateTimeOffset(2025, 3, 1, 12, 30, 15, 123, TimeSpan.FromHours(2)).AddTicks(4567),
            "key-1", "tenant a", "fast", "gpt-4o-mini", "dep-1", "backup", 1234, 567, 1234.5678901234m, 987, 3,
            UsageOutcome.UpstreamError, Stream: true);
        var sparse = new UsageRecord("req-sparse", T0, "key-2", null, "auto", null, null, null, 0, 0, 0m, 0, 0,
            UsageOutcome.Rejected, Stream: false);

        await Store.InsertBatchAsync([full, sparse]);
        var rows = await Store.ListAsync(new UsageQuery(), 10);

        Assert.Equal(2, rows.Count);
        var back = Assert.Single(rows, r => r.RequestId == "req-full");
        Assert.Equal(full with { Timestamp = new DateTimeOffset(2025, 3, 1, 10, 30, 15, 123, TimeSpan.Zero) }, back);
        Assert.Equal(TimeSpan.Zero, back.Timestamp.Offset);
        Assert.Equal(sparse, Assert.Single(rows, r => r.RequestId == "req-sparse"));
    }

    [Fact]
    public async Task Reinserting_a_batch_adds_no_rows_and_keeps_the_first_write()
    {
        var batch = Enumerable.Range(0, 20).Select(i => Row($"r{i}")).ToArray();
        await Store.InsertBatchAsync(batch);
        await Store.InsertBatchAsync(batch);
        await Store.InsertBatchAsync([Row("r3", input: 999_999), Row("r20")]);

        Assert.Equal(21, await Store.CountAsync(new UsageQuery()));
        var total = Assert.Single(await Store.QueryAsync(new UsageQuery()));
        Assert.Equal(21 * 100, total.InputTokens);
    }

    [Fact]
    public async Task The_same_request_twice_in_one_batch_is_one_row()
    {
        await Store.InsertBatchAsync([Row("dup"), Row("dup", input: 7), Row("other")]);
        Assert.Equal(2, await Store.CountAsync(new UsageQuery()));
    }

    [Fact]
    public async Task A_batch_is_one_transaction_a_bad_row_writes_nothing()
    {
        // 2,001 rows span several statements on PostgreSQL; the last one overflows the cost column.
        var batch = Enumerable.Range(0, 2000).Select(i => Row($"ok{i}"))
            .Append(Row("too-expensive", cost: 100_000_000_000m))
            .ToArray();

        await Assert.ThrowsAnyAsync<Exception>(() => Store.InsertBatchAsync(batch));
        Assert.Equal(0, await Store.CountAsync(new UsageQuery()));
    }

    [Fact]
    public async Task Writes_large_batches_in_full()
    {
        var batch = Enumerable.Range(0, 2500).Select(i => Row($"big{i}", input: i)).ToArray();
        await Store.InsertBatchAsync(batch);

        var total = Assert.Single(await Store.QueryAsync(new UsageQuery()));
        Assert.Equal(2500, total.Requests);
        Assert.Equal(2499L * 2500 / 2, total.InputTokens);
    }

    [Fact]
    public async Task An_empty_ledger_totals_zero()
    {
        var total = Assert.Single(await Store.QueryAsync(new UsageQuery()));
        Assert.Equal(new UsageAggregate(null, null, 0, 0, 0, 0m, 0d, 0), total);
        Assert.Empty(await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Key }));
    }

    [Fact]
    public async Task Totals_are_exact_and_errors_exclude_cancellations()
    {
        await Store.InsertBatchAsync([
            Row("a", input: 1000, output: 10, cost: 0.0000000001m, latency: 100),
            Row("b", input: 2000, output: 20, cost: 0.0000000002m, latency: 200, outcome: UsageOutcome.UpstreamError),
            Row("c", input: 3000, output: 30, cost: 1234.5678901234m, latency: 600, outcome: UsageOutcome.Cancelled),
            Row("d", input: 0, output: 0, cost: 0m, latency: 0, outcome: UsageOutcome.RateLimited),
        ]);

        var total = Assert.Single(await Store.QueryAsync(new UsageQuery()));
        Assert.Equal(new UsageAggregate(null, null, 4, 6000, 60, 1234.5678901237m, 225d, 2), total);
    }

    [Fact]
    public async Task Many_small_costs_sum_without_drift()
    {
        await Store.InsertBatchAsync(Enumerable.Range(0, 1000).Select(i => Row($"s{i}", cost: 0.0000001m)).ToArray());
        Assert.Equal(0.0001m, Assert.Single(await Store.QueryAsync(new UsageQuery())).CostUsd);
    }

    [Fact]
    public async Task Filters_by_key_model_and_half_open_time_window()
    {
        await Store.InsertBatchAsync([
            Row("1", at: T0, key: "k1", model: "m1"),
            Row("2", at: T0.AddMinutes(1), key: "k1", model: "m2"),
            Row("3", at: T0.AddMinutes(2), key: "k2", model: "m1"),
            Row("4", at: T0.AddMinutes(3), key: "k2", model: "m2"),
        ]);

        async Task<string[]> Ids(UsageQuery q) =>
            (await Store.ListAsync(q, 100)).Select(r => r.RequestId).Order().ToArray();

        Assert.Equal(["1", "2"], await Ids(new UsageQuery { KeyId = "k1" }));
        Assert.Equal(["1", "3"], await Ids(new UsageQuery { Model = "m1" }));
        Assert.Equal(["3"], await Ids(new UsageQuery { KeyId = "k2", Model = "m1" }));
        Assert.Equal(["2", "3"], await Ids(new UsageQuery { From = T0.AddMinutes(1), To = T0.AddMinutes(3) }));
        // The same instant in another offset selects the same rows.
        Assert.Equal(["2", "3"], await Ids(new UsageQuery
        {
            From = T0.AddMinutes(1).ToOffset(TimeSpan.FromHours(-5)), To = T0.AddMinutes(3).ToOffset(TimeSpan.FromHours(9)),
        }));
        Assert.Empty(await Ids(new UsageQuery { KeyId = "nobody" }));

        Assert.Equal(2, await Store.CountAsync(new UsageQuery { KeyId = "k2" }));
        Assert.Equal(3, await Store.CountAsync(new UsageQuery { From = T0.AddMinutes(1) }));
        var k1 = Assert.Single(await Store.QueryAsync(new UsageQuery { KeyId = "k1", To = T0.AddMinutes(1) }));
        Assert.Equal(1, k1.Requests);
    }

    [Fact]
    public async Task Lists_newest_first_up_to_the_limit()
    {
        await Store.InsertBatchAsync([Row("old", at: T0), Row("new", at: T0.AddHours(1)), Row("mid", at: T0.AddMinutes(30))]);
        Assert.Equal(["new", "mid"], (await Store.ListAsync(new UsageQuery(), 2)).Select(r => r.RequestId));
    }

    [Fact]
    public async Task Groups_by_key_model_and_deployment()
    {
        await Store.InsertBatchAsync([
            Row("1", key: "k1", model: "m1", deployment: "d1", input: 10, cost: 0.1m),
            Row("2", key: "k1", model: "m2", deployment: "d2", input: 20, cost: 0.2m),
            Row("3", key: "k2", model: "m1", deployment: "d1", input: 30, cost: 0.3m, outcome: UsageOutcome.Timeout),
            Row("4", key: "k2", model: "m1", deployment: null, input: 40, cost: 0m, outcome: UsageOutcome.Overloaded),
        ]);

        var byKey = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Key });
        Assert.Equal([("k1", 2L, 30L, 0.3m, 0L), ("k2", 2L, 70L, 0.3m, 2L)],
            byKey.Select(a => (a.Group, a.Requests, a.InputTokens, a.CostUsd, a.Errors)));

        var byModel = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Model });
        Assert.Equal([("m1", 3L, 80L), ("m2", 1L, 20L)], byModel.Select(a => (a.Group, a.Requests, a.InputTokens)));

        var byDeployment = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Deployment, KeyId = "k2" });
        Assert.Equal([((string?)null, 1L, 40L), ("d1", 1L, 30L)], byDeployment.Select(a => (a.Group, a.Requests, a.InputTokens)));
        Assert.All(byDeployment, a => Assert.Null(a.BucketStart));
    }

    [Fact]
    public async Task Groups_by_utc_day_and_hour_in_time_order()
    {
        var day1 = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await Store.InsertBatchAsync([
            Row("1", at: day1.AddHours(23).AddMinutes(59).AddSeconds(59).AddMilliseconds(999), input: 1),
            Row("2", at: day1.AddHours(1).AddMinutes(5), input: 2),
            Row("3", at: day1.AddHours(1).AddMinutes(55), input: 4),
            Row("4", at: day1.AddDays(1), input: 8),
            // 01:30 in UTC+3 is 22:30 UTC of the previous day.
            Row("5", at: new DateTimeOffset(2025, 3, 2, 1, 30, 0, TimeSpan.FromHours(3)), input: 16),
        ]);

        var byDay = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Day });
        Assert.Equal([("2025-03-01", day1, 4L, 23L), ("2025-03-02", day1.AddDays(1), 1L, 8L)],
            byDay.Select(a => (a.Group, a.BucketStart!.Value, a.Requests, a.InputTokens)));

        var byHour = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Hour });
        Assert.Equal([
                ("2025-03-01T01:00Z", day1.AddHours(1), 2L, 6L),
                ("2025-03-01T22:00Z", day1.AddHours(22), 1L, 16L),
                ("2025-03-01T23:00Z", day1.AddHours(23), 1L, 1L),
                ("2025-03-02T00:00Z", day1.AddDays(1), 1L, 8L),
            ],
            byHour.Select(a => (a.Group, a.BucketStart!.Value, a.Requests, a.InputTokens)));

        var filtered = await Store.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Hour, From = day1.AddHours(2), To = day1.AddDays(1) });
        Assert.Equal(["2025-03-01T22:00Z", "2025-03-01T23:00Z"], filtered.Select(a => a.Group));
    }

    [Fact]
    public async Task Ensuring_the_schema_again_keeps_the_rows()
    {
        await Store.InsertBatchAsync([Row("keep")]);
        await Store.EnsureSchemaAsync();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Store.EnsureSchemaAsync()));
        Assert.Equal(1, await Store.CountAsync(new UsageQuery()));
    }
}

using Akka.Streams;
using Router.Actors.Usage;
using Router.Node.Usage;
using static Router.Node.Tests.Usage.UsageStoreContract;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Usage;

public sealed class UsageLedgerWriterTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly TempSqliteFile _file = new();
    private readonly IUsageStore _sqlite;

    public UsageLedgerWriterTests() => _sqlite = UsageStore.Create("sqlite", _file.ConnectionString);

    public Task InitializeAsync() => _sqlite.EnsureSchemaAsync();

    public async Task DisposeAsync()
    {
        await _sqlite.DisposeAsync();
        _file.Dispose();
    }

    private static UsageLedgerWriterOptions Options(int maxBatch = 16, TimeSpan? maxDelay = null, int maxAttempts = 5) => new()
    {
        BufferSize = 64,
        MaxBatch = maxBatch,
        MaxDelay = maxDelay ?? TimeSpan.FromMilliseconds(20),
        MaxAttempts = maxAttempts,
        BaseBackoff = TimeSpan.FromMilliseconds(1),
        MaxBackoff = TimeSpan.FromMilliseconds(5),
    };

    [Fact]
    public async Task Writes_every_record_once_with_correct_totals()
    {
        var store = new RecordingStore(_sqlite);
        var writer = new UsageLedgerWriter(Sys, store, Options(maxBatch: 32));

        // More concurrent callers than the buffer holds: they must wait, not fail or drop.
        await Task.WhenAll(Enumerable.Range(0, 500).Select(i =>
            writer.RecordAsync(Row($"r{i}", key: i % 2 == 0 ? "even" : "odd", input: i, output: 1, cost: 0.000001m))));
        await writer.FlushAndStopAsync();

        var byKey = await _sqlite.QueryAsync(new UsageQuery { GroupBy = UsageGroupBy.Key });
        Assert.Equal([("even", 250L, 62_250L), ("odd", 250L, 62_500L)], byKey.Select(a => (a.Group!, a.Requests, a.InputTokens)));
        Assert.Equal(0.0005m, byKey.Sum(a => a.CostUsd));
        Assert.Equal(500, store.Rows);
        Assert.All(store.BatchSizes, size => Assert.InRange(size, 1, 32));
    }

    [Fact]
    public async Task Acknowledges_a_record_only_after_its_batch_is_committed()
    {
        var store = new GatedStore(_sqlite);
        var writer = new UsageLedgerWriter(Sys, store, Options());

        var ack = writer.RecordAsync(Row("gated"));
        await store.Entered.Task;           // the batch is at the store, not yet written

        Assert.False(ack.IsCompleted);
        Assert.Equal(0, await _sqlite.CountAsync(new UsageQuery()));

        store.Open.SetResult();
        await ack;
        Assert.Equal(1, await _sqlite.CountAsync(new UsageQuery()));
        await writer.FlushAndStopAsync();
    }

    [Fact]
    public async Task Flush_and_stop_writes_records_still_waiting_for_their_batch()
    {
        var store = new RecordingStore(_sqlite);
        // Neither the size nor the delay would ever close this batch: only the stop can.
        var writer = new UsageLedgerWriter(Sys, store, Options(maxBatch: 1000, maxDelay: TimeSpan.FromHours(1)));

        var acks = new List<Task>();
        for (var i = 0; i < 25; i++) acks.Add(await writer.EnqueueAsync(Row($"p{i}"), CancellationToken.None));
        Assert.All(acks, a => Assert.False(a.IsCompleted));

        await writer.FlushAndStopAsync();

        Assert.All(acks, a => Assert.True(a.IsCompletedSuccessfully));
        Assert.Equal(25, await _sqlite.CountAsync(new UsageQuery()));
        Assert.Equal([25], store.BatchSizes);
    }

    [Fact]
    public async Task Refuses_records_after_stop()
    {
        var writer = new UsageLedgerWriter(Sys, _sqlite, Options());
        await writer.FlushAndStopAsync();
        await writer.FlushAndStopAsync(); // twice is harmless

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.RecordAsync(Row("late")));
        Assert.Equal(0, await _sqlite.CountAsync(new UsageQuery()));
    }

    [Fact]
    public async Task Retries_transient_failures_without_duplicating_rows()
    {
        // 1st try: the commit lands but the caller sees a timeout (lost acknowledgement).
        // 2nd try: the connection fails before writing. 3rd try: fine.
        var store = new FlakyStore(_sqlite, [FlakyStore.Mode.WriteThenFail, FlakyStore.Mode.FailBeforeWrite]);
        var writer = new UsageLedgerWriter(Sys, store, Options(maxBatch: 100, maxDelay: TimeSpan.FromHours(1)));

        var acks = new List<Task>();
        for (var i = 0; i < 10; i++) acks.Add(await writer.EnqueueAsync(Row($"t{i}", input: 10), CancellationToken.None));
        await writer.FlushAndStopAsync();
        await Task.WhenAll(acks);

        Assert.Equal(3, store.Calls);
        var total = Assert.Single(await _sqlite.QueryAsync(new UsageQuery()));
        Assert.Equal((10L, 100L), (total.Requests, total.InputTokens));
    }

    [Fact]
    public async Task Fails_the_batch_after_its_retries_and_keeps_writing_later_batches()
    {
        var store = new FlakyStore(_sqlite, Enumerable.Repeat(FlakyStore.Mode.FailBeforeWrite, 3).ToArray());
        var writer = new UsageLedgerWriter(Sys, store, Options(maxAttempts: 3));

        var error = await Assert.ThrowsAsync<UsageLedgerException>(() => writer.RecordAsync(Row("unlucky")));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Contains("unlucky", error.Message);

        await writer.RecordAsync(Row("lucky"));
        await writer.FlushAndStopAsync();

        Assert.Equal(["lucky"], (await _sqlite.ListAsync(new UsageQuery(), 10)).Select(r => r.RequestId));
        Assert.Equal(4, store.Calls);
    }

    [Fact]
    public async Task Does_not_retry_a_failure_that_cannot_pass()
    {
        var store = new FlakyStore(_sqlite, [FlakyStore.Mode.FailPermanently]);
        var writer = new UsageLedgerWriter(Sys, store, Options(maxAttempts: 5));

        var error = await Assert.ThrowsAsync<UsageLedgerException>(() => writer.RecordAsync(Row("bad")));
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Equal(1, store.Calls);

        await writer.RecordAsync(Row("good"));
        await writer.FlushAndStopAsync();
        Assert.Equal(1, await _sqlite.CountAsync(new UsageQuery()));
    }

    [Fact]
    public async Task Fails_waiting_records_instead_of_hanging_when_the_stream_dies()
    {
        var materializer = ActorMaterializer.Create(Sys);
        var writer = new UsageLedgerWriter(materializer, _sqlite, Options(maxBatch: 1000, maxDelay: TimeSpan.FromHours(1)));
        var ack = await writer.EnqueueAsync(Row("orphan"), CancellationToken.None);

        materializer.Shutdown();

        // The guard only keeps a regression from hanging the run; the assertion is the exception type.
        await Assert.ThrowsAsync<UsageLedgerException>(() => ack.WaitAsync(TimeSpan.FromMinutes(1)));
        await Assert.ThrowsAnyAsync<Exception>(() => writer.RecordAsync(Row("after")));
    }

    [Fact]
    public async Task Runs_on_a_host_materializer_and_disposing_flushes()
    {
        var store = new RecordingStore(_sqlite);
        var writer = new UsageLedgerWriter(ActorMaterializer.Create(Sys), store, Options());
        await writer.RecordAsync(Row("x"));
        var pending = await writer.EnqueueAsync(Row("y"), CancellationToken.None);
        await writer.DisposeAsync();

        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal(2, await _sqlite.CountAsync(new UsageQuery()));
    }

    /// <summary>Passes through and remembers batch sizes.</summary>
    private sealed class RecordingStore(IUsageStore inner) : DelegatingStore(inner)
    {
        private readonly object _lock = new();
        private readonly List<int> _sizes = [];

        public IReadOnlyList<int> BatchSizes { get { lock (_lock) return _sizes.ToList(); } }

        public int Rows { get { lock (_lock) return _sizes.Sum(); } }

        public override async Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default)
        {
            await base.InsertBatchAsync(records, ct);
            lock (_lock) _sizes.Add(records.Count);
        }
    }

    /// <summary>Holds every batch at the door until the test opens it.</summary>
    private sealed class GatedStore(IUsageStore inner) : DelegatingStore(inner)
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default)
        {
            Entered.TrySetResult();
            await Open.Task;
            await base.InsertBatchAsync(records, ct);
        }
    }

    /// <summary>Misbehaves on its first calls as scripted, then passes through.</summary>
    private sealed class FlakyStore(IUsageStore inner, FlakyStore.Mode[] script) : DelegatingStore(inner)
    {
        public enum Mode { WriteThenFail, FailBeforeWrite, FailPermanently }

        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public override async Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default)
        {
            var call = Interlocked.Increment(ref _calls);
            if (call > script.Length)
            {
                await base.InsertBatchAsync(records, ct);
                return;
            }

            switch (script[call - 1])
            {
                case Mode.WriteThenFail:
                    await base.InsertBatchAsync(records, ct);
                    throw new TimeoutException("acknowledgement lost");
                case Mode.FailBeforeWrite:
                    throw new TimeoutException("connection dropped");
                default:
                    throw new InvalidDataException("not retryable");
            }
        }
    }

    private abstract class DelegatingStore(IUsageStore inner) : IUsageStore
    {
        public Task EnsureSchemaAsync(CancellationToken ct = default) => inner.EnsureSchemaAsync(ct);

        public virtual Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default) =>
            inner.InsertBatchAsync(records, ct);

        public Task<IReadOnlyList<UsageAggregate>> QueryAsync(UsageQuery query, CancellationToken ct = default) =>
            inner.QueryAsync(query, ct);

        public Task<long> CountAsync(UsageQuery query, CancellationToken ct = default) => inner.CountAsync(query, ct);

        public Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, int limit, CancellationToken ct = default) =>
            inner.ListAsync(query, limit, ct);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the test owns the inner store
    }
}

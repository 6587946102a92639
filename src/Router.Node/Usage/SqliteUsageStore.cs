using System.Data.Common;
using Microsoft.Data.Sqlite;
using Router.Actors.Usage;

namespace Router.Node.Usage;

/// <summary>
/// The single-node ledger: a table in a SQLite file (by default the same file as the journal).
/// Timestamps are Unix milliseconds (<c>ts_ms</c>) so range filters and day/hour buckets are integer arithmetic;
/// costs are integer units of 1e-10 USD (<c>cost_e10</c>) so <c>sum()</c> stays exact, where SQLite would turn
/// decimal text into a double.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite's async methods complete synchronously, so every call is moved to the thread pool: the
/// ledger writer's stream and the callers' threads never wait on disk. WAL lets readers (the admin API) run beside
/// the writer; <c>synchronous</c> stays at its FULL default so an acknowledged row survives a power cut, not only a
/// crash.
/// </remarks>
internal sealed class SqliteUsageStore : AdoUsageStore
{
    private const decimal CostScale = 10_000_000_000m;

    private readonly string _connectionString;

    public SqliteUsageStore(string connectionString, string table = UsageStore.DefaultTable) : base(table)
    {
        // Validate early, without echoing the string: a typo should stop start-up, not the first write.
        _ = new SqliteConnectionStringBuilder(connectionString);
        _connectionString = connectionString;
    }

    protected override string TimeColumn => "ts_ms";

    protected override string CostColumn => "cost_e10";

    protected override string CostSumSql => "sum(cost_e10)";

    protected override string AvgLatencySql => "avg(latency_ms)";

    protected override object TimeValue(DateTimeOffset utc) => utc.ToUnixTimeMilliseconds();

    protected override string BucketStartMsSql(long bucketMs) => $"(ts_ms / {bucketMs}) * {bucketMs}";

    protected override decimal ReadCostSum(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) / CostScale;

    protected override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) =>
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    protected override decimal ReadCost(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) / CostScale;

    protected override bool ReadBool(DbDataReader reader, int ordinal) => reader.GetInt64(ordinal) != 0;

    protected override Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct) =>
        Task.Run(() => work(ct), ct);

    protected override ValueTask<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            return ValueTask.FromResult<DbConnection>(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public override Task EnsureSchemaAsync(CancellationToken ct = default) => RunAsync(async c =>
    {
        await using var connection = await OpenAsync(c).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // journal_mode=WAL is persistent in the file; setting it again is a no-op.
        command.CommandText = $"""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS {Table} (
                request_id      TEXT    NOT NULL PRIMARY KEY,
                ts_ms           INTEGER NOT NULL,
                key_id          TEXT    NOT NULL,
                key_name        TEXT    NULL,
                model           TEXT    NOT NULL,
                served_model    TEXT    NULL,
                deployment_id   TEXT    NULL,
                provider_key_id TEXT    NULL,
                input_tokens    INTEGER NOT NULL,
                output_tokens   INTEGER NOT NULL,
                cost_e10        INTEGER NOT NULL,
                latency_ms      INTEGER NOT NULL,
                attempts        INTEGER NOT NULL,
                outcome         TEXT    NOT NULL,
                stream          INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_{Table}_ts ON {Table} (ts_ms);
            CREATE INDEX IF NOT EXISTS ix_{Table}_key_ts ON {Table} (key_id, ts_ms);
            CREATE INDEX IF NOT EXISTS ix_{Table}_model_ts ON {Table} (model, ts_ms);
            """;
        await command.ExecuteNonQueryAsync(c).ConfigureAwait(false);
        return true;
    }, ct);

    public override Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return Task.CompletedTask;
        var rows = records.Select(Normalize).ToArray();
        return RunAsync(c =>
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            // IMMEDIATE takes the write lock up front, so a busy file surfaces as one retryable BUSY here
            // rather than as a deadlock between a reader upgrading to writer and another writer.
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                INSERT OR IGNORE INTO {Table} ({RecordColumns})
                VALUES ($id, $ts, $key, $key_name, $model, $served, $deployment, $provider_key,
                        $in, $out, $cost, $latency, $attempts, $outcome, $stream)
                """;
            var id = command.Parameters.Add("$id", SqliteType.Text);
            var ts = command.Parameters.Add("$ts", SqliteType.Integer);
            var key = command.Parameters.Add("$key", SqliteType.Text);
            var keyName = command.Parameters.Add("$key_name", SqliteType.Text);
            var model = command.Parameters.Add("$model", SqliteType.Text);
            var served = command.Parameters.Add("$served", SqliteType.Text);
            var deployment = command.Parameters.Add("$deployment", SqliteType.Text);
            var providerKey = command.Parameters.Add("$provider_key", SqliteType.Text);
            var input = command.Parameters.Add("$in", SqliteType.Integer);
            var output = command.Parameters.Add("$out", SqliteType.Integer);
            var cost = command.Parameters.Add("$cost", SqliteType.Integer);
            var latency = command.Parameters.Add("$latency", SqliteType.Integer);
            var attempts = command.Parameters.Add("$attempts", SqliteType.Integer);
            var outcome = command.Parameters.Add("$outcome", SqliteType.Text);
            var stream = command.Parameters.Add("$stream", SqliteType.Integer);
            command.Prepare();

            foreach (var r in rows)
            {
                c.ThrowIfCancellationRequested();
                id.Value = r.RequestId;
                ts.Value = r.Timestamp.ToUnixTimeMilliseconds();
                key.Value = r.KeyId;
                keyName.Value = (object?)r.KeyName ?? DBNull.Value;
                model.Value = r.Model;
                served.Value = (object?)r.ServedModel ?? DBNull.Value;
                deployment.Value = (object?)r.DeploymentId ?? DBNull.Value;
                providerKey.Value = (object?)r.ProviderKeyId ?? DBNull.Value;
                input.Value = r.InputTokens;
                output.Value = r.OutputTokens;
                cost.Value = decimal.ToInt64(r.CostUsd * CostScale);
                latency.Value = r.LatencyMs;
                attempts.Value = r.Attempts;
                outcome.Value = UsageOutcomes.ToText(r.Outcome);
                stream.Value = r.Stream ? 1L : 0L;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            return Task.FromResult(true);
        }, ct);
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file (and its -wal) open; release them so the file can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}

using System.Data.Common;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Router.Actors.Usage;

namespace Router.Node.Usage;

/// <summary>
/// The cluster ledger: one table in the shared PostgreSQL, <c>timestamptz</c> timestamps and <c>numeric(20,10)</c>
/// costs (exact sums). A batch is one transaction of multi-row <c>INSERT … ON CONFLICT DO NOTHING</c> statements:
/// one round trip per chunk, and idempotent on the request id.
/// </summary>
internal sealed class PostgresUsageStore : AdoUsageStore
{
    // 15 parameters a row; PostgreSQL's wire protocol caps a statement at 65535 parameters.
    private const int RowsPerStatement = 1000;
    private const int ColumnCount = 15;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresUsageStore(string connectionString, string table = UsageStore.DefaultTable) : base(table)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    protected override string TimeColumn => "ts";

    protected override string CostColumn => "cost_usd";

    protected override string CostSumSql => "sum(cost_usd)";

    protected override string AvgLatencySql => "avg(latency_ms)::float8";

    protected override object TimeValue(DateTimeOffset utc) => utc;

    protected override string BucketStartMsSql(long bucketMs) =>
        $"(floor(extract(epoch FROM ts) * 1000 / {bucketMs}) * {bucketMs})::bigint";

    protected override decimal ReadCostSum(DbDataReader reader, int ordinal) => reader.GetDecimal(ordinal);

    protected override DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal) =>
        reader.GetFieldValue<DateTimeOffset>(ordinal).ToUniversalTime();

    protected override decimal ReadCost(DbDataReader reader, int ordinal) => reader.GetDecimal(ordinal);

    protected override bool ReadBool(DbDataReader reader, int ordinal) => reader.GetBoolean(ordinal);

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken ct) =>
        await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);

    public override async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // Nodes start together; CREATE … IF NOT EXISTS is not safe against a concurrent twin (it can fail on the
        // catalog's unique index), so the nodes take turns under a transaction-scoped advisory lock.
        command.CommandText = $"""
            SELECT pg_advisory_xact_lock(hashtext('router.{Table}'));
            CREATE TABLE IF NOT EXISTS {Table} (
                request_id      text           NOT NULL PRIMARY KEY,
                ts              timestamptz    NOT NULL,
                key_id          text           NOT NULL,
                key_name        text           NULL,
                model           text           NOT NULL,
                served_model    text           NULL,
                deployment_id   text           NULL,
                provider_key_id text           NULL,
                input_tokens    integer        NOT NULL,
                output_tokens   integer        NOT NULL,
                cost_usd        numeric(20,10) NOT NULL,
                latency_ms      integer        NOT NULL,
                attempts        integer        NOT NULL,
                outcome         text           NOT NULL,
                stream          boolean        NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_{Table}_ts ON {Table} (ts);
            CREATE INDEX IF NOT EXISTS ix_{Table}_key_ts ON {Table} (key_id, ts);
            CREATE INDEX IF NOT EXISTS ix_{Table}_model_ts ON {Table} (model, ts);
            """;
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    public override async Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return;
        var rows = records.Select(Normalize).ToArray();

        await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        for (var start = 0; start < rows.Length; start += RowsPerStatement)
        {
            var count = Math.Min(RowsPerStatement, rows.Length - start);
            await using var command = BuildInsert(connection, rows.AsSpan(start, count));
            command.Transaction = transaction;
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private NpgsqlCommand BuildInsert(NpgsqlConnection connection, ReadOnlySpan<UsageRecord> rows)
    {
        var command = connection.CreateCommand();
        var sql = new StringBuilder($"INSERT INTO {Table} ({RecordColumns}) VALUES ");
        var n = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            if (i > 0) sql.Append(", ");
            sql.Append('(');
            for (var c = 0; c < ColumnCount; c++)
            {
                if (c > 0) sql.Append(", ");
                sql.Append('$').Append(++n);
            }

            sql.Append(')');

            var r = rows[i];
            var p = command.Parameters;
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = r.RequestId });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = r.Timestamp });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = r.KeyId });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.KeyName ?? DBNull.Value });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = r.Model });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.ServedModel ?? DBNull.Value });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.DeploymentId ?? DBNull.Value });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.ProviderKeyId ?? DBNull.Value });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = r.InputTokens });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = r.OutputTokens });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Numeric, Value = r.CostUsd });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = r.LatencyMs });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = r.Attempts });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = UsageOutcomes.ToText(r.Outcome) });
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean, Value = r.Stream });
        }

        // DO NOTHING (not DO UPDATE) also tolerates the same id twice within one statement.
        sql.Append(" ON CONFLICT (request_id) DO NOTHING");
        command.CommandText = sql.ToString();
        return command;
    }

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

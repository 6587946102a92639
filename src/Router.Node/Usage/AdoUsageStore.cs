using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Router.Actors.Usage;

namespace Router.Node.Usage;

/// <summary>
/// The SQL both stores share (filters, grouping, reading rows back); each dialect supplies how it stores the
/// timestamp and the cost and how it writes a batch.
/// </summary>
internal abstract partial class AdoUsageStore : IUsageStore
{
    // Index names append a suffix to the table name; PostgreSQL identifiers stop at 63 characters.
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,47}$")]
    private static partial Regex TableNamePattern();

    private const long HourMs = 3_600_000;
    private const long DayMs = 86_400_000;

    /// <summary>Column list in the order <see cref="ReadRecord"/> expects.</summary>
    protected const string RecordColumnsTemplate =
        "request_id, {ts}, key_id, key_name, model, served_model, deployment_id, provider_key_id, " +
        "input_tokens, output_tokens, {cost}, latency_ms, attempts, outcome, stream";

    protected AdoUsageStore(string table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (!TableNamePattern().IsMatch(table))
            throw new ArgumentException($"Invalid usage table name '{table}': use letters, digits and underscores, at most 48.", nameof(table));
        Table = table;
    }

    protected string Table { get; }

    protected abstract string TimeColumn { get; }

    protected abstract string CostColumn { get; }

    protected string RecordColumns => RecordColumnsTemplate.Replace("{ts}", TimeColumn).Replace("{cost}", CostColumn);

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken ct);

    protected abstract object TimeValue(DateTimeOffset utc);

    /// <summary>SQL giving the start of a row's bucket in Unix milliseconds, as a 64-bit integer.</summary>
    protected abstract string BucketStartMsSql(long bucketMs);

    protected abstract string CostSumSql { get; }

    protected abstract string AvgLatencySql { get; }

    protected abstract decimal ReadCostSum(DbDataReader reader, int ordinal);

    protected abstract DateTimeOffset ReadTimestamp(DbDataReader reader, int ordinal);

    protected abstract decimal ReadCost(DbDataReader reader, int ordinal);

    protected abstract bool ReadBool(DbDataReader reader, int ordinal);

    /// <summary>Where the database work runs; SQLite overrides it because its "async" API is synchronous.</summary>
    protected virtual Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct) => work(ct);

    public abstract Task EnsureSchemaAsync(CancellationToken ct = default);

    public abstract Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default);

    public abstract ValueTask DisposeAsync();

    /// <summary>What every dialect stores: UTC, whole milliseconds, cost at the ledger's scale.</summary>
    protected static UsageRecord Normalize(UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.RequestId, nameof(record));
        ArgumentNullException.ThrowIfNull(record.KeyId, nameof(record));
        ArgumentNullException.ThrowIfNull(record.Model, nameof(record));
        var ms = record.Timestamp.ToUnixTimeMilliseconds();
        return record with
        {
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(ms),
            CostUsd = Pricing.Round(record.CostUsd),
        };
    }

    public Task<IReadOnlyList<UsageAggregate>> QueryAsync(UsageQuery query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return RunAsync(c => QueryCoreAsync(query, c), ct);
    }

    public Task<long> CountAsync(UsageQuery query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return RunAsync(async c =>
        {
            await using var connection = await OpenAsync(c).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder($"SELECT count(*) FROM {Table}");
            AppendWhere(command, sql, query);
            command.CommandText = sql.ToString();
            var result = await command.ExecuteScalarAsync(c).ConfigureAwait(false);
            return Convert.ToInt64(result, CultureInfo.InvariantCulture);
        }, ct);
    }

    public Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return RunAsync<IReadOnlyList<UsageRecord>>(async c =>
        {
            await using var connection = await OpenAsync(c).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder($"SELECT {RecordColumns} FROM {Table}");
            AppendWhere(command, sql, query);
            sql.Append($" ORDER BY {TimeColumn} DESC, request_id DESC LIMIT @limit");
            AddParameter(command, "@limit", limit);
            command.CommandText = sql.ToString();

            var rows = new List<UsageRecord>();
            await using var reader = await command.ExecuteReaderAsync(c).ConfigureAwait(false);
            while (await reader.ReadAsync(c).ConfigureAwait(false))
                rows.Add(ReadRecord(reader));
            return rows;
        }, ct);
    }

    private async Task<IReadOnlyList<UsageAggregate>> QueryCoreAsync(UsageQuery query, CancellationToken ct)
    {
        var groupSql = query.GroupBy switch
        {
            UsageGroupBy.None => "NULL",
            UsageGroupBy.Key => "key_id",
            UsageGroupBy.Model => "model",
            UsageGroupBy.Deployment => "deployment_id",
            UsageGroupBy.Day => BucketStartMsSql(DayMs),
            UsageGroupBy.Hour => BucketStartMsSql(HourMs),
            _ => throw new ArgumentOutOfRangeException(nameof(query), query.GroupBy, "unknown grouping"),
        };

        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(
            $"SELECT {groupSql}, count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), " +
            $"{CostSumSql}, {AvgLatencySql}, " +
            "coalesce(sum(CASE WHEN outcome IN ('success', 'cancelled') THEN 0 ELSE 1 END), 0) " +
            $"FROM {Table}");
        AppendWhere(command, sql, query);
        if (query.GroupBy != UsageGroupBy.None) sql.Append(" GROUP BY 1");
        command.CommandText = sql.ToString();

        var rows = new List<(string? Group, long? Bucket, UsageAggregate Row)>();
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                string? group = null;
                long? bucketMs = null;
                DateTimeOffset? bucketStart = null;
                if (!reader.IsDBNull(0))
                {
                    if (query.GroupBy is UsageGroupBy.Day or UsageGroupBy.Hour)
                    {
                        bucketMs = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
                        bucketStart = DateTimeOffset.FromUnixTimeMilliseconds(bucketMs.Value);
                        group = query.GroupBy == UsageGroupBy.Day
                            ? bucketStart.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                            : bucketStart.Value.ToString("yyyy-MM-dd'T'HH':00Z'", CultureInfo.InvariantCulture);
                    }
                    else
                    {
                        group = reader.GetString(0);
                    }
                }

                var requests = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
                var aggregate = new UsageAggregate(
                    group,
                    bucketStart,
                    requests,
                    Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                    Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                    reader.IsDBNull(4) ? 0m : ReadCostSum(reader, 4),
                    reader.IsDBNull(5) ? 0d : Convert.ToDouble(reader.GetValue(5), CultureInfo.InvariantCulture),
                    Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture));
                rows.Add((group, bucketMs, aggregate));
            }
        }

        // Sorted here rather than in SQL: the dialects disagree on where NULL sorts and on text collation.
        return rows
            .OrderBy(r => r.Bucket ?? long.MinValue)
            .ThenBy(r => r.Group, StringComparer.Ordinal)
            .Select(r => r.Row)
            .ToList();
    }

    private void AppendWhere(DbCommand command, StringBuilder sql, UsageQuery query)
    {
        var clauses = new List<string>(4);
        if (query.KeyId is not null)
        {
            clauses.Add("key_id = @key");
            AddParameter(command, "@key", query.KeyId);
        }

        if (query.Model is not null)
        {
            clauses.Add("model = @model");
            AddParameter(command, "@model", query.Model);
        }

        if (query.From is { } from)
        {
            clauses.Add($"{TimeColumn} >= @from");
            AddParameter(command, "@from", TimeValue(from.ToUniversalTime()));
        }

        if (query.To is { } to)
        {
            clauses.Add($"{TimeColumn} < @to");
            AddParameter(command, "@to", TimeValue(to.ToUniversalTime()));
        }

        if (clauses.Count > 0) sql.Append(" WHERE ").AppendJoin(" AND ", clauses);
    }

    protected static void AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private UsageRecord ReadRecord(DbDataReader r) => new(
        RequestId: r.GetString(0),
        Timestamp: ReadTimestamp(r, 1),
        KeyId: r.GetString(2),
        KeyName: r.IsDBNull(3) ? null : r.GetString(3),
        Model: r.GetString(4),
        ServedModel: r.IsDBNull(5) ? null : r.GetString(5),
        DeploymentId: r.IsDBNull(6) ? null : r.GetString(6),
        ProviderKeyId: r.IsDBNull(7) ? null : r.GetString(7),
        InputTokens: r.GetInt32(8),
        OutputTokens: r.GetInt32(9),
        CostUsd: ReadCost(r, 10),
        LatencyMs: r.GetInt32(11),
        Attempts: r.GetInt32(12),
        Outcome: UsageOutcomes.Parse(r.GetString(13)),
        Stream: ReadBool(r, 14));
}

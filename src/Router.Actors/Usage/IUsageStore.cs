namespace Router.Actors.Usage;

/// <summary>
/// Where ledger rows live. A seam so the writer and the admin API do not care whether a single node keeps them in
/// SQLite or a cluster shares PostgreSQL; the host picks one (Router.Node.Usage.UsageStore.Create).
/// </summary>
public interface IUsageStore : IAsyncDisposable
{
    /// <summary>Creates the table and its indexes when missing; safe to call from several nodes at once.</summary>
    Task EnsureSchemaAsync(CancellationToken ct = default);

    /// <summary>
    /// Writes the records in one transaction. Insert-or-ignore on the request id: a batch written again after an
    /// ambiguous failure (the commit landed but the acknowledgement was lost) adds no duplicate. When this returns,
    /// the rows are committed.
    /// </summary>
    Task InsertBatchAsync(IReadOnlyList<UsageRecord> records, CancellationToken ct = default);

    /// <summary>Totals of the rows matching the filters, grouped as asked, ordered by group (nulls first).</summary>
    Task<IReadOnlyList<UsageAggregate>> QueryAsync(UsageQuery query, CancellationToken ct = default);

    /// <summary>Number of rows matching the filters (<see cref="UsageQuery.GroupBy"/> is ignored).</summary>
    Task<long> CountAsync(UsageQuery query, CancellationToken ct = default);

    /// <summary>The most recent rows matching the filters, newest first (ties by request id), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<UsageRecord>> ListAsync(UsageQuery query, int limit, CancellationToken ct = default);
}

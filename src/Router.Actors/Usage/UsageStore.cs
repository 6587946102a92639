using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;

namespace Router.Actors.Usage;

/// <summary>
/// Picks the ledger store the configuration names (the same <c>Router:Persistence</c> provider as Akka.Persistence),
/// and tells the writer which failures are worth retrying.
/// </summary>
public static class UsageStore
{
    public const string DefaultTable = "usage_ledger";

    /// <param name="provider"><c>sqlite</c> or <c>postgresql</c> (case-insensitive; <c>postgres</c> is accepted too).</param>
    /// <param name="connectionString">ADO.NET connection string; never echoed in errors, it may hold a password.</param>
    /// <param name="table">Table name (letters, digits, underscore); tests use their own to stay isolated.</param>
    public static IUsageStore Create(string provider, string connectionString, string table = DefaultTable)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return provider.Trim().ToLowerInvariant() switch
        {
            "sqlite" => new SqliteUsageStore(connectionString, table),
            "postgresql" or "postgres" => new PostgresUsageStore(connectionString, table),
            _ => throw new ArgumentException(
                $"Unknown usage store provider '{provider}': expected 'sqlite' or 'postgresql'.", nameof(provider)),
        };
    }

    /// <summary>
    /// True for failures that may pass on their own (lock contention, lost connection, timeouts, PostgreSQL's own
    /// transient class); false for ones a retry cannot fix (missing table, bad data), so the writer fails those
    /// records at once instead of stalling the queue through every backoff.
    /// </summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        // SqliteException does not classify itself: BUSY, LOCKED, IOERR, FULL, PROTOCOL are the passing kinds.
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 15,
        DbException db => db.IsTransient,
        TimeoutException or IOException or SocketException => true,
        _ => false,
    };
}

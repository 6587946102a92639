using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;

namespace Router.Actors.Usage;

/// <summary>Which ledger-store failures the <see cref="UsageLedgerWriter"/> retries (the default of <see cref="UsageLedgerWriterOptions.IsTransient"/>).</summary>
public static class StoreFailures
{
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

using Router.Actors.Persistence;
using Router.Actors.Usage;

namespace Router.Node.Usage;

/// <summary>
/// Picks the ledger store the configuration names (the same <c>Router:Persistence</c> provider as Akka.Persistence).
/// </summary>
public static class UsageStore
{
    public const string DefaultTable = "usage_ledger";

    /// <param name="provider">The configured provider name, read by <see cref="PersistenceProviders.Parse"/>.</param>
    /// <param name="connectionString">ADO.NET connection string; never echoed in errors, it may hold a password.</param>
    /// <param name="table">Table name (letters, digits, underscore); tests use their own to stay isolated.</param>
    public static IUsageStore Create(string provider, string connectionString, string table = DefaultTable)
    {
        var kind = PersistenceProviders.Parse(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return kind switch
        {
            PersistenceProvider.PostgreSql => new PostgresUsageStore(connectionString, table),
            _ => new SqliteUsageStore(connectionString, table),
        };
    }
}

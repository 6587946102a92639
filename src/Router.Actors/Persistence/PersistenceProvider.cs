namespace Router.Actors.Persistence;

/// <summary>
/// The database Router keeps its state in (<c>Router:Persistence:Provider</c>): the Akka.Persistence journal and
/// snapshots, the usage ledger and the batch files all follow it.
/// </summary>
public enum PersistenceProvider
{
    /// <summary>A SQLite file: one node, no setup (the default).</summary>
    Sqlite,

    /// <summary>PostgreSQL, shared by every node of a cluster.</summary>
    PostgreSql,
}

/// <summary>The one reading of the configured provider name.</summary>
public static class PersistenceProviders
{
    /// <summary>
    /// <c>sqlite</c> or <c>postgresql</c> (<c>postgres</c> too), ignoring case and surrounding spaces.
    /// </summary>
    /// <exception cref="ArgumentException">Any other name; the message lists the accepted ones.</exception>
    public static PersistenceProvider Parse(string? name) =>
        TryParse(name, out var provider)
            ? provider
            : throw new ArgumentException($"Unknown persistence provider '{name}': expected 'sqlite' or 'postgresql'.", nameof(name));

    /// <summary>As <see cref="Parse"/>, returning false for a name it does not know.</summary>
    public static bool TryParse(string? name, out PersistenceProvider provider)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "sqlite":
                provider = PersistenceProvider.Sqlite;
                return true;
            case "postgresql" or "postgres":
                provider = PersistenceProvider.PostgreSql;
                return true;
            default:
                provider = default;
                return false;
        }
    }
}

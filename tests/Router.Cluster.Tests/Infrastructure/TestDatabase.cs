using Npgsql;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>
/// A fresh PostgreSQL database for one cluster (journal, snapshots, sharding state, usage ledger), created and
/// dropped through Npgsql on the server named by <c>ROUTER_TEST_POSTGRES</c>.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string Variable = "ROUTER_TEST_POSTGRES";

    private readonly string _admin;

    private TestDatabase(string admin, string name, string connectionString)
    {
        _admin = admin;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>Connection string of the new database, as the nodes on this machine use it.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string from the environment, or a clear failure saying how to get one.</summary>
    public static string ServerConnectionString() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{Variable} is not set. The cluster tests need a real PostgreSQL: run them as " +
                $"`{Variable}=\"$(bash .ci/start-postgres.sh)\" dotnet test tests/Router.Cluster.Tests` (or ./test.sh).");

    public static async Task<TestDatabase> CreateAsync(string purpose)
    {
        var server = ServerConnectionString();
        var name = $"router_ct_{purpose}_{Guid.NewGuid():N}"[..40].ToLowerInvariant();
        var admin = new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        return new TestDatabase(admin, name, cs);
    }

    /// <summary>The same database reached through another host and port (nodes in network namespaces).</summary>
    public string ConnectionStringVia(string host, int port) =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { Host = host, Port = port }.ConnectionString;

    public async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (n, v) in parameters) command.Parameters.AddWithValue(n, v);
        var result = await command.ExecuteScalarAsync();
        return Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Ledger rows of a key with the given outcome (<c>success</c>, ...).</summary>
    public Task<long> LedgerRowsAsync(string keyId, string outcome = "success") =>
        ScalarAsync("SELECT count(*) FROM usage_ledger WHERE key_id = @k AND outcome = @o", ("k", keyId), ("o", outcome));

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

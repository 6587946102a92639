using Npgsql;
using Router.Actors.Usage;
using Router.Node.Usage;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Usage;

/// <summary>
/// The store contract against a real PostgreSQL. Needs ROUTER_TEST_POSTGRES (start one with
/// <c>.ci/start-postgres.sh</c>); without it these tests fail on purpose. Exclude them locally with
/// <c>--filter Category!=Postgres</c>.
/// </summary>
[Trait("Category", "Postgres")]
public sealed class PostgresUsageStoreTests : UsageStoreContract
{
    private const string Variable = "ROUTER_TEST_POSTGRES";
    private readonly string _table = $"usage_t_{Guid.NewGuid():N}";
    private string? _connectionString;

    internal static string ConnectionString() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{Variable} is not set. Start PostgreSQL with `.ci/start-postgres.sh` and set {Variable} to the " +
                "connection string it prints, or exclude these tests with --filter Category!=Postgres.");

    protected override Task<IUsageStore> CreateStoreAsync()
    {
        _connectionString = ConnectionString();
        return Task.FromResult(UsageStore.Create("postgresql", _connectionString, _table));
    }

    protected override async Task DestroyStoreAsync()
    {
        if (_connectionString is null) return;
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP TABLE IF EXISTS {_table}";
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Stores_cost_as_numeric_and_time_as_timestamptz()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT column_name || ':' || data_type FROM information_schema.columns " +
            $"WHERE table_name = '{_table}' AND column_name IN ('ts', 'cost_usd') ORDER BY column_name";
        var types = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) types.Add(reader.GetString(0));

        Assert.Equal(["cost_usd:numeric", "ts:timestamp with time zone"], types);
    }
}

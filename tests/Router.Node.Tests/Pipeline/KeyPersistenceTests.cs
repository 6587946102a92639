using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// What the admin API and traffic did to keys survives a restart: a new node on the same store (another
/// ActorSystem, another process in production) sees created keys, revocations and spend. Run against each
/// persistence provider by the classes below.
/// </summary>
public abstract class KeyPersistenceContract
{
    private const string BudgetKey = "sk-limits-persist-budget";
    private const decimal TinyBudget = 0.00001m;

    /// <summary>The <c>Router:Persistence</c> section both nodes share.</summary>
    protected abstract JsonObject Persistence();

    private JsonObject Router()
    {
        var router = SimulatedRouter(new JsonArray { Key("budget", BudgetKey, budgetUsd: TinyBudget, budgetPeriod: "total") });
        router["Persistence"] = Persistence();
        return router;
    }

    [Fact]
    public async Task A_new_node_on_the_same_store_keeps_created_keys_revocations_and_spent_budgets()
    {
        string keptId, kept, revokedId, revoked;
        decimal spent;
        await using (var first = await StartNodeAsync(Router()))
        {
            (keptId, kept) = await first.CreateKeyAsync(new JsonObject { ["name"] = "kept", ["rpm"] = 100 });
            (revokedId, revoked) = await first.CreateKeyAsync(new JsonObject { ["name"] = "revoked" });
            using (var revoke = await first.AdminAsync(HttpMethod.Delete, $"admin/keys/{revokedId}"))
                Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            using (var beforeRestart = await first.ChatAsync(revoked, ChatBody()))
                Assert.Equal(HttpStatusCode.Unauthorized, beforeRestart.StatusCode);

            using (var spend = await first.ChatAsync(BudgetKey, ChatBody(prompt: "hi")))
            {
                Assert.Equal(HttpStatusCode.OK, spend.StatusCode);
                var usage = (await spend.JsonAsync())["usage"]!;
                spent = ExpectedCost((int)usage["prompt_tokens"]!, (int)usage["completion_tokens"]!);
            }
            using (var exhausted = await first.ChatAsync(BudgetKey, ChatBody(prompt: "hi")))
                Assert.Equal("insufficient_quota", (string?)(await exhausted.JsonAsync())["error"]!["code"]);
        } // graceful stop: the key entities flush their spend and snapshot before the node goes

        await using var second = await StartNodeAsync(Router());

        using (var works = await second.ChatAsync(kept, ChatBody()))
            Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        using (var stillRevoked = await second.ChatAsync(revoked, ChatBody()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stillRevoked.StatusCode);
            Assert.Contains("revoked", (string)(await stillRevoked.JsonAsync())["error"]!["message"]!, StringComparison.Ordinal);
        }
        using (var stillExhausted = await second.ChatAsync(BudgetKey, ChatBody(prompt: "hi")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, stillExhausted.StatusCode);
            Assert.Equal("insufficient_quota", (string?)(await stillExhausted.JsonAsync())["error"]!["code"]);
        }

        var budget = (await second.GetKeyAsync(KeyId(BudgetKey)))["budget"]!;
        Assert.Equal(spent, Dec(budget["spentUsd"]));
        Assert.Equal(spent, Dec(budget["totalSpentUsd"]));
        var keptState = await second.GetKeyAsync(keptId);
        Assert.Equal("kept", (string?)keptState["name"]);
        Assert.Equal(100, (int)keptState["limits"]!["rpm"]!);
        Assert.True((bool)(await second.GetKeyAsync(revokedId))["revoked"]!);

        using var list = await second.AdminAsync(HttpMethod.Get, "admin/keys");
        var ids = (await list.JsonAsync())["data"]!.AsArray().Select(k => (string)k!["id"]!).ToList();
        Assert.Contains(keptId, ids);
        Assert.Contains(revokedId, ids);
        Assert.Contains(KeyId(BudgetKey), ids);
    }
}

[Collection(LimitsCollection.Name)]
public sealed class SqliteKeyPersistenceTests : KeyPersistenceContract, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"router-limits-{Guid.NewGuid():N}.db");

    protected override JsonObject Persistence() => new() { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={_path}" };

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _path, _path + "-wal", _path + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}

/// <summary>Needs ROUTER_TEST_POSTGRES (see <c>.ci/start-postgres.sh</c>); fails with a clear message without it.</summary>
[Trait("Category", "Postgres")]
[Collection(LimitsCollection.Name)]
public sealed class PostgresKeyPersistenceTests(FreshPostgresDatabase database) : KeyPersistenceContract, IClassFixture<FreshPostgresDatabase>
{
    protected override JsonObject Persistence() => new() { ["Provider"] = "postgresql", ["ConnectionString"] = database.ConnectionString };
}

/// <summary>
/// A database of its own on the server ROUTER_TEST_POSTGRES points at, created for one test class and dropped
/// after it, so journal, snapshot and ledger tables never meet another run's.
/// </summary>
public sealed class FreshPostgresDatabase : IAsyncLifetime
{
    private const string Variable = "ROUTER_TEST_POSTGRES";
    private readonly string _name = $"router_limits_{Guid.NewGuid():N}";
    private string? _server;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _server = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{Variable} is not set. Start PostgreSQL with `.ci/start-postgres.sh` and set {Variable} to the " +
                "connection string it prints, or exclude these tests with --filter Category!=Postgres.");
        await ExecuteAsync($"CREATE DATABASE {_name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = _name }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_server is null || ConnectionString.Length == 0) return;
        NpgsqlConnection.ClearAllPools();
        // FORCE: a stopped node's pooled connections may linger for a moment.
        await ExecuteAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

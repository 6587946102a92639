using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Pipeline;

/// <summary>
/// A node process killed with SIGKILL (nothing runs on the way out: no final flush, no snapshot, no hand-off) and
/// started again on the same SQLite file: what the node had acknowledged or written to the journal is recovered
/// exactly. The graceful counterpart is <see cref="KeyPersistenceContract"/>.
/// </summary>
[Collection(LimitsCollection.Name)]
public sealed class KeyCrashTests : IDisposable
{
    private const string BudgetKey = "sk-limits-crash-budget";
    private const decimal TinyBudget = 0.00001m;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-key-crash-");
    private string Database => Path.Combine(_dir.FullName, "router.db");

    [Fact]
    public async Task A_killed_node_restarts_with_the_spend_and_revocations_it_had_written()
    {
        var httpPort = NodeProcess.FreeTcpPort();
        var configFile = Path.Combine(_dir.FullName, "router.json");
        await File.WriteAllTextAsync(configFile, Config(httpPort).ToJsonString());
        var httpBase = new Uri($"http://127.0.0.1:{httpPort}/");
        using var http = new HttpClient { BaseAddress = httpBase, Timeout = TimeSpan.FromSeconds(30) };

        string revokedId, revokedKey;
        decimal spent;
        await using (var node = await NodeProcess.StartAsync(configFile, httpBase))
        {
            // 1. A revocation is acknowledged only once it is in the journal.
            using (var created = await http.SendAsync(LimitsTestKit.Admin(HttpMethod.Post, "admin/keys", """{"name":"doomed"}""")))
            {
                var json = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                (revokedId, revokedKey) = ((string)json["id"]!, (string)json["key"]!);
            }
            using (var revoke = await http.SendAsync(LimitsTestKit.Admin(HttpMethod.Delete, $"admin/keys/{revokedId}")))
                Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

            // 2. Spend is written in batches (at most a second later): wait until this request's batch is in the journal.
            using (var chat = await http.SendAsync(Chat(BudgetKey)))
            {
                Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
                var usage = JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["usage"]!;
                spent = ExpectedCost((int)usage["prompt_tokens"]!, (int)usage["completion_tokens"]!);
            }
            await WaitForJournalRowAsync($"apikey-{KeyId(BudgetKey)}", "ak.e.sp");

            // 3. SIGKILL.
            await node.KillAsync();
        }

        await using var restarted = await NodeProcess.StartAsync(configFile, httpBase);

        using (var key = await http.SendAsync(LimitsTestKit.Admin(HttpMethod.Get, $"admin/keys/{KeyId(BudgetKey)}")))
        {
            var budget = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["budget"]!;
            Assert.Equal(spent, Dec(budget["spentUsd"]));
            Assert.Equal(spent, Dec(budget["totalSpentUsd"]));
            Assert.Equal(TinyBudget, Dec(budget["usd"]));
        }
        using (var exhausted = await http.SendAsync(Chat(BudgetKey)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, exhausted.StatusCode);
            Assert.Equal("insufficient_quota", (string?)JsonNode.Parse(await exhausted.Content.ReadAsStringAsync())!["error"]!["code"]);
        }
        using (var stillRevoked = await http.SendAsync(Chat(revokedKey)))
            Assert.Equal(HttpStatusCode.Unauthorized, stillRevoked.StatusCode);
        using (var revokedState = await http.SendAsync(LimitsTestKit.Admin(HttpMethod.Get, $"admin/keys/{revokedId}")))
            Assert.True((bool)JsonNode.Parse(await revokedState.Content.ReadAsStringAsync())!["revoked"]!);
    }

    private async Task WaitForJournalRowAsync(string persistenceId, string manifest)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            await using (var connection = new SqliteConnection($"Data Source={Database};Mode=ReadOnly;Pooling=False"))
            {
                await connection.OpenAsync();
                await using var count = connection.CreateCommand();
                count.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = $id AND manifest = $manifest";
                count.Parameters.AddWithValue("$id", persistenceId);
                count.Parameters.AddWithValue("$manifest", manifest);
                if (Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0) return;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No '{manifest}' row for {persistenceId} in the journal.");
            await Task.Delay(100);
        }
    }

    private static HttpRequestMessage Chat(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(ChatBody(prompt: "hi"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    /// <summary>
    /// The --config file, merged over the node's appsettings.json: every key limit is set, so none of the shipped demo
    /// key's applies.
    /// </summary>
    private JsonObject Config(int httpPort)
    {
        var budget = Key("budget", BudgetKey, rpm: 1_000_000, tpm: 1_000_000_000, maxConcurrent: 1_000, budgetUsd: TinyBudget, budgetPeriod: "total");
        var router = SimulatedRouter(new JsonArray { budget });
        router["Http"] = new JsonObject { ["Port"] = httpPort };
        router["Grpc"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() };
        router["Cluster"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() };
        router["AdminKey"] = RouterTestNode.AdminKey;
        router["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={Database}" };
        return new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
            ["Router"] = router,
        };
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { _dir.Delete(recursive: true); } catch (IOException) { }
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Router.Node.Tests.Infrastructure;
using static Router.Node.Tests.Infrastructure.LimitsTestKit;

namespace Router.Node.Tests.Admin;

/// <summary>The admin HTTP API: key lifecycle, input validation with the field named, auth, and usage queries.</summary>
/// <remarks>One node serves the whole class (each test makes its own keys); only the usage test needs a fake clock of its own.</remarks>
[Collection(LimitsCollection.Name)]
public sealed class AdminApiTests(AdminApiTests.SharedNode shared) : IClassFixture<AdminApiTests.SharedNode>
{
    private const string ConfigKey = "sk-limits-admin-config";

    private RouterTestNode Node => shared.Node;

    public sealed class SharedNode : IAsyncLifetime
    {
        public RouterTestNode Node { get; private set; } = null!;

        public async Task InitializeAsync() => Node = await StartNodeAsync(SimulatedRouter(new JsonArray { Key("configured", ConfigKey) }));

        public async Task DisposeAsync()
        {
            if (Node is not null) await Node.DisposeAsync();
        }
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(RouterTestNode node, HttpMethod method, string path,
        string? json = null, string? adminKey = RouterTestNode.AdminKey)
    {
        using var response = await node.AdminAsync(method, path, json, adminKey);
        return (response.StatusCode, await response.JsonAsync());
    }

    [Fact]
    public async Task Shows_the_plaintext_key_only_in_the_create_answer_and_the_key_works_at_once()
    {
        var node = Node;

        using var created = await node.AdminAsync(HttpMethod.Post, "admin/keys",
            """{"name":"team-a","rpm":10,"tpm":5000,"maxConcurrent":2,"budgetUsd":5,"budgetPeriod":"day","models":["sim-*"]}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.JsonAsync();
        var key = (string)body["key"]!;
        var id = (string)body["id"]!;
        Assert.StartsWith("sk-router-", key, StringComparison.Ordinal);
        Assert.Equal(KeyId(key), id);
        Assert.Equal("admin", (string?)body["source"]);
        Assert.Equal(10, (int)body["limits"]!["rpm"]!);
        Assert.Equal(5000, (int)body["limits"]!["tpm"]!);
        Assert.Equal(2, (int)body["limits"]!["maxConcurrent"]!);
        Assert.Equal(5m, Dec(body["budget"]!["usd"]));
        Assert.Equal("day", (string?)body["budget"]!["period"]);
        Assert.Equal(new[] { "sim-*" }, body["models"]!.AsArray().Select(m => (string)m!));

        using var shown = await node.AdminAsync(HttpMethod.Get, $"admin/keys/{id}");
        var shownText = await shown.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.DoesNotContain(key, shownText, StringComparison.Ordinal);
        Assert.Null(JsonNode.Parse(shownText)!["key"]);
        using var listed = await node.AdminAsync(HttpMethod.Get, "admin/keys");
        var listText = await listed.Content.ReadAsStringAsync();
        Assert.DoesNotContain(key, listText, StringComparison.Ordinal);
        var listedIds = JsonNode.Parse(listText)!["data"]!.AsArray().Select(k => (string)k!["id"]!).ToList();
        Assert.Contains(id, listedIds);
        Assert.Contains(KeyId(ConfigKey), listedIds);

        using var chat = await node.ChatAsync(key, ChatBody());
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("9", chat.Header("x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Patch_changes_only_the_fields_given_null_clears_a_limit_and_the_new_limit_applies()
    {
        var node = Node;
        var (id, key) = await node.CreateKeyAsync(new JsonObject { ["name"] = "patched", ["rpm"] = 10, ["tpm"] = 5000 });

        var (status, patched) = await SendAsync(node, HttpMethod.Patch, $"admin/keys/{id}", """{"rpm":1,"name":"renamed"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("renamed", (string?)patched["name"]);
        Assert.Equal(1, (int)patched["limits"]!["rpm"]!);
        Assert.Equal(5000, (int)patched["limits"]!["tpm"]!);
        Assert.Null(patched["key"]);

        // The stored hash is kept: the same plaintext still authenticates, under the new limit.
        using (var first = await node.ChatAsync(key, ChatBody())) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using (var second = await node.ChatAsync(key, ChatBody())) Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);

        (status, patched) = await SendAsync(node, HttpMethod.Patch, $"admin/keys/{id}", """{"rpm":null}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(patched["limits"]!["rpm"]);
        Assert.Equal(5000, (int)patched["limits"]!["tpm"]!);
        using (var unlimited = await node.ChatAsync(key, ChatBody())) Assert.Equal(HttpStatusCode.OK, unlimited.StatusCode);
    }

    [Fact]
    public async Task Delete_revokes_for_good()
    {
        var node = Node;
        var (id, key) = await node.CreateKeyAsync(new JsonObject { ["name"] = "doomed" });

        var before = DateTimeOffset.UtcNow;
        var (status, revoked) = await SendAsync(node, HttpMethod.Delete, $"admin/keys/{id}");
        var after = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True((bool)revoked["revoked"]!);
        // Stamped by the node's (real) clock when the revocation was made.
        Assert.InRange(DateTimeOffset.Parse((string)revoked["revokedAt"]!, System.Globalization.CultureInfo.InvariantCulture), before.AddSeconds(-1), after.AddSeconds(1));

        using (var chat = await node.ChatAsync(key, ChatBody()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
            Assert.Equal("invalid_api_key", (string?)(await chat.JsonAsync())["error"]!["code"]);
        }
        (status, var body) = await SendAsync(node, HttpMethod.Patch, $"admin/keys/{id}", """{"rpm":5}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("revoked", (string)body["error"]!["message"]!, StringComparison.Ordinal);
        Assert.True((bool)(await node.GetKeyAsync(id))["revoked"]!);
    }

    [Fact]
    public async Task Lists_a_key_whose_events_were_compacted_into_a_snapshot()
    {
        var node = Node;
        var (id, _) = await node.CreateKeyAsync(new JsonObject { ["name"] = "busy", ["rpm"] = 1 });

        // Every change is an event: creation and 99 changes make 100, the snapshot interval, after which the
        // snapshot replaces them and the events before it are deleted from the journal.
        for (var rpm = 2; rpm <= 100; rpm++)
        {
            var (status, _) = await SendAsync(node, HttpMethod.Patch, $"admin/keys/{id}", $$"""{"rpm":{{rpm}}}""");
            Assert.Equal(HttpStatusCode.OK, status);
        }

        Assert.Equal(100, (int)(await node.GetKeyAsync(id))["limits"]!["rpm"]!);
        // The deletion follows the snapshot asynchronously; wait until the journal shows it (the plugin keeps the
        // last deleted row, 99, as a marker).
        await EventuallyAsync(() => Task.FromResult(JournalRowsBefore(node, $"apikey-{id}", 99)), n => n == 0, "old events to be deleted");
        // Compaction must not make the key disappear from the list (it once did: every event was deleted).
        var (_, list) = await SendAsync(node, HttpMethod.Get, "admin/keys");
        Assert.Contains(id, list["data"]!.AsArray().Select(k => (string)k!["id"]!));
    }

    [Theory]
    [InlineData("""{"name":"x","rpm":-1}""", "rpm")]
    [InlineData("""{"name":"x","rpm":0}""", "rpm")]
    [InlineData("""{"name":"x","rpm":1.5}""", "rpm")]
    [InlineData("""{"name":"x","rpm":"ten"}""", "rpm")]
    [InlineData("""{"name":"x","tpm":0}""", "tpm")]
    [InlineData("""{"name":"x","maxConcurrent":-3}""", "maxConcurrent")]
    [InlineData("""{"name":"x","budgetUsd":-0.01}""", "budgetUsd")]
    [InlineData("""{"name":"x","budgetPeriod":"week"}""", "budgetPeriod")]
    [InlineData("""{"name":"x","models":[]}""", "models")]
    [InlineData("""{"name":"x","models":"gpt-4o"}""", "models")]
    [InlineData("""{"name":"x","models":[""]}""", "models")]
    [InlineData("""{"rpm":5}""", "name")]
    [InlineData("""{"name":"   "}""", "name")]
    public async Task Create_refuses_bad_input_with_400_naming_the_field(string json, string field)
    {
        var node = Node;

        var (status, body) = await SendAsync(node, HttpMethod.Post, "admin/keys", json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, (string?)body["error"]!["field"]);
        Assert.Contains(field, (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"x",""")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public async Task Create_refuses_a_body_that_is_not_a_json_object(string json)
    {
        var node = Node;

        var (status, body) = await SendAsync(node, HttpMethod.Post, "admin/keys", json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("JSON", (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patch_validates_like_create()
    {
        var node = Node;
        var (id, _) = await node.CreateKeyAsync(new JsonObject { ["name"] = "valid" });

        var (status, body) = await SendAsync(node, HttpMethod.Patch, $"admin/keys/{id}", """{"tpm":0}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("tpm", (string?)body["error"]!["field"]);
    }

    [Fact]
    public async Task Unknown_key_ids_are_404_and_malformed_ones_400()
    {
        var node = Node;
        const string unknown = "0123456789abcdef";

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            var (status, body) = await SendAsync(node, method, $"admin/keys/{unknown}");
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Contains(unknown, (string)body["error"]!["message"]!, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(node, HttpMethod.Patch, $"admin/keys/{unknown}", """{"rpm":1}""")).Status);

        foreach (var malformed in new[] { "xyz", "0123456789abcdeg", "0123456789abcdef0" })
        {
            var (status, body) = await SendAsync(node, HttpMethod.Get, $"admin/keys/{malformed}");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("id", (string?)body["error"]!["field"]);
        }
    }

    [Theory]
    [InlineData("GET", "admin/keys")]
    [InlineData("POST", "admin/keys")]
    [InlineData("GET", "admin/usage")]
    [InlineData("GET", "admin/stats")]
    public async Task Refuses_a_missing_or_wrong_admin_key_with_401(string method, string path)
    {
        var node = Node;

        var before = (await SendAsync(node, HttpMethod.Get, "admin/keys")).Body["data"]!.AsArray().Count;

        foreach (var adminKey in new[] { null, "sk-wrong", ConfigKey, RouterTestNode.AdminKey + "x" })
        {
            var (status, body) = await SendAsync(node, new HttpMethod(method), path, """{"name":"x"}""", adminKey);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("missing or wrong admin key", (string?)body["error"]!["message"]);
        }

        // Nothing was created by the refused POSTs.
        Assert.Equal(before, (await SendAsync(node, HttpMethod.Get, "admin/keys")).Body["data"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("groupBy=week", "groupBy")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=soon", "to")]
    [InlineData("from=2025-03-14T12:00:00Z&to=2025-03-14T11:00:00Z", "from")]
    public async Task Usage_refuses_bad_query_parameters_with_400_naming_them(string query, string field)
    {
        var node = Node;

        var (status, body) = await SendAsync(node, HttpMethod.Get, $"admin/usage?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, (string?)body["error"]!["field"]);
    }

    [Fact]
    public async Task Usage_filters_by_key_model_and_time_and_groups_as_asked()
    {
        // Rows are stamped by the node's clock: two hours apart, so time filters and hour groups split them.
        var clock = FrozenClock();
        var router = SimulatedRouter(new JsonArray { Key("configured", ConfigKey) });
        router["Models"]!.AsArray().Add(SimulatedModel("other-model", "sim-2"));
        await using var node = await StartNodeAsync(router, clock);
        var (otherId, other) = await node.CreateKeyAsync(new JsonObject { ["name"] = "other" });
        var configuredId = KeyId(ConfigKey);

        // 10:15 — configured: 2 × sim-model; other: 1 × other-model
        await ChatOkAsync(node, ConfigKey, Model);
        await ChatOkAsync(node, ConfigKey, Model);
        await ChatOkAsync(node, other, "other-model");
        clock.Advance(TimeSpan.FromHours(2));
        // 12:15 — configured: 1 × other-model
        await ChatOkAsync(node, ConfigKey, "other-model");

        await EventuallyAsync(() => UsageAsync(node, ""), rows => rows.Count == 1 && Long(rows[0]!["requests"]) == 4, "4 ledger rows");

        var byKey = await UsageAsync(node, "groupBy=key");
        Assert.Equal(
            new[] { (configuredId, 3L), (otherId, 1L) }.OrderBy(g => g.Item1, StringComparer.Ordinal),
            byKey.Select(g => ((string)g!["group"]!, Long(g["requests"]))));

        var byModel = await UsageAsync(node, "groupBy=model");
        Assert.Equal([("other-model", 2L), (Model, 2L)], byModel.Select(g => ((string)g!["group"]!, Long(g["requests"]))));

        var byDeployment = await UsageAsync(node, "groupBy=deployment");
        Assert.Equal(["other-model/sim", DeploymentId], byDeployment.Select(g => (string)g!["group"]!));

        var byHour = await UsageAsync(node, "groupBy=hour");
        Assert.Equal([("2025-03-14T10:00Z", 3L), ("2025-03-14T12:00Z", 1L)], byHour.Select(g => ((string)g!["group"]!, Long(g["requests"]))));
        var byDay = await UsageAsync(node, "groupBy=day");
        Assert.Equal([("2025-03-14", 4L)], byDay.Select(g => ((string)g!["group"]!, Long(g["requests"]))));

        Assert.Equal(3, Long((await UsageAsync(node, $"key={configuredId}")).Single()!["requests"]));
        Assert.Equal(1, Long((await UsageAsync(node, $"key={otherId}&model=other-model")).Single()!["requests"]));
        Assert.Equal(2, Long((await UsageAsync(node, "model=other-model")).Single()!["requests"]));
        Assert.Equal(3, Long((await UsageAsync(node, "to=2025-03-14T11:00:00Z")).Single()!["requests"]));
        Assert.Equal(1, Long((await UsageAsync(node, "from=2025-03-14T11:00:00Z")).Single()!["requests"]));
        // A look-back is counted from the node's clock (12:15): the last hour holds only the late request.
        Assert.Equal(1, Long((await UsageAsync(node, "from=1h")).Single()!["requests"]));
        Assert.Equal(0, Long((await UsageAsync(node, "key=ffffffffffffffff")).SingleOrDefault()?["requests"] ?? 0));

        // Each row costs what the simulated answer's tokens cost at the deployment's prices.
        var total = (await UsageAsync(node, "")).Single()!;
        Assert.Equal(
            ExpectedCost((int)Long(total["inputTokens"]), (int)Long(total["outputTokens"])),
            Dec(total["costUsd"]));
    }

    private static long JournalRowsBefore(RouterTestNode node, string persistenceId, long sequenceNr)
    {
        using var connection = new SqliteConnection($"Data Source={node.DatabasePath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM journal WHERE persistence_id = $id AND sequence_number < $nr";
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$nr", sequenceNr);
        return (long)command.ExecuteScalar()!;
    }

    private static async Task ChatOkAsync(RouterTestNode node, string key, string model)
    {
        using var response = await node.ChatAsync(key, ChatBody(model: model));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonArray> UsageAsync(RouterTestNode node, string query)
    {
        var (status, body) = await SendAsync(node, HttpMethod.Get, "admin/usage?" + query);
        Assert.True(status == HttpStatusCode.OK, $"usage?{query}: {(int)status} {body.ToJsonString()}");
        return body["data"]!.AsArray();
    }
}

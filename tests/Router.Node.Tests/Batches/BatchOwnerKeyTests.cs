using System.Text.Json.Nodes;
using Router.Actors.Usage;
using Router.Contracts.RateLimiting;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Batches;

/// <summary>A batch job's items are admitted against the virtual key that created the batch, like that key's own requests.</summary>
public sealed class BatchOwnerKeyTests
{
    private const string OwnerKey = "sk-test-batch-owner";
    private const string OtherKey = "sk-test-batch-other";

    [Fact]
    public async Task Items_are_limited_by_the_budget_of_the_key_that_created_the_batch_and_their_usage_rows_name_it()
    {
        var router = GrpcBatchTests.SimulatedConfig();
        // A dollar a token: the first request spends more than the owner's whole budget.
        var deployment = (JsonObject)router["Models"]![0]!["Deployments"]![0]!;
        deployment["InputPerMTok"] = 1_000_000;
        deployment["OutputPerMTok"] = 1_000_000;
        router["Keys"] = new JsonArray
        {
            new JsonObject { ["Name"] = "owner", ["Key"] = OwnerKey, ["BudgetUsd"] = 0.5, ["Models"] = new JsonArray("*") },
            new JsonObject { ["Name"] = "other", ["Key"] = OtherKey, ["Models"] = new JsonArray("*") },
        };
        // One item at a time, so the first item's spend is booked before the next is admitted.
        router["Batches"] = new JsonObject { ["Parallelism"] = 1 };
        await using var node = await RouterTestNode.StartAsync(router);
        var jsonl = string.Join("\n", Enumerable.Range(0, 3).Select(i => BatchApiClient.Line($"c{i}", $"question {i}", "sim")));

        var owner = new BatchApiClient(node.Http, OwnerKey);
        var ownerBatch = (await owner.CreateOkAsync(await owner.UploadIdAsync(jsonl))).GetProperty("id").GetString()!;
        var ownerDone = await owner.WaitForAsync(ownerBatch, BatchApiClient.IsFinal, TimeSpan.FromSeconds(60));
        var other = new BatchApiClient(node.Http, OtherKey);
        var otherBatch = (await other.CreateOkAsync(await other.UploadIdAsync(jsonl))).GetProperty("id").GetString()!;
        var otherDone = await other.WaitForAsync(otherBatch, BatchApiClient.IsFinal, TimeSpan.FromSeconds(60));

        // The owner's budget let the first item through and refused the rest, as it would refuse the owner's own calls.
        Assert.Equal((1, 2), (BatchApiClient.Count(ownerDone, "completed"), BatchApiClient.Count(ownerDone, "failed")));
        var refused = BatchJobHttpTests.Jsonl(await owner.ContentAsync(ownerDone.GetProperty("error_file_id").GetString()!));
        Assert.Equal(["c1", "c2"], refused.Select(e => e.GetProperty("custom_id").GetString()));
        Assert.All(refused, e =>
        {
            Assert.Equal(429, e.GetProperty("response").GetProperty("status_code").GetInt32());
            Assert.Equal("insufficient_quota", e.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString());
        });
        // The same items under a key without a budget all run: the limit was the owner's, not one shared by batches.
        Assert.Equal((3, 0), (BatchApiClient.Count(otherDone, "completed"), BatchApiClient.Count(otherDone, "failed")));

        // Each admitted item left one ledger row, under the key that owns its batch, and no row names any other key.
        var store = node.Services.GetRequiredService<IUsageStore>();
        var ownerId = ApiKeyHash.IdOf(OwnerKey).Value;
        var otherId = ApiKeyHash.IdOf(OtherKey).Value;
        await LimitsTestKit.EventuallyAsync(() => store.CountAsync(new UsageQuery()), n => n >= 4, "four ledger rows");
        var rows = await store.ListAsync(new UsageQuery(), 100);
        Assert.Equal(4, rows.Count);
        Assert.Equal(1, rows.Count(r => r.KeyId == ownerId));
        Assert.Equal(3, rows.Count(r => r.KeyId == otherId));
        Assert.All(rows, r => Assert.Equal(UsageOutcome.Success, r.Outcome));
        Assert.True(rows.Single(r => r.KeyId == ownerId).CostUsd > 0.5m);
    }
}

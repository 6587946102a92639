using System.Net;
using Xunit.Abstractions;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;
using Router.Testing;

namespace Router.Node.Tests.Batches;

/// <summary>A batch job survives a kill -9 of its node: resumed on restart with nobody asking, nothing lost, nothing doubled.</summary>
public sealed class BatchJobRestartTests(ITestOutputHelper output)
{
    private const int Items = 1_000;
    private const int Parallelism = 4;
    // What a crash may repeat: items in flight, plus finished results not yet written (one group being written,
    // one being gathered; BatchJobSettings.Default.PersistGroupSize = 32), plus results waiting at the stream's stages.
    private const int MostRepeated = 2 * 32 + 2 * Parallelism;

    [Fact]
    public async Task A_killed_node_resumes_the_job_after_restart_and_the_output_has_each_custom_id_once()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        upstream.Always(Behaviour.Delay(TimeSpan.FromMilliseconds(20)));
        var dir = Directory.CreateTempSubdirectory("router-batch-restart-");
        var httpPort = NodeProcess.FreeTcpPort();
        var configFile = Path.Combine(dir.FullName, "router.json");
        await File.WriteAllTextAsync(configFile, Config(upstream, dir.FullName, httpPort).ToJsonString());
        var httpBase = new Uri($"http://127.0.0.1:{httpPort}/");
        using var http = new HttpClient { BaseAddress = httpBase, Timeout = TimeSpan.FromSeconds(30) };
        var api = new BatchApiClient(http, RouterTestNode.DemoKey);

        string id;
        int completedAtKill;
        var node = await NodeProcess.StartAsync(configFile, httpBase);
        try
        {
            var lines = Enumerable.Range(0, Items).Select(i => BatchApiClient.Line($"item-{i}", $"item-{i}", "gpt-test")).ToList();
            lines.Insert(100, "{ broken");
            lines.Insert(500, """{"custom_id":"item-7","method":"POST","url":"/v1/chat/completions","body":{}}""");
            lines.Add("""{"custom_id":"x","method":"GET","url":"/v1/chat/completions","body":{}}""");
            var fileId = await api.UploadIdAsync(string.Join("\n", lines));
            id = (await api.CreateOkAsync(fileId)).GetProperty("id").GetString()!;

            // 1. Kill -9 about halfway.
            var half = await api.WaitForAsync(id, b => BatchApiClient.Count(b, "completed") >= Items * 2 / 5, TimeSpan.FromSeconds(120));
            await node.KillAsync();
            completedAtKill = BatchApiClient.Count(half, "completed");
            Assert.True(completedAtKill < Items, $"the job finished before the kill ({completedAtKill}); nothing was resumed");
        }
        finally
        {
            await node.DisposeAsync();
        }
        var requestsBeforeRestart = upstream.RequestCount;

        // 2. Restart with the same config and database; nobody asks about the batch, yet it carries on.
        node = await NodeProcess.StartAsync(configFile, httpBase);
        try
        {
            await upstream.WaitForRequestsAsync(requestsBeforeRestart + 1, TimeSpan.FromSeconds(60));

            var done = await api.WaitForAsync(id, BatchApiClient.IsFinal, TimeSpan.FromSeconds(180));
            Assert.Equal("completed", BatchApiClient.Status(done));
            Assert.Equal(Items + 3, BatchApiClient.Count(done, "total"));
            Assert.Equal(Items, BatchApiClient.Count(done, "completed"));
            Assert.Equal(3, BatchApiClient.Count(done, "failed"));

            // 3. Each custom_id exactly once in the output, with its own answer.
            var results = BatchJobHttpTests.Jsonl(await api.ContentAsync(done.GetProperty("output_file_id").GetString()!));
            Assert.Equal(Items, results.Count);
            Assert.Equal(Enumerable.Range(0, Items).Select(i => $"item-{i}"), results.Select(o => o.GetProperty("custom_id").GetString()));
            Assert.All(results, o => Assert.Equal(
                "echo: " + o.GetProperty("custom_id").GetString(),
                o.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));

            // 4. The malformed lines are in the error file, by line number.
            var errors = BatchJobHttpTests.Jsonl(await api.ContentAsync(done.GetProperty("error_file_id").GetString()!));
            Assert.Equal([101, 501, Items + 3], errors.Select(e => e.GetProperty("error").GetProperty("line").GetInt32()));

            // 5. Finished items were not run again: only what was in flight or unwritten at the kill repeats.
            var repeats = upstream.Requests.GroupBy(r => r.Body!.Value.GetProperty("messages")[0].GetProperty("content").GetString())
                .Sum(g => g.Count() - 1);
            output.WriteLine($"completed at the kill: {completedAtKill}; items run twice: {repeats}");
            Assert.InRange(repeats, 0, MostRepeated);
            Assert.Equal(Items + repeats, upstream.RequestCount);

            // 6. SIGTERM ends the node cleanly.
            Assert.Equal(0, await node.StopAsync(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            await node.DisposeAsync();
            try { dir.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A --config file for the process. It is merged over the node's appsettings.json, whose lists merge by index,
    /// so the key's limits are set explicitly (the demo key's would otherwise apply).
    /// </summary>
    private static JsonObject Config(FakeUpstream upstream, string dir, int httpPort) => new()
    {
        ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
        ["Router"] = new JsonObject
        {
            ["Http"] = new JsonObject { ["Port"] = httpPort },
            ["Grpc"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() },
            ["Cluster"] = new JsonObject { ["Port"] = NodeProcess.FreeTcpPort() },
            ["Persistence"] = new JsonObject { ["Provider"] = "sqlite", ["ConnectionString"] = $"Data Source={Path.Combine(dir, "router.db")}" },
            ["Providers"] = new JsonArray { new JsonObject
            {
                ["Name"] = "fake", ["Kind"] = "openai", ["BaseUrl"] = upstream.BaseUrl,
                ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "k1", ["Secret"] = "sk-upstream" } },
            } },
            ["Models"] = new JsonArray { new JsonObject
            {
                ["Id"] = "gpt-test",
                ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "fake", ["Model"] = "gpt-test-1" } },
            } },
            ["Keys"] = new JsonArray { new JsonObject
            {
                ["Name"] = "demo", ["Key"] = RouterTestNode.DemoKey, ["Rpm"] = 1_000_000, ["Tpm"] = 1_000_000_000,
                ["MaxConcurrent"] = 1_000, ["BudgetUsd"] = 1_000_000, ["Models"] = new JsonArray("*"),
            } },
            ["Batches"] = new JsonObject { ["Parallelism"] = Parallelism, ["ResumeSweepSeconds"] = 60 },
            ["Shutdown"] = new JsonObject { ["DrainSeconds"] = 2 },
        },
    };
}

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Node.Batches;
using Router.Node.Tests.Infrastructure;
using Router.Node.Tests.Ingress;
using Router.Testing;

namespace Router.Node.Tests.Batches;

public sealed class BatchJobHttpTests
{
    private const string OtherKey = "sk-test-other";

    [Fact]
    public async Task Runs_every_valid_line_once_and_reports_each_bad_line_in_the_error_file()
    {
        await using var node = await RouterTestNode.StartAsync(WithTwoKeys(GrpcBatchTests.SimulatedConfig()));
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);
        var lines = Enumerable.Range(0, 20).Select(i => BatchApiClient.Line($"item-{i}", $"question {i}", "sim")).ToList();
        lines.Insert(3, "this is not json");                                                                     // line 4
        lines.Insert(7, """{"method":"POST","url":"/v1/chat/completions","body":{}}""");                          // line 8: no custom_id
        lines.Insert(10, BatchApiClient.Line("item-1", "again", "sim"));                                         // line 11: duplicate
        lines.Insert(12, """{"custom_id":"wrong-url","method":"POST","url":"/v1/embeddings","body":{}}""");      // line 13
        lines.Add("""{"custom_id":"no-messages","method":"POST","url":"/v1/chat/completions","body":{"model":"sim"}}"""); // line 25: fails when run
        var fileId = await api.UploadIdAsync(string.Join("\n", lines) + "\n\n");

        var created = await api.CreateOkAsync(fileId);
        Assert.Equal("batch", created.GetProperty("object").GetString());
        Assert.Equal(25, BatchApiClient.Count(created, "total"));
        var id = created.GetProperty("id").GetString()!;

        var done = await api.WaitForAsync(id, BatchApiClient.IsFinal, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", BatchApiClient.Status(done));
        Assert.Equal(20, BatchApiClient.Count(done, "completed"));
        Assert.Equal(5, BatchApiClient.Count(done, "failed"));
        Assert.NotEqual(JsonValueKind.Null, done.GetProperty("completed_at").ValueKind);

        var output = Jsonl(await api.ContentAsync(done.GetProperty("output_file_id").GetString()!));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"item-{i}"), output.Select(o => o.GetProperty("custom_id").GetString()));
        Assert.All(output, o =>
        {
            Assert.Equal(200, o.GetProperty("response").GetProperty("status_code").GetInt32());
            var body = o.GetProperty("response").GetProperty("body");
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());
            Assert.Contains("simulated", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        });

        var errors = Jsonl(await api.ContentAsync(done.GetProperty("error_file_id").GetString()!));
        Assert.Equal(5, errors.Count);
        var malformed = errors.Where(e => e.GetProperty("error").ValueKind == JsonValueKind.Object).ToList();
        Assert.Equal([4, 8, 11, 13], malformed.Select(e => e.GetProperty("error").GetProperty("line").GetInt32()));
        Assert.Equal(["invalid_json", "missing_custom_id", "duplicate_custom_id", "invalid_url"],
            malformed.Select(e => e.GetProperty("error").GetProperty("code").GetString()));
        var failed = Assert.Single(errors, e => e.GetProperty("error").ValueKind == JsonValueKind.Null);
        Assert.Equal("no-messages", failed.GetProperty("custom_id").GetString());
        Assert.Equal(400, failed.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("messages", failed.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("param").GetString());

        // The batch and its files belong to the key that made them.
        var (listStatus, list) = await api.GetAsync("/v1/batches");
        Assert.Equal(HttpStatusCode.OK, listStatus);
        Assert.Contains(list.GetProperty("data").EnumerateArray(), b => b.GetProperty("id").GetString() == id);
        var other = new BatchApiClient(node.Http, OtherKey);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/batches/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/files/{fileId}")).Status);
        Assert.Empty((await other.GetAsync("/v1/batches")).Body.GetProperty("data").EnumerateArray());
        var (fileStatus, file) = await api.GetAsync($"/v1/files/{fileId}");
        Assert.Equal(HttpStatusCode.OK, fileStatus);
        Assert.Equal("batch", file.GetProperty("purpose").GetString());
    }

    [Fact]
    public async Task An_embeddings_batch_answers_each_line_with_vectors_and_refuses_chat_models()
    {
        var router = WithTwoKeys(GrpcBatchTests.SimulatedConfig());
        router["Models"]!.AsArray().Add(new JsonObject
        {
            ["Id"] = "sim-embed", ["Kind"] = "embeddings",
            ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-embed-1" } },
        });
        await using var node = await RouterTestNode.StartAsync(router);
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);
        var lines = Enumerable.Range(0, 4)
            .Select(i => $$$"""{"custom_id":"e-{{{i}}}","method":"POST","url":"/v1/embeddings","body":{"model":"sim-embed","input":["text {{{i}}}","more"],"dimensions":6}}""")
            .Append("""{"custom_id":"chat-model","method":"POST","url":"/v1/embeddings","body":{"model":"sim","input":"x"}}""")
            // A lone surrogate escape is the client's malformed input: a 400 line, as over HTTP, not an internal error.
            .Append("""{"custom_id":"bad-text","method":"POST","url":"/v1/embeddings","body":{"model":"sim-embed","input":"\ud800"}}""");
        var fileId = await api.UploadIdAsync(string.Join("\n", lines) + "\n");

        var (status, created) = await api.CreateAsync(fileId, endpoint: "/v1/embeddings");
        Assert.Equal(HttpStatusCode.OK, status);
        var done = await api.WaitForAsync(created.GetProperty("id").GetString()!, BatchApiClient.IsFinal, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", BatchApiClient.Status(done));
        Assert.Equal(4, BatchApiClient.Count(done, "completed"));
        Assert.Equal(2, BatchApiClient.Count(done, "failed"));
        var output = Jsonl(await api.ContentAsync(done.GetProperty("output_file_id").GetString()!));
        Assert.All(output, o =>
        {
            var body = o.GetProperty("response").GetProperty("body");
            Assert.Equal("list", body.GetProperty("object").GetString());
            Assert.Equal("sim-embed", body.GetProperty("model").GetString());
            Assert.Equal(2, body.GetProperty("data").GetArrayLength());
            Assert.All(body.GetProperty("data").EnumerateArray(), e => Assert.Equal(6, e.GetProperty("embedding").GetArrayLength()));
            Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        });
        var failed = Jsonl(await api.ContentAsync(done.GetProperty("error_file_id").GetString()!))
            .ToDictionary(e => e.GetProperty("custom_id").GetString()!);
        Assert.Equal(["bad-text", "chat-model"], failed.Keys.Order(StringComparer.Ordinal));
        Assert.All(failed.Values, f => Assert.Equal(400, f.GetProperty("response").GetProperty("status_code").GetInt32()));
        Assert.Equal("model", failed["chat-model"].GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("not valid Unicode", failed["bad-text"].GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Refuses_unknown_files_oversized_batches_and_bad_parameters_in_openai_shape()
    {
        var router = WithTwoKeys(GrpcBatchTests.SimulatedConfig());
        router["Batches"] = new JsonObject { ["MaxItems"] = 5 };
        await using var node = await RouterTestNode.StartAsync(router);
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);

        var (missing, missingBody) = await api.CreateAsync("file-doesnotexist");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("invalid_request_error", missingBody.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("file-doesnotexist", missingBody.GetProperty("error").GetProperty("message").GetString());

        var six = await api.UploadIdAsync(string.Join("\n", Enumerable.Range(0, 6).Select(i => BatchApiClient.Line($"c{i}", "q", "sim"))));
        var (tooMany, tooManyBody) = await api.CreateAsync(six);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany);
        Assert.Equal("input_file_id", tooManyBody.GetProperty("error").GetProperty("param").GetString());

        var five = await api.UploadIdAsync(string.Join("\n", Enumerable.Range(0, 5).Select(i => BatchApiClient.Line($"c{i}", "q", "sim"))));
        Assert.Equal(HttpStatusCode.BadRequest, (await api.CreateAsync(five, endpoint: "/v1/completions")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.CreateAsync(five, window: "1h")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await new BatchApiClient(node.Http, OtherKey).CreateAsync(five)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.UploadAsync("{}", purpose: "fine-tune")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await new BatchApiClient(node.Http, "sk-wrong").UploadAsync("{}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/v1/batches/batch_nope")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.CreateAsync(five)).Status);
    }

    [Fact]
    public async Task Cancelling_stops_feeding_items_and_cancels_the_ones_in_flight()
    {
        await using var upstream = await ControlledUpstream.StartAsync();
        var router = OverloadTests.ConfigFor(upstream);
        router["Batches"] = new JsonObject { ["Parallelism"] = 4 };
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 120_000, ["DeadlineMs"] = 180_000 };
        await using var node = await RouterTestNode.StartAsync(router);
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);
        var fileId = await api.UploadIdAsync(string.Join("\n", Enumerable.Range(0, 50).Select(i => BatchApiClient.Line($"c{i}", "q", "held"))));
        var id = (await api.CreateOkAsync(fileId)).GetProperty("id").GetString()!;

        // The upstream holds every answer: exactly the job's parallelism is in flight.
        await upstream.WaitForInFlightAsync(4, TimeSpan.FromSeconds(30));
        var stats = (await OverloadTests.AdminStatsAsync(node)).GetProperty("batches");
        Assert.Equal(1, stats.GetProperty("jobsRunning").GetInt32());
        Assert.Equal(4, stats.GetProperty("jobItemsInFlight").GetInt32());
        Assert.Equal(0, node.Services.GetRequiredService<Router.Node.Ingress.IngressQueue>().Running);

        var (status, cancelling) = await api.PostAsync($"/v1/batches/{id}/cancel");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(BatchApiClient.Status(cancelling), new[] { "cancelling", "cancelled" });
        var cancelled = await api.WaitForAsync(id, BatchApiClient.IsFinal, TimeSpan.FromSeconds(30));

        Assert.Equal("cancelled", BatchApiClient.Status(cancelled));
        Assert.Equal(0, BatchApiClient.Count(cancelled, "completed"));
        Assert.Equal(4, upstream.Received);
        await upstream.WaitForIdleAsync(TimeSpan.FromSeconds(30)); // the held calls were cancelled, not left running
        var after = (await OverloadTests.AdminStatsAsync(node)).GetProperty("batches");
        Assert.Equal(0, after.GetProperty("jobsRunning").GetInt32());
        Assert.Equal(0, after.GetProperty("jobItemsInFlight").GetInt32());
    }

    [Fact]
    public async Task Items_refused_by_the_keys_limits_wait_for_retry_after_and_run_again()
    {
        var router = GrpcBatchTests.SimulatedConfig();
        ((JsonObject)router["Providers"]![0]!)["LatencyMs"] = 200;
        router["Keys"] = new JsonArray { new JsonObject { ["Name"] = "tight", ["Key"] = RouterTestNode.DemoKey, ["MaxConcurrent"] = 2, ["Models"] = new JsonArray("*") } };
        router["Batches"] = new JsonObject { ["Parallelism"] = 4 };
        await using var node = await RouterTestNode.StartAsync(router);
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);
        var fileId = await api.UploadIdAsync(string.Join("\n", Enumerable.Range(0, 10).Select(i => BatchApiClient.Line($"c{i}", "q", "sim"))));
        var id = (await api.CreateOkAsync(fileId)).GetProperty("id").GetString()!;

        var done = await api.WaitForAsync(id, BatchApiClient.IsFinal, TimeSpan.FromSeconds(120));

        // Four items at a time against a key that admits two: at least the first round's other two were refused
        // (429 from the key's owner) and ran again; none failed for it.
        Assert.Equal("completed", BatchApiClient.Status(done));
        Assert.Equal(10, BatchApiClient.Count(done, "completed"));
        Assert.Equal(0, BatchApiClient.Count(done, "failed"));
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error_file_id").ValueKind);
        var stats = (await OverloadTests.AdminStatsAsync(node)).GetProperty("batches");
        Assert.True(stats.GetProperty("jobItemRetries").GetInt64() >= 2, stats.ToString());
        Assert.Equal(10, stats.GetProperty("jobItemsFinished").GetInt64() - stats.GetProperty("jobItemRetries").GetInt64());
    }

    [Fact]
    public async Task An_item_the_upstream_answers_429_runs_again_after_retry_after_and_succeeds()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var calls = 0;
        var answered429 = 0;
        // The first two upstream calls are refused with Retry-After; every later one answers.
        upstream.Always(new Behaviour
        {
            Pick = () =>
            {
                if (Interlocked.Increment(ref calls) > 2) return Behaviour.Echo;
                Interlocked.Increment(ref answered429);
                return Behaviour.ProviderError(429, "rate_limit_error", "Slow down.", "rate_limit_exceeded", ("Retry-After", "1"));
            },
        });
        var router = RouterTestNode.Config(
            new JsonArray { new JsonObject
            {
                ["Name"] = "fake", ["Kind"] = "openai", ["BaseUrl"] = upstream.BaseUrl,
                ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "k1", ["Secret"] = "sk-upstream" } },
            } },
            new JsonArray { new JsonObject
            {
                ["Id"] = "gpt-test", ["Deployments"] = new JsonArray { new JsonObject { ["Provider"] = "fake", ["Model"] = "gpt-test-1" } },
            } });
        // One attempt per dispatch: the upstream's 429 reaches the job, which must wait and run the item again.
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 10_000 };
        router["Batches"] = new JsonObject { ["Parallelism"] = 1 };
        await using var node = await RouterTestNode.StartAsync(router);
        var api = new BatchApiClient(node.Http, RouterTestNode.DemoKey);
        var fileId = await api.UploadIdAsync(string.Join("\n", Enumerable.Range(0, 3).Select(i => BatchApiClient.Line($"c{i}", $"question {i}", "gpt-test"))));
        var id = (await api.CreateOkAsync(fileId)).GetProperty("id").GetString()!;

        var done = await api.WaitForAsync(id, BatchApiClient.IsFinal, TimeSpan.FromSeconds(60));

        Assert.Equal("completed", BatchApiClient.Status(done));
        Assert.Equal(3, BatchApiClient.Count(done, "completed"));
        Assert.Equal(0, BatchApiClient.Count(done, "failed"));
        // Two 429s really happened upstream, both to the first item, and then it (and the others) succeeded.
        Assert.Equal(2, Volatile.Read(ref answered429));
        Assert.Equal(5, upstream.RequestCount);
        var asked = upstream.Requests.OrderBy(r => r.Sequence).Select(r => r.RawBody).ToList();
        Assert.All(asked.Take(3), body => Assert.Contains("question 0", body));
        Assert.Contains("question 1", asked[3]);
        Assert.Contains("question 2", asked[4]);
        var output = Jsonl(await api.ContentAsync(done.GetProperty("output_file_id").GetString()!));
        Assert.Equal(["c0", "c1", "c2"], output.Select(o => o.GetProperty("custom_id").GetString()));
        Assert.All(output, o => Assert.Equal(200, o.GetProperty("response").GetProperty("status_code").GetInt32()));
        Assert.Equal("echo: question 0", output[0].GetProperty("response").GetProperty("body").GetProperty("choices")[0]
            .GetProperty("message").GetProperty("content").GetString());
        Assert.True((await OverloadTests.AdminStatsAsync(node)).GetProperty("batches").GetProperty("jobItemRetries").GetInt64() >= 2);
    }

    internal static List<JsonElement> Jsonl(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static JsonObject WithTwoKeys(JsonObject router)
    {
        router["Keys"] = new JsonArray
        {
            new JsonObject { ["Name"] = "demo", ["Key"] = RouterTestNode.DemoKey, ["Models"] = new JsonArray("*") },
            new JsonObject { ["Name"] = "other", ["Key"] = OtherKey, ["Models"] = new JsonArray("*") },
        };
        return router;
    }
}

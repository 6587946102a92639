using System.Net;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// Both HTTP ingresses against every upstream kind, through real sockets on both sides: what the client reads
/// (content, usage, finish reason, the protocol's own framing, the x-router-* headers) and what the upstream got.
/// </summary>
public sealed class HttpRoundTripTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> UpstreamKinds => new() { "openai", "anthropic", "simulated" };

    public static TheoryData<string, bool> UpstreamKindsWithUsageOption => new()
    {
        { "openai", true }, { "anthropic", true }, { "simulated", true },
        { "openai", false }, { "anthropic", false }, { "simulated", false },
    };

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task OpenAi_ingress_answers_with_the_upstreams_content_and_usage(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(expected.Model, prompt)));
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.StartsWith("chatcmpl-", (string?)body["id"]);
        Assert.Equal(expected.Model, (string?)body["model"]);
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal(0, (int?)choice["index"]);
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Equal(expected.Text, (string?)choice["message"]!["content"]);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal(expected.PromptTokens, (int?)body["usage"]!["prompt_tokens"]);
        Assert.Equal(expected.CompletionTokens, (int?)body["usage"]!["completion_tokens"]);
        Assert.Equal(expected.PromptTokens + expected.CompletionTokens, (int?)body["usage"]!["total_tokens"]);
        response.AssertServedBy(expected);
        fixture.AssertUpstreamSaw(kind, prompt, stream: false);
    }

    [Theory]
    [MemberData(nameof(UpstreamKindsWithUsageOption))]
    public async Task OpenAi_ingress_streams_chunks_then_done_with_a_usage_chunk_only_when_asked(string kind, bool includeUsage)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        using var response = await fixture.Node.Http.SendAsync(
            fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(expected.Model, prompt, stream: true, includeUsage: includeUsage)),
            HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadAllAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        response.AssertServedBy(expected);
        Assert.All(events, e => Assert.Null(e.Event));
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => e.Json).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.All(chunks, c => Assert.Equal(expected.Model, (string?)c["model"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());

        // Usage comes last, alone: empty choices, right before [DONE].
        var withChoices = chunks;
        if (includeUsage)
        {
            var usageChunk = chunks[^1];
            Assert.Empty(usageChunk["choices"]!.AsArray());
            Assert.Equal(expected.PromptTokens, (int?)usageChunk["usage"]!["prompt_tokens"]);
            Assert.Equal(expected.CompletionTokens, (int?)usageChunk["usage"]!["completion_tokens"]);
            Assert.Equal(expected.PromptTokens + expected.CompletionTokens, (int?)usageChunk["usage"]!["total_tokens"]);
            withChoices = chunks.SkipLast(1).ToList();
        }
        Assert.All(withChoices, c => Assert.Null(c["usage"]));
        Assert.All(withChoices, c => Assert.Single(c["choices"]!.AsArray()));

        var choices = withChoices.Select(c => c["choices"]![0]!).ToList();
        Assert.Equal("assistant", (string?)choices[0]["delta"]!["role"]);
        Assert.Equal(expected.Text, string.Concat(choices.Select(c => (string?)c["delta"]!["content"])));
        Assert.Equal("stop", (string?)choices[^1]["finish_reason"]);
        Assert.All(choices.SkipLast(1), c => Assert.Null((string?)c["finish_reason"]));
        fixture.AssertUpstreamSaw(kind, prompt, stream: true);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Anthropic_ingress_answers_with_a_message(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.PostAnthropic(E2e.AnthropicBody(expected.Model, prompt)));
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message", (string?)body["type"]);
        Assert.StartsWith("msg_", (string?)body["id"]);
        Assert.Equal("assistant", (string?)body["role"]);
        Assert.Equal(expected.Model, (string?)body["model"]);
        var block = Assert.Single(body["content"]!.AsArray())!;
        Assert.Equal("text", (string?)block["type"]);
        Assert.Equal(expected.Text, (string?)block["text"]);
        Assert.Equal("end_turn", (string?)body["stop_reason"]);
        Assert.Equal(expected.PromptTokens, (int?)body["usage"]!["input_tokens"]);
        Assert.Equal(expected.CompletionTokens, (int?)body["usage"]!["output_tokens"]);
        response.AssertServedBy(expected);
        fixture.AssertUpstreamSaw(kind, prompt, stream: false);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Anthropic_ingress_streams_anthropics_event_sequence(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var expected = E2e.Expect(kind, prompt);

        using var response = await fixture.Node.Http.SendAsync(
            fixture.Node.PostAnthropic(E2e.AnthropicBody(expected.Model, prompt, stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadAllAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        response.AssertServedBy(expected);
        var names = events.Select(e => e.Event).ToList();
        Assert.Equal(["message_start", "content_block_start", "ping"], names.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names.TakeLast(3));
        var deltas = events.Skip(3).SkipLast(3).ToList();
        Assert.NotEmpty(deltas);
        Assert.All(deltas, e => Assert.Equal("content_block_delta", e.Event));
        Assert.All(events, e => Assert.Equal(e.Event, (string?)e.Json["type"]));

        var start = events[0].Json["message"]!;
        Assert.Equal("assistant", (string?)start["role"]);
        Assert.Equal(expected.Model, (string?)start["model"]);
        Assert.Empty(start["content"]!.AsArray());
        Assert.True((int?)start["usage"]!["input_tokens"] > 0);
        Assert.Equal("text", (string?)events[1].Json["content_block"]!["type"]);
        Assert.All(deltas, e => Assert.Equal("text_delta", (string?)e.Json["delta"]!["type"]));
        Assert.Equal(expected.Text, string.Concat(deltas.Select(e => (string?)e.Json["delta"]!["text"])));

        var messageDelta = events[^2].Json;
        Assert.Equal("end_turn", (string?)messageDelta["delta"]!["stop_reason"]);
        // A translated stream restates the exact prompt count in message_delta (message_start had Router's estimate); an
        // Anthropic upstream's own stream is relayed as it is, and its message_start already carries the exact count.
        Assert.Equal(expected.PromptTokens, (int?)messageDelta["usage"]!["input_tokens"] ?? (int?)start["usage"]!["input_tokens"]);
        Assert.Equal(expected.CompletionTokens, (int?)messageDelta["usage"]!["output_tokens"]);
        fixture.AssertUpstreamSaw(kind, prompt, stream: true);
    }

    [Theory]
    [MemberData(nameof(UpstreamKinds))]
    public async Task Answers_cut_by_max_tokens_finish_with_length_in_each_protocols_words(string kind)
    {
        var prompt = E2e.UniquePrompt();
        var model = E2e.Expect(kind, prompt).Model;

        using var openAi = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(model, prompt, maxTokens: 2)));
        using var anthropic = await fixture.Node.Http.SendAsync(fixture.Node.PostAnthropic(E2e.AnthropicBody(model, prompt, maxTokens: 2)));

        Assert.Equal(HttpStatusCode.OK, openAi.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anthropic.StatusCode);
        Assert.Equal("length", (string?)(await openAi.ReadJsonAsync())["choices"]![0]!["finish_reason"]);
        Assert.Equal("max_tokens", (string?)(await anthropic.ReadJsonAsync())["stop_reason"]);
        if (kind == "simulated") return;
        var sent = fixture.FakeFor(kind).Requests.Where(r => r.RawBody.Contains(prompt, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, r => Assert.Equal(2, r.Body!.Value.GetProperty("max_tokens").GetInt32()));
    }

    [Fact]
    public async Task An_alias_is_served_by_its_model_and_echoed_as_asked()
    {
        var prompt = E2e.UniquePrompt();

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions", E2e.OpenAiBody(E2e.OpenAiAlias, prompt)));
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(E2e.OpenAiAlias, (string?)body["model"]);
        response.AssertServedBy(E2e.Expect("openai", prompt));
        fixture.AssertUpstreamSaw("openai", prompt, stream: false);
    }

    [Fact]
    public async Task Anthropic_ingress_also_accepts_a_bearer_key()
    {
        var prompt = E2e.UniquePrompt();
        using var request = fixture.Node.Post("/v1/messages", E2e.AnthropicBody(E2e.SimModel, prompt));
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await fixture.Node.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(E2e.Expect("simulated", prompt).Text, (string?)(await response.ReadJsonAsync())["content"]![0]!["text"]);
    }

    [Fact]
    public async Task A_system_prompt_reaches_anthropic_as_the_top_level_system_field()
    {
        var prompt = E2e.UniquePrompt();
        var body = new JsonObject
        {
            ["model"] = E2e.AnthropicModel,
            ["messages"] = new JsonArray
            {
                new JsonObject { ["role"] = "system", ["content"] = "You are terse." },
                new JsonObject { ["role"] = "user", ["content"] = prompt },
            },
        }.ToJsonString();

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions", body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var upstream = fixture.Anthropic.RequestFor(prompt).Body!.Value;
        Assert.Equal("You are terse.", upstream.GetProperty("system").GetString());
        Assert.Equal("user", Assert.Single(upstream.GetProperty("messages").EnumerateArray()).GetProperty("role").GetString());
        Assert.Equal(E2e.AnthropicFakeText, (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Router.Testing;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// OpenAI's legacy <c>POST /v1/completions</c> (raw HTTP: the official .NET SDK no longer has a client for it): passed
/// through to an OpenAI upstream, translated to a one-message chat for the simulated provider.
/// </summary>
public sealed class LegacyCompletionsTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<bool> Streamed => new() { false, true };

    private const string Answer = "\n\nThis is indeed a test";

    /// <summary>The API reference's text_completion object.</summary>
    private const string RecordedCompletion = """
        {"id":"cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7","object":"text_completion","created":1589478378,"model":"gpt-3.5-turbo-instruct","system_fingerprint":"fp_44709d6fcb","choices":[{"text":"\n\nThis is indeed a test","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}
        """;

    private static string Chunk(string text, string? finish) =>
        $$"""data: {"id":"cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe","object":"text_completion","created":1690759702,"choices":[{"text":{{JsonValue.Create(text).ToJsonString()}},"index":0,"logprobs":null,"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}],"model":"gpt-3.5-turbo-instruct","system_fingerprint":"fp_44709d6fcb"}""";

    private static string[] RecordedStream =>
    [
        Chunk("\n\n", null),
        Chunk("This is", null),
        Chunk(" indeed a test", null),
        Chunk("", "length"),
        """data: {"id":"cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe","object":"text_completion","created":1690759702,"choices":[],"model":"gpt-3.5-turbo-instruct","system_fingerprint":"fp_44709d6fcb","usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}""",
        "data: [DONE]",
    ];

    private static string Body(string model, string prompt, bool stream)
    {
        var body = new JsonObject { ["model"] = model, ["prompt"] = prompt, ["max_tokens"] = 7, ["temperature"] = 0 };
        if (stream) body["stream"] = true;
        return body.ToJsonString();
    }

    /// <summary>The text and finish reason of a completion, JSON or streamed (then [DONE] must end it).</summary>
    private static (string Text, string? Finish, string Model) Read(string body, bool stream)
    {
        if (!stream)
        {
            var json = JsonNode.Parse(body)!;
            Assert.Equal("text_completion", (string?)json["object"]);
            var choice = Assert.Single(json["choices"]!.AsArray())!;
            return ((string)choice["text"]!, (string?)choice["finish_reason"], (string)json["model"]!);
        }
        var text = new StringBuilder();
        string? finish = null, model = null;
        var data = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", data[^1].Trim());
        foreach (var e in data[..^1])
        {
            Assert.StartsWith("data: ", e);
            var chunk = JsonNode.Parse(e["data: ".Length..])!;
            Assert.Equal("text_completion", (string?)chunk["object"]);
            model ??= (string?)chunk["model"];
            foreach (var c in chunk["choices"]!.AsArray())
            {
                text.Append((string?)c!["text"]);
                finish ??= (string?)c["finish_reason"];
            }
        }
        return (text.ToString(), finish, model!);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Completions_pass_through_to_an_openai_upstream(bool stream)
    {
        var prompt = $"Say this is a test {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream ? Behaviour.RawStream(RecordedStream) : Behaviour.RawJson(RecordedCompletion));
        var request = Body(ProtocolFixture.OpenAiModel, prompt, stream);

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/completions", request));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var (text, finish, model) = Read(body, stream);
        Assert.Equal(Answer, text);
        Assert.Equal("length", finish);
        Assert.Equal(ProtocolFixture.OpenAiModel, model);
        var sent = fixture.OpenAi.Single(prompt);
        Assert.Equal("/v1/completions", sent.Path);
        var expected = JsonNode.Parse(request)!.AsObject();
        expected["model"] = ProtocolFixture.OpenAiUpstreamModel;
        // A streamed request also asks for usage, so Router can meter it (and leaves it out for the client, who did not ask).
        if (stream) expected["stream_options"] = new JsonObject { ["include_usage"] = true };
        Json.Equal(expected.ToJsonString(), sent.RawBody);
        if (stream) Assert.DoesNotContain("\"usage\"", body);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Completions_are_translated_for_the_simulated_provider(bool stream)
    {
        var prompt = $"Say this is a test {Upstream.Marker()}";

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/completions", Body(ProtocolFixture.SimModel, prompt, stream)));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var (text, finish, model) = Read(body, stream);
        // max_tokens 7 reached the simulated provider: it stops one token short of its usual answer.
        Assert.Equal(E2e.SimulatedText(prompt, 7), text);
        Assert.Equal("length", finish);
        Assert.Equal(ProtocolFixture.SimModel, model);
        Assert.Equal($"{ProtocolFixture.SimModel}/sim", response.Header("x-router-deployment"));
    }

    [Theory]
    [InlineData(ProtocolFixture.AnthropicModel)]
    [InlineData(ProtocolFixture.SimModel)]
    public async Task A_completions_only_field_is_refused_for_a_translated_model_naming_it(string model)
    {
        var body = JsonNode.Parse(Body(model, "Say this is a test", stream: false))!.AsObject();
        body["suffix"] = "\n-- end";

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/completions", body.ToJsonString()));

        var error = await response.AssertErrorAsync("openai", HttpStatusCode.BadRequest, null, "invalid_request_error");
        Assert.Equal("suffix", (string?)error["param"]);
    }
}

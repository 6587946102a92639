using System.Net;
using System.Text.Json;
using Router.Testing;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// "A new provider field works without a release": with the same wire in and out, a request field Router has never
/// heard of reaches the upstream byte for byte, and an unknown answer field reaches the client, JSON and streamed.
/// Across wires the same field is refused with a 400 that names it, never dropped.
/// </summary>
public sealed class PassthroughTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<bool> Streamed => new() { false, true };

    /// <summary>A future field's value, written with spacing, an escape and a number form a re-serializer would change.</summary>
    private const string FutureValue = """{ "nested": {"a": [1, 2.50, 1e3, "caf\u00e9"], "b": null},  "flag" : true }""";

    private const string FutureAnswer = """{"tier":"priority","credits":[0.10,2E-3],"note":"\u2603"}""";

    private static string WithFuture(string body) =>
        body[..body.LastIndexOf('}')] + ", \"x_future\": " + FutureValue + "}";

    private static string RawText(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) ? v.GetRawText() : throw new Xunit.Sdk.XunitException($"No '{name}' in {obj.GetRawText()}");

    private async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpRequestMessage request)
    {
        var response = await fixture.Node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return (response, body);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Openai_unknown_fields_pass_through_to_an_openai_upstream_both_ways(bool stream)
    {
        var prompt = $"Say hello {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream
            ? Behaviour.RawStream(
                $$"""data: {"id":"chatcmpl-X1","object":"chat.completion.chunk","created":1722000002,"model":"gpt-4o-mini","system_fingerprint":"fp_1","x_future_answer":{{FutureAnswer}},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":null}]}""",
                """data: {"id":"chatcmpl-X1","object":"chat.completion.chunk","created":1722000002,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}""",
                """data: {"id":"chatcmpl-X1","object":"chat.completion.chunk","created":1722000002,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}""",
                "data: [DONE]")
            : Behaviour.RawJson($$$"""{"id":"chatcmpl-X1","object":"chat.completion","created":1722000002,"model":"gpt-4o-mini","x_future_answer":{{{FutureAnswer}}},"choices":[{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"""));

        var (response, body) = await SendAsync(fixture.Node.Post("/v1/chat/completions",
            WithFuture(E2e.OpenAiBody(ProtocolFixture.OpenAiModel, prompt, stream))));

        var sent = fixture.OpenAi.Single(prompt);
        Assert.Equal(FutureValue, RawText(sent.Json(), "x_future"));
        Assert.Equal(ProtocolFixture.OpenAiUpstreamModel, sent.Json().GetProperty("model").GetString());
        var answer = stream ? FirstEventWith(body, "x_future_answer") : JsonDocument.Parse(body).RootElement;
        Assert.Equal(FutureAnswer, RawText(answer, "x_future_answer"));
        Assert.Equal(ProtocolFixture.OpenAiModel, answer.GetProperty("model").GetString());
        response.Dispose();
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Anthropic_unknown_fields_pass_through_to_an_anthropic_upstream_both_ways(bool stream)
    {
        var prompt = $"Say hello {Upstream.Marker()}";
        fixture.Anthropic.Enqueue(stream
            ? Behaviour.RawStream(
                "event: message_start\ndata: " + $$$"""{"type":"message_start","message":{"id":"msg_X1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1},"x_future_answer":{{{FutureAnswer}}}}}""",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}",
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
                "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}",
                "event: message_stop\ndata: {\"type\":\"message_stop\"}")
            : Behaviour.RawJson($$"""{"id":"msg_X1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1},"x_future_answer":{{FutureAnswer}}}"""));

        var (response, body) = await SendAsync(fixture.Node.PostAnthropic(
            WithFuture(E2e.AnthropicBody(ProtocolFixture.AnthropicModel, prompt, stream))));

        var sent = fixture.Anthropic.Single(prompt);
        Assert.Equal(FutureValue, RawText(sent.Json(), "x_future"));
        Assert.Equal(ProtocolFixture.AnthropicUpstreamModel, sent.Json().GetProperty("model").GetString());
        var message = stream
            ? FirstEventWith(body, "x_future_answer", "message")
            : JsonDocument.Parse(body).RootElement;
        Assert.Equal(FutureAnswer, RawText(message, "x_future_answer"));
        Assert.Equal(ProtocolFixture.AnthropicModel, message.GetProperty("model").GetString());
        response.Dispose();
    }

    /// <summary>The first SSE event whose data (or its <paramref name="inner"/> object) has <paramref name="field"/>.</summary>
    private static JsonElement FirstEventWith(string stream, string field, string? inner = null)
    {
        foreach (var line in stream.Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            var data = JsonDocument.Parse(line["data: ".Length..]).RootElement;
            if (inner is not null && data.TryGetProperty(inner, out var i)) data = i;
            if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty(field, out _)) return data;
        }
        throw new Xunit.Sdk.XunitException($"No event carried '{field}':\n{stream}");
    }

    [Theory]
    [InlineData(ProtocolFixture.AnthropicModel)]
    [InlineData(ProtocolFixture.SimModel)]
    public async Task An_openai_unknown_field_sent_to_another_wire_is_refused_naming_it(string model)
    {
        var prompt = $"Say hello {Upstream.Marker()}";
        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions",
            WithFuture(E2e.OpenAiBody(model, prompt))));

        var error = await response.AssertErrorAsync("openai", HttpStatusCode.BadRequest, null, "invalid_request_error");
        Assert.Equal("x_future", (string?)error["param"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.DoesNotContain(fixture.Anthropic.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_anthropic_unknown_field_sent_to_an_openai_model_is_refused_naming_it()
    {
        var prompt = $"Say hello {Upstream.Marker()}";
        using var response = await fixture.Node.Http.SendAsync(fixture.Node.PostAnthropic(
            WithFuture(E2e.AnthropicBody(ProtocolFixture.OpenAiModel, prompt))));

        // Anthropic's error shape has no param: the message names the field.
        var error = await response.AssertErrorAsync("anthropic", HttpStatusCode.BadRequest, null, "invalid_request_error");
        Assert.Contains("'x_future'", (string?)error["message"]);
        Assert.DoesNotContain(fixture.OpenAi.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
    }
}

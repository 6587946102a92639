using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// Every refusal in each HTTP protocol's own shape and status (OpenAI <c>{"error":{message,type,param,code}}</c>,
/// Anthropic <c>{"type":"error","error":{type,message}}</c>), and after each one the node still serves.
/// </summary>
public sealed class HttpErrorTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> Protocols => new() { "openai", "anthropic" };

    private RouterTestNode Node => fixture.Node;

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Missing_key_is_401(string protocol)
    {
        using var response = await SendAsync(protocol, Body(protocol, E2e.SimModel), key: null);

        await response.AssertErrorAsync(protocol, HttpStatusCode.Unauthorized, "invalid_api_key", "authentication_error");
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Invalid_key_is_401(string protocol)
    {
        using var response = await SendAsync(protocol, Body(protocol, E2e.SimModel), key: "sk-not-a-router-key");

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.Unauthorized, "invalid_api_key", "authentication_error");
        Assert.DoesNotContain("sk-not-a-router-key", (string?)error["message"]);
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task An_invalid_key_wins_over_an_unknown_model(string protocol)
    {
        using var response = await SendAsync(protocol, Body(protocol, "no-such-model"), key: "sk-not-a-router-key");

        await response.AssertErrorAsync(protocol, HttpStatusCode.Unauthorized, "invalid_api_key", "authentication_error");
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Model_not_allowed_for_the_key_is_403(string protocol)
    {
        var prompt = E2e.UniquePrompt();
        using var response = await SendAsync(protocol, Body(protocol, E2e.OpenAiModel, prompt), key: E2e.RestrictedKey);

        await response.AssertErrorAsync(protocol, HttpStatusCode.Forbidden, "model_not_allowed", "permission_error");
        Assert.DoesNotContain(fixture.OpenAi.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
        // The same key is served for the model it may use.
        using var allowed = await SendAsync(protocol, Body(protocol, E2e.SimModel), key: E2e.RestrictedKey);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Unknown_model_is_404_model_not_found(string protocol)
    {
        using var response = await SendAsync(protocol, Body(protocol, "no-such-model"));

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.NotFound, "model_not_found", "not_found_error");
        Assert.Contains("no-such-model", (string?)error["message"]);
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Malformed_json_is_400(string protocol)
    {
        using var response = await SendAsync(protocol, """{"model": "sim-e2e", "messages": [""");

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.BadRequest, openAiCode: null, "invalid_request_error");
        Assert.Contains("JSON", (string?)error["message"]);
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task A_lone_surrogate_escape_in_the_content_is_400_not_500(string protocol)
    {
        var body = protocol == "openai"
            ? """{"model":"sim-e2e","messages":[{"role":"user","content":"broken \ud800 text"}]}"""
            : """{"model":"sim-e2e","max_tokens":10,"messages":[{"role":"user","content":"broken \ud800 text"}]}""";

        using var response = await SendAsync(protocol, body);

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.BadRequest, openAiCode: null, "invalid_request_error");
        Assert.Contains("not valid Unicode", (string?)error["message"]);
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Missing_messages_is_400_naming_the_field(string protocol)
    {
        var body = protocol == "openai" ? """{"model":"sim-e2e"}""" : """{"model":"sim-e2e","max_tokens":10}""";

        using var response = await SendAsync(protocol, body);

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.BadRequest, openAiCode: null, "invalid_request_error");
        Assert.Contains("messages", (string?)error["message"]);
        if (protocol == "openai") Assert.Equal("messages", (string?)error["param"]);
        await Node.AssertStillServesAsync();
    }

    public static TheoryData<string, bool> ProtocolsAndFraming => new()
    {
        { "openai", false }, { "openai", true }, { "anthropic", false }, { "anthropic", true },
    };

    [Theory]
    [MemberData(nameof(ProtocolsAndFraming))]
    public async Task Body_over_the_limit_is_413_with_or_without_content_length(string protocol, bool chunked)
    {
        var prompt = E2e.UniquePrompt() + new string('x', E2e.MaxBodyBytes);
        var json = Body(protocol, E2e.SimModel, prompt);
        Assert.True(Encoding.UTF8.GetByteCount(json) > E2e.MaxBodyBytes);

        using var request = Request(protocol, json, RouterTestNode.DemoKey);
        if (chunked) request.Content = new UnsizedContent(json);
        using var response = await Node.Http.SendAsync(request);

        await response.AssertErrorAsync(protocol, HttpStatusCode.RequestEntityTooLarge, "request_too_large", "request_too_large");
        // The unread rest of the body ends the connection; the client must be told so it does not reuse it.
        Assert.True(response.Headers.ConnectionClose);
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Upstream_failure_is_502_carrying_the_upstreams_reason(string protocol)
    {
        var prompt = E2e.UniquePrompt();

        using var response = await SendAsync(protocol, Body(protocol, E2e.BrokenModel, prompt));

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.BadGateway, "upstream_error", "api_error");
        Assert.Contains(E2e.UpstreamFailureReason, (string?)error["message"]);
        // Every attempt the retry settings allow reached the upstream, and each failed.
        Assert.Equal(2, fixture.Broken.Requests.Count(r => r.RawBody.Contains(prompt, StringComparison.Ordinal)));
        await Node.AssertStillServesAsync();
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Upstream_failure_of_a_stream_request_is_502_before_any_event(string protocol)
    {
        var prompt = E2e.UniquePrompt();
        var json = protocol == "openai"
            ? E2e.OpenAiBody(E2e.BrokenModel, prompt, stream: true)
            : E2e.AnthropicBody(E2e.BrokenModel, prompt, stream: true);

        using var response = await SendAsync(protocol, json);

        var error = await response.AssertErrorAsync(protocol, HttpStatusCode.BadGateway, "upstream_error", "api_error");
        Assert.Contains(E2e.UpstreamFailureReason, (string?)error["message"]);
        await Node.AssertStillServesAsync();
    }

    private static string Body(string protocol, string model, string? prompt = null) =>
        protocol == "openai" ? E2e.OpenAiBody(model, prompt ?? E2e.UniquePrompt()) : E2e.AnthropicBody(model, prompt ?? E2e.UniquePrompt());

    private HttpRequestMessage Request(string protocol, string json, string? key) =>
        protocol == "openai" ? Node.Post("/v1/chat/completions", json, key) : Node.PostAnthropic(json, key);

    private Task<HttpResponseMessage> SendAsync(string protocol, string json, string? key = RouterTestNode.DemoKey) =>
        Node.Http.SendAsync(Request(protocol, json, key));

    /// <summary>A body without a length, so it goes out with <c>Transfer-Encoding: chunked</c>.</summary>
    private sealed class UnsizedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public UnsizedContent(string json)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary><c>GET /v1/models</c> lists what the presented key may use, each model and each alias, in OpenAI's list shape.</summary>
public sealed class ModelsEndpointTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Lists_every_configured_model_and_alias_for_an_unrestricted_key()
    {
        using var response = await GetModelsAsync(RouterTestNode.DemoKey);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("list", (string?)body["object"]);
        var data = body["data"]!.AsArray().Select(m => m!).ToList();
        Assert.All(data, m => Assert.Equal("model", (string?)m["object"]));
        Assert.Equal(
            new[] { E2e.AnthropicModel, E2e.BrokenModel, E2e.OpenAiModel, E2e.SimModel, E2e.OpenAiAlias, E2e.SimAlias }.Order(StringComparer.Ordinal),
            data.Select(m => (string)m["id"]!).Order(StringComparer.Ordinal));
        Assert.Equal(E2e.OpenAiModel, (string?)data.Single(m => (string?)m["id"] == E2e.OpenAiAlias)["alias_of"]);
        Assert.Null(data.Single(m => (string?)m["id"] == E2e.OpenAiModel)["alias_of"]);
    }

    [Fact]
    public async Task A_restricted_key_sees_only_the_models_it_may_use()
    {
        using var response = await GetModelsAsync(E2e.RestrictedKey);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([E2e.SimModel, E2e.SimAlias], body["data"]!.AsArray().Select(m => (string)m!["id"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Lists_what_each_model_serves()
    {
        using var response = await GetModelsAsync(RouterTestNode.DemoKey);
        var body = await response.ReadJsonAsync();

        var sim = body["data"]!.AsArray().Single(m => (string?)m!["id"] == E2e.SimModel)!;
        Assert.Equal(["chat", "responses", "completions"], sim["capabilities"]!.AsArray().Select(c => (string)c!));
    }

    [Fact]
    public async Task Answers_the_anthropic_sdk_in_anthropics_list_shape()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("x-api-key", RouterTestNode.DemoKey);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await fixture.Node.Http.SendAsync(request);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = body["data"]!.AsArray().Select(m => m!).ToList();
        Assert.All(data, m => Assert.Equal("model", (string?)m["type"]));
        Assert.Contains(E2e.AnthropicModel, data.Select(m => (string)m["id"]!));
        Assert.False((bool)body["has_more"]!);
        Assert.Equal((string?)data[0]["id"], (string?)body["first_id"]);
        Assert.Equal((string?)data[^1]["id"], (string?)body["last_id"]);
    }

    [Fact]
    public async Task Accepts_the_anthropic_x_api_key_header()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("x-api-key", RouterTestNode.DemoKey);

        using var response = await fixture.Node.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("sk-not-a-router-key")]
    public async Task Refuses_a_missing_or_invalid_key_with_401(string? key)
    {
        using var response = await GetModelsAsync(key);

        await response.AssertErrorAsync("openai", HttpStatusCode.Unauthorized, "invalid_api_key", "authentication_error");
    }

    private async Task<HttpResponseMessage> GetModelsAsync(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (key is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return await fixture.Node.Http.SendAsync(request);
    }
}

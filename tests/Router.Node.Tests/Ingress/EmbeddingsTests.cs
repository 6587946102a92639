using System.ClientModel;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using OpenAI.Embeddings;
using Router.Actors.Upstreams;
using Router.Node.Tests.Infrastructure;
using Router.Node.Upstreams.Simulated;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// <c>/v1/embeddings</c> through the OpenAI SDK's <see cref="EmbeddingClient"/> and raw HTTP (float and base64), against
/// an OpenAI upstream (the client's body passes through, model rewritten) and the simulated provider (vectors written by Router).
/// </summary>
public sealed class EmbeddingsTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    /// <summary>The fake's vector for an input: its length / 100, then 0.5 and -0.25.</summary>
    private static float[] FakeVector(string input) => [input.Length / 100f, 0.5f, -0.25f];

    private EmbeddingClient Sdk(string model) =>
        new(model, new ApiKeyCredential(RouterTestNode.DemoKey), fixture.OpenAiOptions());

    [Fact]
    public async Task Openai_sdk_embeds_through_an_openai_upstream_that_gets_the_sdks_body_with_only_the_model_rewritten()
    {
        string[] inputs = [$"The food was delicious {Upstream.Marker()}", "and the waiter was friendly"];

        var result = await Sdk(ProtocolFixture.OpenAiEmbeddingsModel).GenerateEmbeddingsAsync(inputs);
        var collection = result.Value;

        Assert.Equal(2, collection.Count);
        Assert.Equal(FakeVector(inputs[0]), collection[0].ToFloats().ToArray());
        Assert.Equal(FakeVector(inputs[1]), collection[1].ToFloats().ToArray());
        Assert.Equal(ProtocolFixture.OpenAiEmbeddingsModel, collection.Model);
        Assert.Equal(inputs.Sum(i => (i.Length + 3) / 4), collection.Usage.InputTokenCount);
        Assert.Equal($"{ProtocolFixture.OpenAiEmbeddingsModel}/openai", result.GetRawResponse().Headers.TryGetValue("x-router-deployment", out var d) ? d : null);

        var sent = fixture.OpenAi.Single(inputs[0]);
        Assert.Equal("/v1/embeddings", sent.Path);
        var body = sent.Node().AsObject();
        Assert.Equal(ProtocolFixture.OpenAiEmbeddingsUpstreamModel, (string?)body["model"]);
        // The .NET SDK asks for base64 (smaller on the wire) and decodes it itself; Router passes its choice on.
        Assert.Equal("base64", (string?)body["encoding_format"]);
        Assert.Equal(inputs, body["input"]!.AsArray().Select(i => (string?)i));
        Assert.Equal(["encoding_format", "input", "model"], body.Select(p => p.Key).Order());
    }

    [Fact]
    public async Task Openai_sdk_embeds_with_the_simulated_provider_at_the_requested_dimensions()
    {
        string[] inputs = ["The food was delicious", "and the waiter was friendly"];

        var collection = (await Sdk(ProtocolFixture.SimEmbeddingsModel)
            .GenerateEmbeddingsAsync(inputs, new EmbeddingGenerationOptions { Dimensions = 8 })).Value;

        Assert.Equal(2, collection.Count);
        Assert.Equal(SimulatedUpstreamClient.Embed(inputs[0], 8), collection[0].ToFloats().ToArray());
        Assert.Equal(SimulatedUpstreamClient.Embed(inputs[1], 8), collection[1].ToFloats().ToArray());
        Assert.Equal(ProtocolFixture.SimEmbeddingsModel, collection.Model);
        Assert.True(collection.Usage.InputTokenCount > 0);
    }

    public static TheoryData<string, string> ModelsAndFormats => new()
    {
        { ProtocolFixture.OpenAiEmbeddingsModel, "float" },
        { ProtocolFixture.OpenAiEmbeddingsModel, "base64" },
        { ProtocolFixture.SimEmbeddingsModel, "float" },
        { ProtocolFixture.SimEmbeddingsModel, "base64" },
    };

    [Theory]
    [MemberData(nameof(ModelsAndFormats))]
    public async Task Raw_http_gets_embeddings_in_the_encoding_format_it_asked_for(string model, string format)
    {
        var input = $"Embed me please {Upstream.Marker()}";
        var request = new JsonObject { ["model"] = model, ["input"] = new JsonArray(input), ["encoding_format"] = format };

        using var response = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/embeddings", request.ToJsonString()));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {raw}");
        var body = JsonNode.Parse(raw)!;

        Assert.Equal("list", (string?)body["object"]);
        Assert.Equal(model, (string?)body["model"]);
        var item = Assert.Single(body["data"]!.AsArray())!;
        Assert.Equal("embedding", (string?)item["object"]);
        Assert.Equal(0, (int)item["index"]!);
        float[] vector = format == "base64"
            ? MemoryMarshal.Cast<byte, float>(Convert.FromBase64String((string)item["embedding"]!)).ToArray()
            : [.. item["embedding"]!.AsArray().Select(v => (float)v!)];
        var expected = model == ProtocolFixture.OpenAiEmbeddingsModel
            ? FakeVector(input)
            : SimulatedUpstreamClient.Embed(input, SimulatedUpstreamClient.DefaultDimensions);
        Assert.Equal(expected, vector);
        Assert.Equal((input.Length + 3) / 4, (int)body["usage"]!["prompt_tokens"]!);
        if (model == ProtocolFixture.OpenAiEmbeddingsModel)
            Assert.Equal(format, (string?)fixture.OpenAi.Single(input).Node()["encoding_format"]);
    }

    [Fact]
    public async Task A_chat_model_refuses_embeddings_and_an_embeddings_model_refuses_chat()
    {
        using var embedOnChat = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/embeddings",
            new JsonObject { ["model"] = ProtocolFixture.OpenAiModel, ["input"] = "hello" }.ToJsonString()));
        using var chatOnEmbed = await fixture.Node.Http.SendAsync(fixture.Node.Post("/v1/chat/completions",
            E2e.OpenAiBody(ProtocolFixture.OpenAiEmbeddingsModel, "hello")));

        var e1 = await embedOnChat.AssertErrorAsync("openai", System.Net.HttpStatusCode.BadRequest, null, "invalid_request_error");
        var e2 = await chatOnEmbed.AssertErrorAsync("openai", System.Net.HttpStatusCode.BadRequest, null, "invalid_request_error");
        Assert.Equal("model", (string?)e1["param"]);
        Assert.Equal("model", (string?)e2["param"]);
    }
}

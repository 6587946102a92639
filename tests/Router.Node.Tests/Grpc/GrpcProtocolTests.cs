using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Router.Actors.Upstreams;
using Router.Node.Tests.Infrastructure;
using Router.Node.Upstreams.Simulated;
using Router.Testing;
using G = Router.Contracts.Grpc;

namespace Router.Node.Tests.Grpc;

/// <summary>
/// <c>router.v1.Router</c> beyond text: a tool loop through <c>Complete</c> and <c>CompleteStream</c> (tools, the
/// assistant's tool_calls and the tool message's tool_call_id, streamed tool_call_start/tool_call_delta) against the
/// simulated provider and an Anthropic upstream, and <c>Embed</c> against both embeddings deployments.
/// </summary>
public sealed class GrpcProtocolTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<string, bool> ModelsAndStreaming => new()
    {
        { ProtocolFixture.SimModel, false },
        { ProtocolFixture.SimModel, true },
        { ProtocolFixture.AnthropicModel, false },
        { ProtocolFixture.AnthropicModel, true },
    };

    private sealed record Answer(string Content, IReadOnlyList<G.ToolCall> Calls, string FinishReason);

    private static G.CompletionRequest Request(string model, IEnumerable<G.Message> messages)
    {
        var request = new G.CompletionRequest { Model = model, MaxTokens = 256 };
        request.Messages.AddRange(messages);
        request.Tools.Add(new G.Tool
        {
            Name = Recorded.WeatherTool, Description = "Get the current weather in a given location", ParametersJson = Recorded.WeatherSchema,
        });
        return request;
    }

    private async Task<Answer> CallAsync(G.CompletionRequest request, bool stream)
    {
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        var deadline = DateTime.UtcNow + E2e.Patience;
        if (!stream)
        {
            var response = await client.CompleteAsync(request, E2e.Bearer(RouterTestNode.DemoKey), deadline);
            return new Answer(response.Content, [.. response.ToolCalls], response.FinishReason);
        }
        using var call = client.CompleteStream(request, E2e.Bearer(RouterTestNode.DemoKey), deadline);
        var text = new StringBuilder();
        var calls = new List<(string Id, string Name, StringBuilder Arguments)>();
        G.Finish? finish = null;
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            Assert.Null(finish); // Nothing follows the finish chunk.
            switch (chunk.KindCase)
            {
                case G.CompletionChunk.KindOneofCase.Delta:
                    text.Append(chunk.Delta);
                    break;
                case G.CompletionChunk.KindOneofCase.ToolCallStart:
                    // Indexes count from 0 in the order the calls start.
                    Assert.Equal(calls.Count, chunk.ToolCallStart.Index);
                    calls.Add((chunk.ToolCallStart.Id, chunk.ToolCallStart.Name, new StringBuilder()));
                    break;
                case G.CompletionChunk.KindOneofCase.ToolCallDelta:
                    calls[chunk.ToolCallDelta.Index].Arguments.Append(chunk.ToolCallDelta.ArgumentsFragment);
                    break;
                case G.CompletionChunk.KindOneofCase.Finish:
                    finish = chunk.Finish;
                    break;
            }
        }
        Assert.NotNull(finish);
        return new Answer(text.ToString(),
            [.. calls.Select(c => new G.ToolCall { Id = c.Id, Name = c.Name, ArgumentsJson = c.Arguments.ToString() })], finish.FinishReason);
    }

    [Theory]
    [MemberData(nameof(ModelsAndStreaming))]
    public async Task Grpc_runs_a_tool_loop(string model, bool stream)
    {
        var prompt = $"What is the weather like in San Francisco? {Upstream.Marker()}";
        var anthropic = model == ProtocolFixture.AnthropicModel;
        if (anthropic)
            fixture.Anthropic.Enqueue(stream ? Behaviour.RawStream(Recorded.AnthropicToolUseStream) : Behaviour.RawJson(Recorded.AnthropicToolUse));
        var user = new G.Message { Role = "user", Content = prompt };

        var first = await CallAsync(Request(model, [user]), stream);

        Assert.Equal("tool_calls", first.FinishReason);
        var call = Assert.Single(first.Calls);
        Assert.Equal(Recorded.WeatherTool, call.Name);
        var arguments = JsonNode.Parse(call.ArgumentsJson)!.AsObject();
        if (anthropic)
        {
            Assert.Equal(Recorded.AnthropicToolUseId, call.Id);
            Assert.Equal(Recorded.AnthropicPreamble, first.Content);
            Json.Equal(Recorded.WeatherArguments, call.ArgumentsJson);
            var tool = Assert.Single(fixture.Anthropic.Single(prompt).Node()["tools"]!.AsArray())!;
            Json.Equal(Recorded.WeatherSchema, tool["input_schema"]);
        }
        else
        {
            Assert.StartsWith("call_", call.Id);
            // The simulated provider fills the schema's required fields.
            Assert.Equal("String", JsonValueKind(arguments["location"]));
        }

        var result = $"15 degrees {Upstream.Marker()}";
        var assistant = new G.Message { Role = "assistant", Content = first.Content };
        assistant.ToolCalls.Add(call);
        var toolMessage = new G.Message { Role = "tool", ToolCallId = call.Id, Content = result };
        var second = await CallAsync(Request(model, [user, assistant, toolMessage]), stream);

        Assert.Equal("stop", second.FinishReason);
        Assert.Empty(second.Calls);
        if (!anthropic)
        {
            Assert.StartsWith("This is a simulated answer", second.Content);
            return;
        }
        Assert.Equal(E2e.AnthropicFakeText, second.Content);
        var messages = fixture.Anthropic.Single(result).Node()["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], messages.Select(m => (string?)m!["role"]));
        var blocks = messages[1]!["content"]!.AsArray();
        Assert.Equal(["text", "tool_use"], blocks.Select(b => (string?)b!["type"]));
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)blocks[1]!["id"]);
        Json.Equal(Recorded.WeatherArguments, blocks[1]!["input"]);
        var toolResult = Assert.Single(messages[2]!["content"]!.AsArray())!;
        Assert.Equal("tool_result", (string?)toolResult["type"]);
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)toolResult["tool_use_id"]);
        Assert.Equal(result, Json.ContentText(toolResult["content"]));
    }

    private static string JsonValueKind(JsonNode? node) => node?.GetValueKind().ToString() ?? "missing";

    [Fact]
    public async Task Grpc_embeds_with_the_simulated_provider_at_the_requested_dimensions()
    {
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        var request = new G.EmbedRequest { Model = ProtocolFixture.SimEmbeddingsModel, Dimensions = 8 };
        request.Input.AddRange(["The food was delicious", "and the waiter was friendly"]);

        var response = await client.EmbedAsync(request, E2e.Bearer(RouterTestNode.DemoKey), DateTime.UtcNow + E2e.Patience);

        Assert.Equal(ProtocolFixture.SimEmbeddingsModel, response.Model);
        Assert.Equal([0, 1], response.Data.Select(d => d.Index));
        Assert.Equal(SimulatedUpstreamClient.Embed(request.Input[0], 8), response.Data[0].Values);
        Assert.Equal(SimulatedUpstreamClient.Embed(request.Input[1], 8), response.Data[1].Values);
        Assert.True(response.Usage.InputTokens > 0);
        Assert.Equal($"{ProtocolFixture.SimEmbeddingsModel}/sim", response.ServedBy.Deployment);
    }

    [Fact]
    public async Task Grpc_embeds_through_an_openai_upstream()
    {
        using var channel = fixture.Node.Channel();
        var client = new G.Router.RouterClient(channel);
        var input = $"The food was delicious {Upstream.Marker()}";
        var request = new G.EmbedRequest { Model = ProtocolFixture.OpenAiEmbeddingsModel };
        request.Input.Add(input);

        var response = await client.EmbedAsync(request, E2e.Bearer(RouterTestNode.DemoKey), DateTime.UtcNow + E2e.Patience);

        Assert.Equal(ProtocolFixture.OpenAiEmbeddingsModel, response.Model);
        var item = Assert.Single(response.Data);
        Assert.Equal([input.Length / 100f, 0.5f, -0.25f], item.Values);
        Assert.Equal((input.Length + 3) / 4, response.Usage.InputTokens);
        var sent = fixture.OpenAi.Single(input).Node();
        Assert.Equal(ProtocolFixture.OpenAiEmbeddingsUpstreamModel, (string?)sent["model"]);
        Assert.Equal(input, sent["input"] is JsonArray inputs ? (string?)Assert.Single(inputs) : (string?)sent["input"]);
    }
}

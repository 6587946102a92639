#pragma warning disable OPENAI001 // The Responses API types are experimental in the OpenAI .NET SDK.
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Responses;
using Router.Node.Tests.Infrastructure;
using Router.Testing;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// The Responses API through the OpenAI SDK's <see cref="ResponsesClient"/>: passed through to an OpenAI upstream (the
/// upstream gets the SDK's own body with only <c>model</c> rewritten, the SDK gets the upstream's answer) and translated
/// for an Anthropic upstream — text, stream, and a function tool with its second turn.
/// </summary>
public sealed class ResponsesApiTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<bool> Streamed => new() { false, true };

    /// <summary>Keeps every request body the SDK writes, so the test can compare it with what the upstream received.</summary>
    private sealed class BodyCapture : PipelinePolicy
    {
        public List<string> Bodies { get; } = [];

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Capture(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Capture(message);
            await ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Capture(PipelineMessage message)
        {
            if (message.Request.Content is not { } content) return;
            using var buffer = new MemoryStream();
            content.WriteTo(buffer);
            lock (Bodies) Bodies.Add(Encoding.UTF8.GetString(buffer.ToArray()));
        }
    }

    private (ResponsesClient Client, BodyCapture Capture) Sdk()
    {
        var capture = new BodyCapture();
        var options = new ResponsesClientOptions { Endpoint = new Uri(fixture.Node.HttpBase, "v1") };
        options.AddPolicy(capture, PipelinePosition.PerCall);
        return (new ResponsesClient(new ApiKeyCredential(RouterTestNode.DemoKey), options), capture);
    }

    private sealed record Outcome(string Text, IReadOnlyList<FunctionCallResponseItem> Calls, ResponseResult Response);

    private static async Task<Outcome> RunAsync(ResponsesClient client, CreateResponseOptions options, bool stream)
    {
        if (!stream)
        {
            var response = (await client.CreateResponseAsync(options)).Value;
            return new Outcome(response.GetOutputText() ?? "", [.. response.OutputItems.OfType<FunctionCallResponseItem>()], response);
        }
        options.StreamingEnabled = true;
        var text = new StringBuilder();
        var calls = new List<FunctionCallResponseItem>();
        ResponseResult? completed = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
        {
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text.Append(delta.Delta);
                    break;
                case StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem call }:
                    calls.Add(call);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    break;
            }
        }
        Assert.NotNull(completed);
        // The final response says what the deltas said.
        Assert.Equal(text.ToString(), completed.GetOutputText() ?? "");
        Assert.Equal(calls.Select(c => c.CallId), completed.OutputItems.OfType<FunctionCallResponseItem>().Select(c => c.CallId));
        return new Outcome(text.ToString(), calls, completed);
    }

    private static FunctionTool WeatherTool() => ResponseTool.CreateFunctionTool(
        Recorded.WeatherTool, BinaryData.FromString(Recorded.WeatherSchema), strictModeEnabled: false, "Get the current weather in a given location");

    /// <summary>What an OpenAI upstream must receive: the SDK's bytes, with only the model's value changed.</summary>
    private static void AssertPassedThrough(string clientBody, RecordedRequest upstream)
    {
        var expected = clientBody.Replace($"\"model\":\"{ProtocolFixture.OpenAiModel}\"", $"\"model\":\"{ProtocolFixture.OpenAiUpstreamModel}\"", StringComparison.Ordinal);
        Assert.NotEqual(clientBody, expected);
        Assert.Equal("/v1/responses", upstream.Path);
        Assert.Equal(expected, upstream.RawBody);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Responses_sdk_text_passes_through_to_an_openai_upstream(bool stream)
    {
        var prompt = $"Tell me a three sentence bedtime story about a unicorn. {Upstream.Marker()}";
        const string upstreamId = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b";
        fixture.OpenAi.Enqueue(stream
            ? Behaviour.RawStream(RecordedResponses.TextStream(upstreamId))
            : Behaviour.RawJson(RecordedResponses.Response(upstreamId, "completed", RecordedResponses.TextItem)));
        var (client, capture) = Sdk();

        var outcome = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.OpenAiModel, [ResponseItem.CreateUserMessageItem(prompt)])
        {
            MaxOutputTokenCount = 200,
        }, stream);

        Assert.Equal(RecordedResponses.Text, outcome.Text);
        Assert.Equal(upstreamId, outcome.Response.Id);
        Assert.Equal(ProtocolFixture.OpenAiModel, outcome.Response.Model);
        Assert.Equal(ResponseStatus.Completed, outcome.Response.Status);
        Assert.Equal(36, outcome.Response.Usage.InputTokenCount);
        Assert.Equal(87, outcome.Response.Usage.OutputTokenCount);
        AssertPassedThrough(Assert.Single(capture.Bodies), fixture.OpenAi.Single(prompt));
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Responses_sdk_text_is_translated_for_an_anthropic_upstream(bool stream)
    {
        var prompt = $"Tell me a three sentence bedtime story about a unicorn. {Upstream.Marker()}";
        var (client, _) = Sdk();

        var outcome = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.AnthropicModel, [ResponseItem.CreateUserMessageItem(prompt)])
        {
            Instructions = "Answer kindly.",
            MaxOutputTokenCount = 200,
        }, stream);

        Assert.Equal(E2e.AnthropicFakeText, outcome.Text);
        Assert.Equal(ProtocolFixture.AnthropicModel, outcome.Response.Model);
        Assert.Equal(ResponseStatus.Completed, outcome.Response.Status);
        Assert.StartsWith("resp_", outcome.Response.Id);
        Assert.Equal(E2e.AnthropicFakePromptTokens, outcome.Response.Usage.InputTokenCount);
        Assert.Equal(E2e.AnthropicFakeCompletionTokens, outcome.Response.Usage.OutputTokenCount);
        var sent = fixture.Anthropic.Single(prompt);
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal(stream, sent.IsStream);
        var body = sent.Node();
        Assert.Equal(ProtocolFixture.AnthropicUpstreamModel, (string?)body["model"]);
        Assert.Equal("Answer kindly.", (string?)body["system"]);
        Assert.Equal(200, (int)body["max_tokens"]!);
        var user = Assert.Single(body["messages"]!.AsArray())!;
        Assert.Equal("user", (string?)user["role"]);
        Assert.Equal(prompt, Json.ContentText(user["content"]));
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Responses_sdk_function_tool_loop_passes_through_to_an_openai_upstream(bool stream)
    {
        var prompt = $"What is the weather like in San Francisco? {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream
            ? Behaviour.RawStream(RecordedResponses.FunctionCallStream("resp_fc_turn1"))
            : Behaviour.RawJson(RecordedResponses.Response("resp_fc_turn1", "completed", RecordedResponses.FunctionCallItem)));
        var (client, capture) = Sdk();
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem(prompt)];

        var first = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.OpenAiModel, input) { Tools = { WeatherTool() } }, stream);

        var call = Assert.Single(first.Calls);
        Assert.Equal(RecordedResponses.CallId, call.CallId);
        Assert.Equal(Recorded.WeatherTool, call.FunctionName);
        Json.Equal(Recorded.WeatherArguments, call.FunctionArguments.ToString());
        AssertPassedThrough(capture.Bodies[0], fixture.OpenAi.Single(prompt));

        var result = $"15 degrees {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream
            ? Behaviour.RawStream(RecordedResponses.TextStream("resp_fc_turn2"))
            : Behaviour.RawJson(RecordedResponses.Response("resp_fc_turn2", "completed", RecordedResponses.TextItem)));
        input.Add(call);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, result));
        var second = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.OpenAiModel, input) { Tools = { WeatherTool() } }, stream);

        Assert.Equal(RecordedResponses.Text, second.Text);
        var sent = fixture.OpenAi.Single(result);
        AssertPassedThrough(capture.Bodies[1], sent);
        var output = sent.Node()["input"]!.AsArray().Single(i => (string?)i!["type"] == "function_call_output")!;
        Assert.Equal(RecordedResponses.CallId, (string?)output["call_id"]);
        Assert.Equal(result, (string?)output["output"]);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Responses_sdk_function_tool_loop_is_translated_for_an_anthropic_upstream(bool stream)
    {
        var prompt = $"What is the weather like in San Francisco? {Upstream.Marker()}";
        fixture.Anthropic.Enqueue(stream ? Behaviour.RawStream(Recorded.AnthropicToolUseStream) : Behaviour.RawJson(Recorded.AnthropicToolUse));
        var (client, _) = Sdk();
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem(prompt)];

        var first = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.AnthropicModel, input) { Tools = { WeatherTool() } }, stream);

        Assert.Equal(Recorded.AnthropicPreamble, first.Text);
        var call = Assert.Single(first.Calls);
        Assert.Equal(Recorded.AnthropicToolUseId, call.CallId);
        Assert.Equal(Recorded.WeatherTool, call.FunctionName);
        Json.Equal(Recorded.WeatherArguments, call.FunctionArguments.ToString());
        var tool = Assert.Single(fixture.Anthropic.Single(prompt).Node()["tools"]!.AsArray())!;
        Assert.Equal(Recorded.WeatherTool, (string?)tool["name"]);
        Json.Equal(Recorded.WeatherSchema, tool["input_schema"]);

        var result = $"15 degrees {Upstream.Marker()}";
        // The SDK's own output items go back as the next input, as an application does without previous_response_id.
        input.AddRange(first.Response.OutputItems);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, result));
        var second = await RunAsync(client, new CreateResponseOptions(ProtocolFixture.AnthropicModel, input) { Tools = { WeatherTool() } }, stream);

        Assert.Equal(E2e.AnthropicFakeText, second.Text);
        Assert.Empty(second.Calls);
        var messages = fixture.Anthropic.Single(result).Node()["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], messages.Select(m => (string?)m!["role"]));
        var assistant = messages[1]!["content"]!.AsArray();
        Assert.Equal(["text", "tool_use"], assistant.Select(b => (string?)b!["type"]));
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)assistant[1]!["id"]);
        Json.Equal(Recorded.WeatherArguments, assistant[1]!["input"]);
        var toolResult = Assert.Single(messages[2]!["content"]!.AsArray())!;
        Assert.Equal("tool_result", (string?)toolResult["type"]);
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)toolResult["tool_use_id"]);
        Assert.Equal(result, Json.ContentText(toolResult["content"]));
    }

    [Fact]
    public async Task Previous_response_id_passes_through_to_an_openai_upstream_and_is_refused_for_an_anthropic_one_naming_it()
    {
        var prompt = $"And tomorrow? {Upstream.Marker()}";
        const string previous = "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b";
        fixture.OpenAi.Enqueue(Behaviour.RawJson(RecordedResponses.Response("resp_next", "completed", RecordedResponses.TextItem)));
        var (client, _) = Sdk();

        var served = (await client.CreateResponseAsync(new CreateResponseOptions(ProtocolFixture.OpenAiModel, [ResponseItem.CreateUserMessageItem(prompt)])
        {
            PreviousResponseId = previous,
        })).Value;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions(ProtocolFixture.AnthropicModel, [ResponseItem.CreateUserMessageItem(prompt)]) { PreviousResponseId = previous }));

        Assert.Equal(RecordedResponses.Text, served.GetOutputText());
        Assert.Equal(previous, (string?)fixture.OpenAi.Single(prompt).Node()["previous_response_id"]);
        Assert.Equal(400, refused.Status);
        var error = JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("previous_response_id", (string?)error["param"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.DoesNotContain(fixture.Anthropic.Requests, r => r.RawBody.Contains(prompt, StringComparison.Ordinal));
    }
}

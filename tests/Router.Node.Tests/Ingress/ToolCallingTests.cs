using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic.Models.Messages;
using OpenAI.Chat;
using Router.Testing;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// A tool loop across wires, driven by the official SDKs: the OpenAI SDK against an Anthropic upstream and the
/// Anthropic SDK against an OpenAI upstream, JSON and streamed. Turn 1: the model calls tools (the provider's ids reach
/// the client unchanged). Turn 2: the client sends the results back and the upstream gets them in its own shape.
/// </summary>
public sealed class ToolCallingTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<bool> Streamed => new() { false, true };

    private sealed record Call(string Id, string Name, string Arguments);

    /// <summary>One answer as the SDK surfaced it; <paramref name="InputTokens"/> is null where the SDK reports none.</summary>
    private sealed record Turn(string Text, IReadOnlyList<Call> Calls, string? Finish, long? InputTokens = null, long? OutputTokens = null);

    // ---- OpenAI SDK → Anthropic upstream ----

    private static readonly ChatTool WeatherChatTool = ChatTool.CreateFunctionTool(
        Recorded.WeatherTool, "Get the current weather in a given location", BinaryData.FromString(Recorded.WeatherSchema));

    private static readonly ChatTool TimeChatTool = ChatTool.CreateFunctionTool(
        Recorded.TimeTool, "Get the current time in a time zone", BinaryData.FromString(Recorded.TimeSchema));

    private async Task<Turn> OpenAiSdkTurnAsync(IReadOnlyList<OpenAI.Chat.ChatMessage> messages, bool stream)
    {
        var client = fixture.OpenAiChat(ProtocolFixture.AnthropicModel);
        var options = new ChatCompletionOptions { Tools = { WeatherChatTool, TimeChatTool } };
        if (!stream)
        {
            var completion = (await client.CompleteChatAsync(messages, options)).Value;
            return new Turn(
                string.Concat(completion.Content.Select(p => p.Text)),
                [.. completion.ToolCalls.Select(t => new Call(t.Id, t.FunctionName, t.FunctionArguments.ToString()))],
                completion.FinishReason.ToString(), completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount);
        }
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            usage ??= update.Usage;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            foreach (var t in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(t.Index, out var call)) calls[t.Index] = call = (null, null, new StringBuilder());
                // Id and name come once, with the call's first delta; a repeat would be a second call at the same index.
                if (t.ToolCallId is not null)
                {
                    Assert.Null(call.Id);
                    call.Id = t.ToolCallId;
                }
                if (t.FunctionName is not null) call.Name = t.FunctionName;
                if (t.FunctionArgumentsUpdate is { } args) call.Arguments.Append(args.ToString());
                calls[t.Index] = call;
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(Enumerable.Range(0, calls.Count), calls.Keys);
        return new Turn(text.ToString(), [.. calls.Values.Select(c => new Call(c.Id!, c.Name!, c.Arguments.ToString()))], finish?.ToString(),
            usage?.InputTokenCount, usage?.OutputTokenCount);
    }

    private static OpenAI.Chat.ChatMessage AssistantTurn(Turn turn)
    {
        var message = new AssistantChatMessage(turn.Calls.Select(c =>
            ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(c.Arguments))));
        if (turn.Text.Length > 0) message.Content.Add(ChatMessageContentPart.CreateTextPart(turn.Text));
        return message;
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task OpenAi_sdk_runs_a_tool_loop_against_an_anthropic_upstream(bool stream)
    {
        var prompt = $"What is the weather like in San Francisco? {Upstream.Marker()}";
        fixture.Anthropic.Enqueue(stream ? Behaviour.RawStream(Recorded.AnthropicToolUseStream) : Behaviour.RawJson(Recorded.AnthropicToolUse));

        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage(prompt)];
        var first = await OpenAiSdkTurnAsync(messages, stream);

        Assert.Equal(ChatFinishReason.ToolCalls.ToString(), first.Finish);
        Assert.Equal(Recorded.AnthropicPreamble, first.Text);
        // The upstream's own usage reaches the client (stream: message_start input, message_delta output).
        Assert.Equal(stream ? 472 : 384, first.InputTokens);
        Assert.Equal(stream ? 89 : 57, first.OutputTokens);
        var call = Assert.Single(first.Calls);
        Assert.Equal(Recorded.AnthropicToolUseId, call.Id);
        Assert.Equal(Recorded.WeatherTool, call.Name);
        Json.Equal(Recorded.WeatherArguments, call.Arguments);
        // The tools went upstream in Anthropic's shape.
        var turn1 = fixture.Anthropic.LastRequest.Node();
        Assert.Contains(prompt, fixture.Anthropic.LastRequest.RawBody);
        var tools = turn1["tools"]!.AsArray();
        Assert.Equal([Recorded.WeatherTool, Recorded.TimeTool], tools.Select(t => (string?)t!["name"]));
        Json.Equal(Recorded.WeatherSchema, tools[0]!["input_schema"]);
        Assert.Equal("Get the current weather in a given location", (string?)tools[0]!["description"]);

        var result = $"15 degrees and sunny {Upstream.Marker()}";
        messages.Add(AssistantTurn(first));
        messages.Add(new ToolChatMessage(call.Id, result));
        var second = await OpenAiSdkTurnAsync(messages, stream);

        Assert.Equal(ChatFinishReason.Stop.ToString(), second.Finish);
        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.AnthropicFakeText, second.Text);
        Assert.Empty(second.Calls);
        var turn2 = fixture.Anthropic.Single(result).Node();
        var sent = turn2["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], sent.Select(m => (string?)m!["role"]));
        var assistant = sent[1]!["content"]!.AsArray();
        Assert.Equal(["text", "tool_use"], assistant.Select(b => (string?)b!["type"]));
        Assert.Equal(Recorded.AnthropicPreamble, (string?)assistant[0]!["text"]);
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)assistant[1]!["id"]);
        Assert.Equal(Recorded.WeatherTool, (string?)assistant[1]!["name"]);
        Json.Equal(Recorded.WeatherArguments, assistant[1]!["input"]);
        var toolResult = Assert.Single(sent[2]!["content"]!.AsArray())!;
        Assert.Equal("tool_result", (string?)toolResult["type"]);
        Assert.Equal(Recorded.AnthropicToolUseId, (string?)toolResult["tool_use_id"]);
        Assert.Equal(result, Json.ContentText(toolResult["content"]));
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task OpenAi_sdk_gets_parallel_tool_calls_from_an_anthropic_upstream_and_their_results_go_back_in_one_user_turn(bool stream)
    {
        var prompt = $"Weather and local time in San Francisco? {Upstream.Marker()}";
        fixture.Anthropic.Enqueue(stream
            ? Behaviour.RawStream(Recorded.AnthropicParallelToolUseStream)
            : Behaviour.RawJson(Recorded.AnthropicParallelToolUse));

        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage(prompt)];
        var first = await OpenAiSdkTurnAsync(messages, stream);

        Assert.Equal(ChatFinishReason.ToolCalls.ToString(), first.Finish);
        Assert.Equal("", first.Text);
        Assert.Equal([Recorded.AnthropicToolUseId, Recorded.AnthropicSecondToolUseId], first.Calls.Select(c => c.Id));
        Assert.Equal([Recorded.WeatherTool, Recorded.TimeTool], first.Calls.Select(c => c.Name));
        Json.Equal(Recorded.WeatherArguments, first.Calls[0].Arguments);
        Json.Equal(Recorded.TimeArguments, first.Calls[1].Arguments);

        var marker = Upstream.Marker();
        messages.Add(AssistantTurn(first));
        messages.Add(new ToolChatMessage(first.Calls[0].Id, $"15 degrees {marker}"));
        messages.Add(new ToolChatMessage(first.Calls[1].Id, $"10:04 {marker}"));
        var second = await OpenAiSdkTurnAsync(messages, stream);

        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.AnthropicFakeText, second.Text);
        var sent = fixture.Anthropic.Single(marker).Node()["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], sent.Select(m => (string?)m!["role"]));
        Assert.Equal([Recorded.AnthropicToolUseId, Recorded.AnthropicSecondToolUseId],
            sent[1]!["content"]!.AsArray().Select(b => (string?)b!["id"]));
        var results = sent[2]!["content"]!.AsArray();
        Assert.Equal(["tool_result", "tool_result"], results.Select(b => (string?)b!["type"]));
        Assert.Equal([Recorded.AnthropicToolUseId, Recorded.AnthropicSecondToolUseId], results.Select(b => (string?)b!["tool_use_id"]));
        Assert.Equal([$"15 degrees {marker}", $"10:04 {marker}"], results.Select(b => Json.ContentText(b!["content"])));
    }

    // ---- Anthropic SDK → OpenAI upstream ----

    private static Tool AnthropicTool(string name, string description, string schema)
    {
        using var doc = JsonDocument.Parse(schema);
        var root = doc.RootElement;
        return new Tool
        {
            Name = name,
            Description = description,
            InputSchema = new InputSchema
            {
                Properties = root.GetProperty("properties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone()),
                Required = [.. root.GetProperty("required").EnumerateArray().Select(r => r.GetString()!)],
            },
        };
    }

    private async Task<Turn> AnthropicSdkTurnAsync(IReadOnlyList<MessageParam> messages, bool stream)
    {
        using var client = fixture.AnthropicSdk();
        var parameters = new MessageCreateParams
        {
            Model = ProtocolFixture.OpenAiModel,
            MaxTokens = 512,
            Messages = messages,
            Tools =
            [
                AnthropicTool(Recorded.WeatherTool, "Get the current weather in a given location", Recorded.WeatherSchema),
                AnthropicTool(Recorded.TimeTool, "Get the current time in a time zone", Recorded.TimeSchema),
            ],
        };
        var text = new StringBuilder();
        if (!stream)
        {
            var message = await client.Messages.Create(parameters);
            var calls = new List<Call>();
            foreach (var block in message.Content)
            {
                if (block.TryPickText(out var t)) text.Append(t.Text);
                else if (block.TryPickToolUse(out var use)) calls.Add(new Call(use.ID, use.Name, JsonSerializer.Serialize(use.Input)));
                else Assert.Fail($"Unexpected block {block.Json}");
            }
            return new Turn(text.ToString(), calls, message.StopReason?.Raw(), message.Usage.InputTokens, message.Usage.OutputTokens);
        }
        var blocks = new SortedDictionary<long, (string Id, string Name, StringBuilder Input)>();
        string? stop = null;
        long? outputTokens = null;
        var stopped = false;
        await foreach (var e in client.Messages.CreateStreaming(parameters))
        {
            if (e.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var use))
                blocks.Add(start.Index, (use.ID, use.Name, new StringBuilder()));
            if (e.TryPickContentBlockDelta(out var delta))
            {
                if (delta.Delta.TryPickText(out var t)) text.Append(t.Text);
                else if (delta.Delta.TryPickInputJson(out var json)) blocks[delta.Index].Input.Append(json.PartialJson);
            }
            if (e.TryPickDelta(out var messageDelta))
            {
                stop = messageDelta.Delta.StopReason?.Raw();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
            if (e.TryPickStop(out _)) stopped = true;
        }
        Assert.True(stopped, "The stream ended without message_stop.");
        // A stream announces input tokens before the upstream has counted them; only the final output count is the upstream's.
        return new Turn(text.ToString(), [.. blocks.Values.Select(b => new Call(b.Id, b.Name, b.Input.ToString()))], stop, null, outputTokens);
    }

    private static AssistantMessageParam AnthropicAssistantTurn(Turn turn)
    {
        var content = new List<ContentBlockParam>();
        if (turn.Text.Length > 0) content.Add(new TextBlockParam(turn.Text));
        foreach (var c in turn.Calls)
            content.Add(new ToolUseBlockParam
            {
                ID = c.Id, Name = c.Name, Input = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(c.Arguments)!,
            });
        return new AssistantMessageParam(content);
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Anthropic_sdk_runs_a_tool_loop_against_an_openai_upstream(bool stream)
    {
        var prompt = $"What is the weather like in San Francisco? {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream ? Behaviour.RawStream(Recorded.OpenAiToolCallStream) : Behaviour.RawJson(Recorded.OpenAiToolCall));

        List<MessageParam> messages = [new UserMessageParam(prompt)];
        var first = await AnthropicSdkTurnAsync(messages, stream);

        Assert.Equal("tool_use", first.Finish);
        Assert.Equal("", first.Text);
        if (!stream) Assert.Equal(82, first.InputTokens);
        Assert.Equal(17, first.OutputTokens);
        var call = Assert.Single(first.Calls);
        Assert.Equal(Recorded.OpenAiCallId, call.Id);
        Assert.Equal(Recorded.WeatherTool, call.Name);
        Json.Equal(Recorded.WeatherArguments, call.Arguments);
        // The tools went upstream in OpenAI's shape.
        var turn1 = fixture.OpenAi.Single(prompt).Node();
        var tools = turn1["tools"]!.AsArray();
        Assert.Equal(["function", "function"], tools.Select(t => (string?)t!["type"]));
        Assert.Equal([Recorded.WeatherTool, Recorded.TimeTool], tools.Select(t => (string?)t!["function"]!["name"]));
        Json.Equal(Recorded.WeatherSchema, tools[0]!["function"]!["parameters"]);

        var result = $"15 degrees and sunny {Upstream.Marker()}";
        messages.Add(AnthropicAssistantTurn(first));
        messages.Add(new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam(call.Id) { Content = result } }));
        var second = await AnthropicSdkTurnAsync(messages, stream);

        Assert.Equal("end_turn", second.Finish);
        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.OpenAiFakeText, second.Text);
        Assert.Empty(second.Calls);
        var sent = fixture.OpenAi.Single(result).Node()["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool"], sent.Select(m => (string?)m!["role"]));
        var toolCall = Assert.Single(sent[1]!["tool_calls"]!.AsArray())!;
        Assert.Equal(Recorded.OpenAiCallId, (string?)toolCall["id"]);
        Assert.Equal("function", (string?)toolCall["type"]);
        Assert.Equal(Recorded.WeatherTool, (string?)toolCall["function"]!["name"]);
        Json.Equal(Recorded.WeatherArguments, (string?)toolCall["function"]!["arguments"]);
        Assert.Equal(Recorded.OpenAiCallId, (string?)sent[2]!["tool_call_id"]);
        Assert.Equal(result, Json.ContentText(sent[2]!["content"]));
    }

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Anthropic_sdk_gets_parallel_tool_calls_from_an_openai_upstream_and_each_result_goes_back_as_a_tool_message(bool stream)
    {
        var prompt = $"Weather and local time in San Francisco? {Upstream.Marker()}";
        fixture.OpenAi.Enqueue(stream
            ? Behaviour.RawStream(Recorded.OpenAiParallelToolCallStream)
            : Behaviour.RawJson(Recorded.OpenAiParallelToolCalls));

        List<MessageParam> messages = [new UserMessageParam(prompt)];
        var first = await AnthropicSdkTurnAsync(messages, stream);

        Assert.Equal("tool_use", first.Finish);
        Assert.Equal([Recorded.OpenAiCallId, Recorded.OpenAiSecondCallId], first.Calls.Select(c => c.Id));
        Assert.Equal([Recorded.WeatherTool, Recorded.TimeTool], first.Calls.Select(c => c.Name));
        Json.Equal(Recorded.WeatherArguments, first.Calls[0].Arguments);
        Json.Equal(Recorded.TimeArguments, first.Calls[1].Arguments);

        var marker = Upstream.Marker();
        messages.Add(AnthropicAssistantTurn(first));
        messages.Add(new UserMessageParam(new List<ContentBlockParam>
        {
            new ToolResultBlockParam(first.Calls[0].Id) { Content = $"15 degrees {marker}" },
            new ToolResultBlockParam(first.Calls[1].Id) { Content = $"10:04 {marker}" },
        }));
        var second = await AnthropicSdkTurnAsync(messages, stream);

        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.OpenAiFakeText, second.Text);
        var sent = fixture.OpenAi.Single(marker).Node()["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool", "tool"], sent.Select(m => (string?)m!["role"]));
        Assert.Equal([Recorded.OpenAiCallId, Recorded.OpenAiSecondCallId],
            sent[1]!["tool_calls"]!.AsArray().Select(c => (string?)c!["id"]));
        Assert.Equal([Recorded.OpenAiCallId, Recorded.OpenAiSecondCallId], sent.Skip(2).Select(m => (string?)m!["tool_call_id"]));
        Assert.Equal([$"15 degrees {marker}", $"10:04 {marker}"], sent.Skip(2).Select(m => Json.ContentText(m!["content"])));
    }
}

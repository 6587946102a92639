using Microsoft.Extensions.Time.Testing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Upstreams.Simulated;
using static Router.Node.Tests.Upstreams.UpstreamTestKit;

namespace Router.Node.Tests.Upstreams;

public sealed class SimulatedUpstreamClientTests
{
    private static readonly SimulatedUpstreamOptions Instant = new() { Latency = TimeSpan.Zero, TokensPerSecond = 0, CompletionTokens = 8 };

    [Fact]
    public async Task Same_prompt_gets_the_same_answer_and_estimated_usage()
    {
        var a = await new SimulatedUpstreamClient(Instant, new FakeTimeProvider()).CompleteAsync(Call("tell me about cats"), CancellationToken.None);
        var b = await new SimulatedUpstreamClient(Instant, new FakeTimeProvider()).CompleteAsync(Call("tell me about cats"), CancellationToken.None);

        Assert.Equal("This is a simulated answer about tell me", a.Content);
        Assert.Equal(a.Content, b.Content);
        Assert.Equal(FinishReason.Stop, a.FinishReason);
        Assert.Equal("upstream-model-x", a.Model);
        // 18 chars -> ceil(18/4) + 4 = 9 prompt tokens; 8 completion tokens as configured.
        Assert.Equal(new TokenUsage(9, 8), a.Usage);
    }

    [Fact]
    public async Task Different_prompts_get_different_answers()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());

        var cats = await sim.CompleteAsync(Call("cats purr"), CancellationToken.None);
        var dogs = await sim.CompleteAsync(Call("dogs bark"), CancellationToken.None);

        Assert.NotEqual(cats.Content, dogs.Content);
        Assert.EndsWith(" cats purr", cats.Content);
    }

    [Fact]
    public void Prompt_tokens_are_a_quarter_of_the_characters_plus_four_per_message()
    {
        var tokens = SimulatedUpstreamClient.EstimatePromptTokens(
            [new ChatMessage(ChatRole.System, "abcde"), new ChatMessage(ChatRole.User, "abcd"), new ChatMessage(ChatRole.User, "")]);

        Assert.Equal((2 + 4) + (1 + 4) + (0 + 4), tokens);
    }

    [Fact]
    public async Task Max_tokens_below_the_configured_count_finishes_with_length()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());

        var completion = await sim.CompleteAsync(Call("hi", maxTokens: 3), CancellationToken.None);
        var events = await CollectAsync(sim.StreamAsync(Call("hi", maxTokens: 3), CancellationToken.None));

        Assert.Equal("This is a", completion.Content);
        Assert.Equal(FinishReason.Length, completion.FinishReason);
        Assert.Equal(3, completion.Usage.OutputTokens);
        Assert.Equal(3, events.OfType<ContentDelta>().Count());
        Assert.Equal(FinishReason.Length, Assert.IsType<StreamFinished>(events[^1]).Reason);
    }

    [Fact]
    public async Task Stream_yields_one_delta_per_token_then_finish_with_usage()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());

        var events = await CollectAsync(sim.StreamAsync(Call("tell me about cats"), CancellationToken.None));

        var deltas = events.OfType<ContentDelta>().Select(d => d.Text).ToList();
        Assert.Equal(8, deltas.Count);
        Assert.Equal("This is a simulated answer about tell me", string.Concat(deltas));
        var finished = Assert.IsType<StreamFinished>(events[^1]);
        Assert.Equal(new TokenUsage(9, 8), finished.Usage);
    }

    [Fact]
    public async Task Failure_rate_one_always_fails_with_a_server_error()
    {
        var sim = new SimulatedUpstreamClient(Instant with { FailureRate = 1.0 }, new FakeTimeProvider());

        for (var i = 0; i < 20; i++)
        {
            var ex = await Assert.ThrowsAsync<UpstreamException>(() => sim.CompleteAsync(Call(), CancellationToken.None));
            Assert.Equal(UpstreamFailureKind.ServerError, ex.Kind);
            Assert.Equal(500, ex.StatusCode);
        }
        var (deltas, streamed) = await StreamUntilFailureAsync(sim.StreamAsync(Call(), CancellationToken.None));
        Assert.Empty(deltas);
        Assert.Equal(UpstreamFailureKind.ServerError, streamed.Kind);
    }

    [Fact]
    public async Task Failure_rate_zero_never_fails()
    {
        var sim = new SimulatedUpstreamClient(Instant with { FailureRate = 0 }, new FakeTimeProvider());

        for (var i = 0; i < 50; i++) await sim.CompleteAsync(Call(), CancellationToken.None);
    }

    [Fact]
    public async Task Failures_repeat_for_the_same_seed()
    {
        async Task<string> Outcomes(int seed)
        {
            var sim = new SimulatedUpstreamClient(Instant with { FailureRate = 0.5, Seed = seed }, new FakeTimeProvider());
            var outcomes = "";
            for (var i = 0; i < 30; i++)
            {
                try
                {
                    await sim.CompleteAsync(Call(), CancellationToken.None);
                    outcomes += "+";
                }
                catch (UpstreamException)
                {
                    outcomes += "x";
                }
            }
            return outcomes;
        }

        var first = await Outcomes(7);
        Assert.Equal(first, await Outcomes(7));
        Assert.Contains("+", first);
        Assert.Contains("x", first);
    }

    [Fact]
    public async Task Stream_waits_for_the_latency_then_releases_one_token_per_interval()
    {
        var time = new FakeTimeProvider();
        var sim = new SimulatedUpstreamClient(new SimulatedUpstreamOptions
        {
            Latency = TimeSpan.FromMilliseconds(100), TokensPerSecond = 10, CompletionTokens = 3,
        }, time);
        await using var events = sim.StreamAsync(Call("x"), CancellationToken.None).GetAsyncEnumerator();

        var first = events.MoveNextAsync();
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first);
        Assert.Equal("This", Assert.IsType<ContentDelta>(events.Current).Text);

        var second = events.MoveNextAsync();
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await second);
        Assert.Equal(" is", Assert.IsType<ContentDelta>(events.Current).Text);

        var third = events.MoveNextAsync();
        Assert.False(third.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(await third);

        Assert.True(await events.MoveNextAsync());
        Assert.Equal(new TokenUsage(5, 3), Assert.IsType<StreamFinished>(events.Current).Usage);
        Assert.False(await events.MoveNextAsync());
    }

    [Fact]
    public async Task Complete_answers_after_latency_plus_generation_time()
    {
        var time = new FakeTimeProvider();
        var sim = new SimulatedUpstreamClient(new SimulatedUpstreamOptions
        {
            Latency = TimeSpan.FromMilliseconds(100), TokensPerSecond = 10, CompletionTokens = 3,
        }, time);

        var answer = sim.CompleteAsync(Call("x"), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(answer.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal("This is a", (await answer).Content);
    }

    [Fact]
    public async Task Cancellation_during_latency_propagates_as_cancellation()
    {
        var time = new FakeTimeProvider();
        var sim = new SimulatedUpstreamClient(Instant with { Latency = TimeSpan.FromSeconds(1) }, time);
        using var cts = new CancellationTokenSource();

        var answer = sim.CompleteAsync(Call(), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answer);
    }

    private static UpstreamCall ToolCall(ToolChoice? choice = null, params ChatMessage[] history) => new(new ChatRequest
    {
        Model = "m",
        Messages = history.Length > 0 ? history : [new ChatMessage(ChatRole.User, "Weather in Paris?")],
        Tools =
        [
            new ToolDefinition("get_time", null, """{"type":"object","properties":{}}"""),
            new ToolDefinition("get_weather", "Weather now", """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
        ],
        ToolChoice = choice,
    }, "upstream-model-x", null, "d");

    [Fact]
    public async Task Given_tools_it_calls_the_chosen_one_with_the_schemas_required_arguments()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());

        var answer = await sim.CompleteAsync(ToolCall(new ToolChoice(ToolChoiceMode.Named, "get_weather")), CancellationToken.None);

        var choice = Assert.Single(answer.Choices);
        Assert.Equal(FinishReason.ToolCalls, choice.FinishReason);
        var call = Assert.Single(choice.ToolCalls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"example"}""", call.ArgumentsJson);
        Assert.StartsWith("call_sim_", call.Id);
    }

    [Fact]
    public async Task Streams_the_tool_call_as_a_start_and_its_arguments()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());

        var events = new List<ChatStreamEvent>();
        await foreach (var e in sim.StreamAsync(ToolCall(), CancellationToken.None)) events.Add(e);

        var start = Assert.IsType<ToolCallStarted>(events[0]);
        Assert.Equal((0, "get_time"), (start.Index, start.Name));
        Assert.Equal(new ToolCallDelta(0, "{}"), events[1]);
        Assert.Equal(FinishReason.ToolCalls, Assert.IsType<StreamFinished>(events[2]).Reason);
    }

    [Fact]
    public async Task Answers_in_text_once_the_last_message_is_the_tools_result()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());
        var call = new ToolCall("call_1", "get_weather", """{"city":"Paris"}""");

        var answer = await sim.CompleteAsync(ToolCall(null,
            new ChatMessage(ChatRole.User, "Weather in Paris?"),
            new ChatMessage(ChatRole.Assistant, []) { ToolCalls = [call] },
            new ChatMessage(ChatRole.Tool, "18 C and sunny") { ToolCallId = "call_1" }), CancellationToken.None);

        Assert.Equal(FinishReason.Stop, answer.FinishReason);
        Assert.Empty(answer.Choices[0].ToolCalls);
        Assert.StartsWith("This is a simulated answer", answer.Content);
    }

    [Fact]
    public async Task Tool_choice_none_gets_text()
    {
        var answer = await new SimulatedUpstreamClient(Instant, new FakeTimeProvider()).CompleteAsync(ToolCall(ToolChoice.None), CancellationToken.None);

        Assert.Equal(FinishReason.Stop, answer.FinishReason);
        Assert.Empty(answer.Choices[0].ToolCalls);
    }

    [Fact]
    public async Task A_json_schema_format_gets_a_json_answer_of_that_shape()
    {
        var call = new UpstreamCall(new ChatRequest
        {
            Model = "m",
            Messages = [new ChatMessage(ChatRole.User, "Extract")],
            ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema)
            {
                Name = "person", SchemaJson = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}""",
            },
        }, "upstream-model-x", null, "d");

        var answer = await new SimulatedUpstreamClient(Instant, new FakeTimeProvider()).CompleteAsync(call, CancellationToken.None);

        Assert.Equal("""{"name":"example","age":1}""", answer.Content);
    }

    [Fact]
    public async Task Embeds_deterministically_as_unit_vectors_of_the_asked_dimensions()
    {
        var sim = new SimulatedUpstreamClient(Instant, new FakeTimeProvider());
        var call = new EmbeddingCall(new EmbeddingRequest { Model = "e", Inputs = ["hello", "world", "hello"], Dimensions = 40 }, "up-e", null, "d");

        var result = await sim.EmbedAsync(call, CancellationToken.None);

        var vectors = result.Vectors!;
        Assert.Equal(3, vectors.Count);
        Assert.All(vectors, v => Assert.Equal(40, v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 5));
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        // ceil(5/4) per input.
        Assert.Equal(6, result.PromptTokens);
    }

    [Fact]
    public void Refuses_fields_outside_the_canonical_model_naming_the_first()
    {
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, "x")], UnmappedFields = ["logprobs", "audio"] };

        var refusal = new SimulatedUpstreamClient(Instant, new FakeTimeProvider()).Refuses(request);

        Assert.Equal(Router.Contracts.Errors.RouterErrorCode.InvalidRequest, refusal?.Code);
        Assert.Equal("logprobs", refusal?.Param);
    }
}

using System.Buffers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.OpenAi;
using Router.Node.Wire.Responses;
using static Router.Node.Tests.Wire.Properties.Wires;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Property 4 of issue 11: canonical stream events written as a wire's SSE and read back by that wire's reader give
/// the same answer: the concatenated text, every tool call (id, name, whole arguments), visible reasoning where the
/// wire has it, the finish reason and the usage (less what the wire has no field for).
/// </summary>
public sealed class StreamRoundTripProperties
{
    private static readonly ChatRequest Plain = new() { Model = "m", Messages = [new ChatMessage(ChatRole.User, "hi")] };

    /// <summary>What a client assembles from a stream, whatever its chunking.</summary>
    private sealed record Answer(
        string Text, IReadOnlyList<(string Id, string Name, string Arguments)> Calls, IReadOnlyList<string> Reasoning,
        FinishReason Reason, TokenUsage? Usage, string? StopSequence)
    {
        public override string ToString() =>
            $"text={JsonSerializer.Serialize(Text)} calls=[{string.Join("; ", Calls)}] reasoning=[{string.Join("; ", Reasoning)}] " +
            $"finish={Reason} usage={Usage} stop={StopSequence}";
    }

    private static Answer Assemble(IEnumerable<ChatStreamEvent> events)
    {
        var text = new StringBuilder();
        var calls = new List<(string Id, string Name, StringBuilder Arguments)>();
        // Reasoning blocks: thinking text closed by its signature, or a redacted block. A block ends at its
        // signature (more thinking after it is a new block) and at any other kind of event.
        var reasoning = new List<(string? Redacted, StringBuilder Thinking, StringBuilder Signature)>();
        var open = false;
        StreamFinished? finish = null;
        foreach (var e in events)
        {
            if (e is not ReasoningDelta) open = false;
            switch (e)
            {
                case ContentDelta d:
                    text.Append(d.Text);
                    break;
                case ToolCallStarted s:
                    Assert.Equal(calls.Count, s.Index);
                    calls.Add((s.Id, s.Name, new StringBuilder()));
                    break;
                case ToolCallDelta d:
                    calls[d.Index].Arguments.Append(d.ArgumentsFragment);
                    break;
                case ReasoningDelta { RedactedData: { } data }:
                    reasoning.Add((data, new StringBuilder(), new StringBuilder()));
                    open = false;
                    break;
                case ReasoningDelta r when !string.IsNullOrEmpty(r.Text) || !string.IsNullOrEmpty(r.Signature):
                    if (!open || (reasoning[^1].Signature.Length > 0 && !string.IsNullOrEmpty(r.Text)))
                    {
                        reasoning.Add((null, new StringBuilder(), new StringBuilder()));
                        open = true;
                    }
                    reasoning[^1].Thinking.Append(r.Text);
                    reasoning[^1].Signature.Append(r.Signature);
                    break;
                case StreamFinished f:
                    Assert.Null(finish);
                    finish = f;
                    break;
            }
        }
        Assert.NotNull(finish);
        return new Answer(text.ToString(), calls.Select(c => (c.Id, c.Name, c.Arguments.ToString())).ToList(),
            reasoning.Select(b => b.Redacted is { } data ? "redacted " + data : $"{b.Thinking} (signed {b.Signature})").ToList(),
            finish.Reason, finish.Usage, finish.StopSequence);
    }

    private static void AssertSame(Answer expected, Answer actual, string sse)
    {
        var same = expected.Text == actual.Text && expected.Calls.SequenceEqual(actual.Calls) && expected.Reasoning.SequenceEqual(actual.Reasoning)
            && expected.Reason == actual.Reason && expected.Usage == actual.Usage && expected.StopSequence == actual.StopSequence;
        Assert.True(same, $"expected {expected}\nactual   {actual}\nsse:\n{sse}");
    }

    private static Arbitrary<Sample<List<ChatStreamEvent>>> Streams(bool reasoning) =>
        Samples.Of(CanonicalGen.Stream(reasoning), events => string.Join(", ", events));

    [Property]
    public Property OpenAi_chunks_carry_the_whole_answer() =>
        Prop.ForAll(Streams(reasoning: true), sample =>
        {
            var events = sample.Value;
            var output = new ArrayBufferWriter<byte>();
            var writer = new OpenAiChunkWriter("chatcmpl-1", 1_700_000_000, "gpt-4o", includeUsage: true);
            foreach (var e in events) writer.Write(e, output);
            writer.WriteDone(output);

            var reader = new OpenAiChunkReader();
            var read = new List<ChatStreamEvent>();
            var sse = Sse(output.WrittenSpan);
            Assert.Equal("[DONE]", sse[^1].Data);
            foreach (var e in sse.SkipLast(1))
            {
                Assert.Null(e.Name);
                reader.Read(Element(e.Data), read);
            }
            read.Add(reader.Finish());

            Assert.Equal(new StreamStarted("chatcmpl-1"), read[0]);
            // Chat Completions has no reasoning field nor stop sequence; its usage no cache writes.
            var expected = Assemble(events.Where(e => e is not ReasoningDelta)) is var a
                ? a with { StopSequence = null, Usage = a.Usage is { } u ? u with { CacheWriteInputTokens = 0 } : null }
                : null;
            AssertSame(expected!, Assemble(read), Encoding.UTF8.GetString(output.WrittenSpan));
        });

    [Property]
    public Property Anthropic_events_carry_the_whole_answer() =>
        Prop.ForAll(Streams(reasoning: true), sample =>
        {
            const int promptTokens = 11;
            var events = sample.Value;
            var output = new ArrayBufferWriter<byte>();
            var writer = new AnthropicEventWriter("msg_1", "claude", promptTokens);
            foreach (var e in events) writer.Write(e, output);

            var reader = new AnthropicEventReader(Plain);
            var read = new List<ChatStreamEvent>();
            var sse = Sse(output.WrittenSpan);
            foreach (var e in sse)
            {
                Assert.NotNull(e.Name);
                var data = Element(e.Data);
                // The event name and the data's type always agree, as Anthropic sends them.
                Assert.Equal(e.Name, data.GetProperty("type").GetString());
                reader.Read(e.Name, data, read);
            }
            Assert.True(reader.Stopped);
            read.Add(reader.Finish());

            Assert.Equal(new StreamStarted("msg_1"), read[0]);
            // Anthropic has no reasoning-token count; a stream without usage reports the prompt count Router gave.
            var a = Assemble(events);
            var expected = a with { Usage = (a.Usage ?? new TokenUsage(promptTokens, 0)) with { ReasoningTokens = 0 } };
            AssertSame(expected, Assemble(read), Encoding.UTF8.GetString(output.WrittenSpan));
        });

    [Property]
    public Property Responses_events_carry_the_whole_answer() =>
        Prop.ForAll(Streams(reasoning: true), sample =>
        {
            var events = sample.Value;
            var output = new ArrayBufferWriter<byte>();
            var writer = new ResponsesEventWriter("resp_1", 1_700_000_000, "gpt-4o", Plain);
            foreach (var e in events) writer.Write(e, output);

            var reader = new ResponsesEventReader();
            var read = new List<ChatStreamEvent>();
            var sequence = 0;
            foreach (var e in Sse(output.WrittenSpan))
            {
                var data = Element(e.Data);
                Assert.Equal(e.Name, data.GetProperty("type").GetString());
                Assert.Equal(sequence++, data.GetProperty("sequence_number").GetInt32());
                reader.Read(e.Name!, data, read);
            }
            Assert.True(reader.Completed);
            read.Add(reader.Finish());

            Assert.Equal(new StreamStarted("resp_1"), read[0]);
            // Responses streams no visible reasoning, and has a status rather than a finish reason.
            var a = Assemble(events.Where(e => e is not ReasoningDelta));
            var expected = a with { StopSequence = null, Reason = Expressible.ResponsesFinish(a.Reason, a.Calls.Count > 0) };
            AssertSame(expected, Assemble(read), Encoding.UTF8.GetString(output.WrittenSpan));
        });

    [Property]
    public Property OpenAi_interleaved_tool_call_fragments_reassemble_by_index() =>
        Prop.ForAll(Samples.Of(
            from n in Gen.Choose(1, 4)
            from args in Gen.ArrayOf(CanonicalGen.AnyArguments, n)
            from order in Gen.Shuffle(Enumerable.Range(0, n).SelectMany(i => Enumerable.Repeat(i, args[i].Length)))
            select (Args: args, Order: order),
            x => string.Join(" | ", x.Args)), sample =>
        {
            // OpenAI may interleave parallel calls' fragments (one character at a time here); indexes sort them out.
            var (args, order) = sample.Value;
            var events = new List<ChatStreamEvent>();
            for (var i = 0; i < args.Length; i++) events.Add(new ToolCallStarted(i, $"call_{i}", $"f{i}"));
            var taken = new int[args.Length];
            foreach (var i in order)
            {
                // A surrogate pair travels whole (so a call may run out of characters before its turns do).
                if (taken[i] >= args[i].Length) continue;
                var length = char.IsHighSurrogate(args[i][taken[i]]) ? 2 : 1;
                events.Add(new ToolCallDelta(i, args[i].Substring(taken[i], length)));
                taken[i] += length;
            }
            events.Add(new StreamFinished(FinishReason.ToolCalls, null));

            var output = new ArrayBufferWriter<byte>();
            var writer = new OpenAiChunkWriter("c", 0, "m", includeUsage: false);
            foreach (var e in events) writer.Write(e, output);
            var reader = new OpenAiChunkReader();
            var read = new List<ChatStreamEvent>();
            foreach (var e in Sse(output.WrittenSpan)) reader.Read(Element(e.Data), read);
            read.Add(reader.Finish());

            var calls = Assemble(read).Calls;
            Assert.Equal(args.Select((a, i) => ($"call_{i}", $"f{i}", a)), calls);
        });
}

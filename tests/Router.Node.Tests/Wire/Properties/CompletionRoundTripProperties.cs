using System.Text;
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
/// Property 3 of issue 11: a canonical answer written as a wire's JSON answer and read back keeps its text, tool calls
/// (ids, names, arguments), refusal, finish reason and usage (cached and reasoning tokens), id and model, less what
/// the wire has no field for (<see cref="Expressible"/>).
/// </summary>
public sealed class CompletionRoundTripProperties
{
    private static readonly ChatRequest Plain = new() { Model = "m", Messages = [new ChatMessage(ChatRole.User, "hi")] };

    private static string Show(ChatCompletion c)
    {
        var sb = new StringBuilder($"{{Id={c.Id}, Model={c.Model}, Usage={c.Usage}, Fingerprint={c.SystemFingerprint}, Choices=[");
        foreach (var choice in c.Choices)
        {
            sb.Append($"#{choice.Index} {choice.FinishReason} stop={choice.StopSequence} refusal={choice.Refusal} (");
            sb.Append(string.Join(", ", choice.Parts.Select(CanonicalDiff.ShowPart)));
            foreach (var call in choice.ToolCalls) sb.Append($" call {call.Id} {call.Name} {call.ArgumentsJson}");
            sb.Append(") ");
        }
        return sb.Append("]}").ToString();
    }

    private static Arbitrary<Sample<ChatCompletion>> Completions(int maxChoices, bool anyArguments) =>
        Samples.Of(CanonicalGen.Completion(maxChoices, anyArguments), Show);

    private static void AssertSame(ChatCompletion expected, ChatCompletion actual, string json)
    {
        if (CanonicalDiff.Completion(expected, actual) is { } diff) Assert.Fail($"{diff}\nwire: {json}");
    }

    [Property]
    public Property OpenAi_chat_completion_keeps_every_choice() =>
        Prop.ForAll(Completions(maxChoices: 3, anyArguments: true), sample =>
        {
            var c = sample.Value;
            var json = Write(w => OpenAiChatWire.WriteCompletion(w, c.Id, 1_700_000_000, c.Model, c));

            var back = OpenAiChatWire.ParseCompletion(Element(json));

            AssertSame(Expressible.ThroughOpenAi(c), back, json);
        });

    [Property]
    public Property Anthropic_message_keeps_the_answer() =>
        Prop.ForAll(Completions(maxChoices: 1, anyArguments: false), sample =>
        {
            var c = sample.Value;
            var json = Write(w => AnthropicWire.WriteMessage(w, c.Id, c.Model, c));

            var back = AnthropicWire.ParseMessage(Element(json), Plain);

            AssertSame(Expressible.ThroughAnthropic(c), back, json);
        });

    [Property]
    public Property Responses_object_keeps_the_answer() =>
        Prop.ForAll(Completions(maxChoices: 1, anyArguments: true), sample =>
        {
            var c = sample.Value;
            var json = Write(w => ResponsesWire.WriteResponse(w, "resp_" + c.Id, 1_700_000_000, c.Model, c, Plain));

            var back = ResponsesWire.ParseResponse(Element(json));

            AssertSame(Expressible.ThroughResponses(c) with { Id = "resp_" + c.Id }, back, json);
        });

    [Property]
    public Property A_json_response_format_comes_back_from_anthropic_as_the_answer_text() =>
        Prop.ForAll(Samples.Of(
            from name in Gen.Elements<string?>(null, "answer", "Weather_Report-2")
            from schema in Gen.Elements<string?>(null, """{"type":"object","properties":{"a":{"type":"string"}}}""")
            from json in CanonicalGen.ObjectArguments.Where(a => a.Length > 0)
            from kind in Gen.Elements(ResponseFormatKind.JsonObject, ResponseFormatKind.JsonSchema)
            select (Format: new ResponseFormat(kind) { Name = kind == ResponseFormatKind.JsonSchema ? name : null, SchemaJson = kind == ResponseFormatKind.JsonSchema ? schema : null }, Json: json),
            x => $"{x.Format} {x.Json}"), sample =>
        {
            // Anthropic has no response format: Router forces a tool whose input schema is the schema, and reads that
            // tool's input back as the answer's text (AnthropicWire.WriteRequest, ParseMessage).
            var (format, answer) = sample.Value;
            var request = Plain with { ResponseFormat = format };
            Assert.Null(AnthropicWire.Unsupported(request));
            var upstream = Element(AnthropicRequest(request));
            var tool = upstream.GetProperty("tools")[0];
            var forced = upstream.GetProperty("tool_choice");
            Assert.Equal("tool", forced.GetProperty("type").GetString());
            Assert.Equal(tool.GetProperty("name").GetString(), forced.GetProperty("name").GetString());
            if (format.SchemaJson is { } schema) Assert.True(CanonicalDiff.SameJson(schema, tool.GetProperty("input_schema").GetRawText()));

            var message = $$$"""
                {"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[
                  {"type":"tool_use","id":"toolu_1","name":{{{System.Text.Json.JsonSerializer.Serialize(tool.GetProperty("name").GetString())}}},"input":{{{answer}}}}],
                 "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}
                """;
            var back = AnthropicWire.ParseMessage(Element(message), request);

            Assert.Empty(back.Choices[0].ToolCalls);
            Assert.Equal(FinishReason.Stop, back.FinishReason);
            Assert.True(CanonicalDiff.SameJson(answer, back.Content), $"{back.Content} is not {answer}");
        });
}

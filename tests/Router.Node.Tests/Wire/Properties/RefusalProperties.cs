using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.OpenAi;
using static Router.Node.Tests.Wire.Properties.Wires;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// What a wire cannot express is refused with a 400 naming the field: one inexpressible thing injected into a request
/// the wire otherwise expresses is refused with exactly that field's <c>param</c>; and the <c>param</c> of any refusal
/// of a request that came as JSON points at a field that exists in that client's own body.
/// </summary>
public sealed class RefusalProperties
{
    /// <summary>One thing a wire cannot say, put into a request, with the <c>param</c> that must name it (OpenAI notation).</summary>
    public sealed record Injection(string What, ChatRequest Request, string Param)
    {
        public override string ToString() => $"{What} → {Param}\n{CanonicalDiff.Show(Request)}";
    }

    private static readonly ImagePart Png = new() { MediaType = "image/png", Base64Data = "iVBORw0KGgo=" };

    /// <summary>Puts <paramref name="part"/> into a message of <paramref name="role"/> (adding one at the end if there is none).</summary>
    private static Gen<(ChatRequest Request, int Message, int Part)> WithPart(ChatRequest r, ChatRole role, ContentPart part)
    {
        var candidates = Enumerable.Range(0, r.Messages.Count).Where(i => r.Messages[i].Role == role).ToArray();
        if (candidates.Length == 0)
        {
            var added = r with { Messages = [.. r.Messages, new ChatMessage(role, [part]) { ToolCallId = role == ChatRole.Tool ? "orphan" : null }] };
            return Gen.Constant((added, r.Messages.Count, 0));
        }
        return
            from i in Gen.Elements(candidates)
            from j in Gen.Choose(0, r.Messages[i].Parts.Count)
            select (Replace(r, i, r.Messages[i] with { Parts = [.. r.Messages[i].Parts.Take(j), part, .. r.Messages[i].Parts.Skip(j)] }), i, j);
    }

    private static ChatRequest Replace(ChatRequest r, int index, ChatMessage m) =>
        r with { Messages = r.Messages.Select((x, i) => i == index ? m : x).ToList() };

    private static Gen<int> AnyMessage(ChatRequest r) => Gen.Choose(0, r.Messages.Count - 1);

    private static readonly Func<ChatRequest, Gen<Injection>>[] OpenAiInjections =
    [
        r => Gen.Choose(0, 500).Select(k => new Injection("top_k", r with { TopK = k }, "top_k")),
        r => Gen.Choose(5, 8).Select(n => new Injection("5+ stops", r with { Stop = Enumerable.Range(0, n).Select(i => $"s{i}").ToList() }, "stop")),
        r => Gen.Elements("bad name", "", "ünï", new string('x', 65), "a.b").SelectMany(name =>
            Gen.Choose(0, r.Tools.Count).Select(i =>
            {
                var tools = r.Tools.ToList();
                tools.Insert(i, new ToolDefinition(name, null, """{"type":"object"}"""));
                // A named choice must still name a declared tool; the bad one is not chosen.
                return new Injection("tool name", r with { Tools = tools }, $"tools[{i}].function.name");
            })),
        r => Gen.Elements(ChatRole.Assistant, ChatRole.System, ChatRole.Tool).SelectMany(role => WithPart(r, role, Png)
            .Select(x => new Injection($"image in {role}", x.Request, $"messages[{x.Message}].content[{x.Part}]"))),
        r => WithPart(r, ChatRole.User, new ImagePart { MediaType = "image/png" })
            .Select(x => new Injection("image without URL or data", x.Request, $"messages[{x.Message}].content[{x.Part}]")),
        r => AnyMessage(r).Select(i => new Injection("tool result without call id",
            r with { Messages = [.. r.Messages.Take(i), new ChatMessage(ChatRole.Tool, "result"), .. r.Messages.Skip(i)] }, $"messages[{i}].tool_call_id")),
        r => Gen.Elements("logprobs", "messages[0].content[1]", "tools[2]").Select(f =>
            new Injection("unmapped field", r with { UnmappedFields = [f, "audio"], Source = WireFormat.OpenAiResponses }, f)),
    ];

    private static readonly Func<ChatRequest, Gen<Injection>>[] AnthropicInjections =
    [
        r => Gen.Choose(2, 128).Select(n => new Injection("n", r with { N = n }, "n")),
        r => Gen.Elements(0L, 42L, -1L).Select(s => new Injection("seed", r with { Seed = s }, "seed")),
        r => Gen.Elements(-2.0, 0.5, 2.0).Select(p => new Injection("presence", r with { PresencePenalty = p }, "presence_penalty")),
        r => Gen.Elements(-2.0, 1e-9, 2.0).Select(p => new Injection("frequency", r with { FrequencyPenalty = p }, "frequency_penalty")),
        r => Gen.Elements(1.0000001, 1.5, 2.0).Select(t => new Injection("temperature > 1", r with { Temperature = t }, "temperature")),
        r => Gen.Elements("", " ", "\n\t").SelectMany(s => Gen.Choose(0, r.Stop?.Count ?? 0).Select(i =>
            new Injection("blank stop", r with { Stop = [.. (r.Stop ?? []).Take(i), s, .. (r.Stop ?? []).Skip(i)] }, "stop"))),
        r => AnyMessage(r).SelectMany(i => Gen.Elements("alice", "").Select(name =>
            new Injection("participant name", Replace(r, i, r.Messages[i] with { Name = name }), $"messages[{i}].name"))),
        r => Gen.Elements(ChatRole.Assistant, ChatRole.System).SelectMany(role => WithPart(r, role, Png))
            .Select(x => new Injection("image outside user turns", x.Request, $"messages[{x.Message}].content[{x.Part}]")),
        r => WithPart(r, ChatRole.User, new ImagePart { MediaType = "image/bmp", Base64Data = "Qk0=" })
            .Select(x => new Injection("image type", x.Request, $"messages[{x.Message}].content[{x.Part}].image_url.url")),
        r => WithPart(r, ChatRole.User, new ImagePart { Url = "ftp://example.com/a.png" })
            .Select(x => new Injection("image URL scheme", x.Request, $"messages[{x.Message}].content[{x.Part}].image_url.url")),
        r => Gen.Elements(ChatRole.User, ChatRole.System, ChatRole.Tool).SelectMany(role => WithPart(r, role, new ReasoningPart { Text = "t", Signature = "s" }))
            .Select(x => new Injection("reasoning outside assistant turns", x.Request, $"messages[{x.Message}].content[{x.Part}]")),
        r => Gen.Elements("xhigh", "extreme").Select(e =>
            new Injection("reasoning effort", r with { Reasoning = new ReasoningSettings { Effort = e } }, "reasoning_effort")),
        r => Gen.Elements(0.0, 0.5).Select(t => new Injection("thinking with temperature",
            r with { Reasoning = new ReasoningSettings { Enabled = true, BudgetTokens = 2048 }, Temperature = t }, "temperature")),
        r => Gen.Elements(1, 40).Select(k => new Injection("thinking with top_k",
            r with { Reasoning = new ReasoningSettings { Effort = "high" }, Temperature = null, TopK = k }, "top_k")),
        r => Gen.Constant(new Injection("thinking with a forced tool",
            r with { Reasoning = new ReasoningSettings { Effort = "low" }, Temperature = null, TopK = null, ToolChoice = ToolChoice.Required }, "tool_choice")),
        r => Gen.Elements("not json", "[1,2]", "42", "{\"unterminated\": ").SelectMany(args =>
        {
            var assistants = Enumerable.Range(0, r.Messages.Count).Where(i => r.Messages[i].Role == ChatRole.Assistant).ToArray();
            if (assistants.Length == 0)
            {
                var added = r with { Messages = [.. r.Messages, new ChatMessage(ChatRole.Assistant, []) { ToolCalls = [new ToolCall("c", "f", args)] }] };
                return Gen.Constant(new Injection("arguments not an object", added, $"messages[{r.Messages.Count}].tool_calls[0].function.arguments"));
            }
            return from i in Gen.Elements(assistants)
                   from j in Gen.Choose(0, r.Messages[i].ToolCalls.Count)
                   let calls = r.Messages[i].ToolCalls
                   select new Injection("arguments not an object",
                       Replace(r, i, r.Messages[i] with { ToolCalls = [.. calls.Take(j), new ToolCall($"bad_{j}", "f", args), .. calls.Skip(j)] }),
                       $"messages[{i}].tool_calls[{j}].function.arguments");
        }),
        r => Gen.Constant(new Injection("tool choice names no tool",
            r with { ToolChoice = new ToolChoice(ToolChoiceMode.Named, "undeclared"), Reasoning = null }, "tool_choice")),
        r => Gen.Elements(ResponseFormat.JsonObject, new ResponseFormat(ResponseFormatKind.JsonSchema) { Name = "x", SchemaJson = "{}" }).Select(f =>
            new Injection("JSON format beside tools",
                r with { ResponseFormat = f, Reasoning = null, Tools = [.. r.Tools, new ToolDefinition("t", null, "{}")] }, "response_format")),
        r => Gen.Elements("[]", "42", "not json").SelectMany(schema => Gen.Choose(0, r.Tools.Count).Select(i =>
            new Injection("schema not an object",
                r with { Tools = [.. r.Tools.Take(i), new ToolDefinition("t", null, schema), .. r.Tools.Skip(i)] }, $"tools[{i}].function.parameters"))),
        r => AnyMessage(r).Select(i => new Injection("result answering no call",
            r with { Messages = [.. r.Messages.Take(i), new ChatMessage(ChatRole.Tool, "x") { ToolCallId = "nobody" }, .. r.Messages.Skip(i)] },
            $"messages[{i}].tool_call_id")),
        r => Gen.Elements("logprobs", "messages[0].content[1]", "tools[2]").Select(f =>
            new Injection("unmapped field", r with { UnmappedFields = [f, "audio"], Source = WireFormat.OpenAiChat }, f)),
    ];

    private static Arbitrary<Injection> Injections(WireProfile profile, Func<ChatRequest, Gen<Injection>>[] injections) =>
        Arb.From(
            from r in CanonicalGen.Request(profile)
            from inject in Gen.Elements(injections)
            from injection in inject(r)
            select injection);

    private static void AssertRefused(RouterException? refusal, Injection injection)
    {
        Assert.True(refusal is not null, $"not refused: {injection}");
        Assert.Equal(RouterErrorCode.InvalidRequest, refusal.Code);
        Assert.True(refusal.Param == injection.Param, $"param {refusal.Param} ({refusal.Message}) instead of {injection}");
    }

    [Property]
    public Property OpenAi_chat_refuses_what_it_cannot_express_naming_the_field() =>
        Prop.ForAll(Injections(WireProfile.OpenAi, OpenAiInjections), i => AssertRefused(OpenAiChatWire.Unsupported(i.Request), i));

    [Property]
    public Property Anthropic_refuses_what_it_cannot_express_naming_the_field() =>
        Prop.ForAll(Injections(WireProfile.Anthropic, AnthropicInjections), i => AssertRefused(AnthropicWire.Unsupported(i.Request), i));

    [Property]
    public Property Refusals_of_openai_clients_name_a_field_of_their_body() =>
        Prop.ForAll(Samples.Requests(WireProfile.OpenAi), sample =>
        {
            // The client's body is what the OpenAI wire writes; the ingress reads it back with Source = OpenAiChat.
            var body = OpenAiRequest(sample.Value);
            var request = Parse(body, OpenAiChatWire.ParseRequest);
            if (AnthropicWire.Unsupported(request) is { } refusal) AssertNamesAField(body, refusal);
        });

    [Property]
    public Property Refusals_of_anthropic_clients_name_a_field_of_their_body() =>
        Prop.ForAll(Samples.Requests(WireProfile.Anthropic), sample =>
        {
            var body = AnthropicRequest(sample.Value);
            var request = Parse(body, AnthropicWire.ParseRequest);
            if (OpenAiChatWire.Unsupported(request) is { } refusal) AssertNamesAField(body, refusal);
        });

    private static void AssertNamesAField(string body, RouterException refusal)
    {
        Assert.Equal(RouterErrorCode.InvalidRequest, refusal.Code);
        Assert.NotNull(refusal.Param);
        var node = Resolve(Element(body), refusal.Param);
        Assert.True(node is not null, $"'{refusal.Param}' ({refusal.Message}) is not in the client's body: {body}");
        // An image refusal must point at the image, not at a neighbour.
        if (refusal.Message.Contains("image", StringComparison.OrdinalIgnoreCase) && node.Value.ValueKind == JsonValueKind.Object
            && node.Value.TryGetProperty("type", out var type))
            Assert.True(type.GetString() is "image" or "image_url", $"'{refusal.Param}' points at a {type} block: {body}");
    }

    [Fact]
    public void A_nan_sampling_value_is_refused_by_both_wires_instead_of_failing_the_writer()
    {
        // gRPC range checks (`is < 0 or > 2`) let NaN through; JSON cannot hold it.
        var request = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, "hi")], Temperature = double.NaN };

        Assert.Equal("temperature", OpenAiChatWire.Unsupported(request)?.Param);
        Assert.Equal("temperature", AnthropicWire.Unsupported(request)?.Param);
        Assert.Equal("top_p", AnthropicWire.Unsupported(request with { Temperature = null, TopP = double.NaN })?.Param);
    }

    [Fact]
    public void An_image_in_a_tool_result_after_two_user_turns_is_named_in_its_own_anthropic_message()
    {
        var body = """
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"a"},{"role":"user","content":"b"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[
                {"type":"text","text":"chart"},{"type":"image","source":{"type":"url","url":"https://x.test/c.png"}}]}]}]}
            """;

        var refusal = OpenAiChatWire.Unsupported(Parse(body, AnthropicWire.ParseRequest));

        Assert.Equal("messages.3.content.0.content.1", refusal?.Param);
    }

    /// <summary>Follows a <c>param</c> in either notation (<c>messages[2].content[0].image_url.url</c>, <c>messages.2.content.0</c>).</summary>
    public static JsonElement? Resolve(JsonElement root, string path)
    {
        var node = root;
        foreach (var token in path.Replace("[", ".").Replace("]", "").Split('.'))
        {
            if (int.TryParse(token, out var index))
            {
                if (node.ValueKind != JsonValueKind.Array || index >= node.GetArrayLength()) return null;
                node = node[index];
            }
            else if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(token, out node))
            {
                return null;
            }
        }
        return node;
    }
}

using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.Completions;
using Router.Node.Wire.OpenAi;
using Router.Node.Wire.Responses;
using static Router.Node.Tests.Wire.Properties.Wires;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Property 5 of issue 11: whatever JSON a client sends, an ingress's parser answers with a request or a 400
/// (<see cref="RouterException"/>), never another exception (which would be a 500); and whatever it accepts, a
/// translation to another wire refuses with a 400 or writes a body that wire's own parser accepts.
/// </summary>
public sealed class RobustnessProperties
{
    private static readonly (string Name, Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> Parse)[] Parsers =
    [
        ("openai", OpenAiChatWire.ParseRequest),
        ("anthropic", AnthropicWire.ParseRequest),
        ("responses", ResponsesWire.ParseRequest),
        ("completions", CompletionsWire.ParseRequest),
    ];

    private static readonly string[] HandWritten =
    [
        """{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"https://x.test/a.png","detail":"low"}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"}],"instructions":"be brief","tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"},"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},"reasoning":{"effort":"low"},"max_output_tokens":100,"temperature":0.5}""",
        """{"model":"m","input":"hi","instructions":"be brief","tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}],"tool_choice":"auto","parallel_tool_calls":false,"reasoning":{"effort":"medium"},"max_output_tokens":2048,"stream":true,"user":"u"}""",
        """{"model":"m","input":[{"role":"user","content":"q"},{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},{"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"r"}]},{"role":"assistant","content":[{"type":"output_text","text":"a"}]}],"text":{"format":{"type":"json_object"}},"temperature":1}""",
        """{"model":"m","prompt":["hi"],"max_tokens":5,"temperature":0.2,"top_p":0.9,"stop":"END","user":"u"}""",
        """{"model":"m","prompt":"Say this is a test","max_tokens":7,"temperature":0,"n":2,"stop":["\n"],"seed":1,"stream":true,"stream_options":{"include_usage":true},"user":"u"}""",
        """{"model":"m","max_tokens":1024,"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"r"}],"is_error":true}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":2048},"stop_sequences":["x"],"top_k":5,"metadata":{"user_id":"u"}}""",
    ];

    /// <summary>Bodies near the valid ones (every wire's, mutated) and request-like objects of anything.</summary>
    private static readonly Gen<string> Bodies = Gen.Frequency(
        (2, JsonGen.RequestLike),
        (1, JsonGen.Value(3)),
        (2, CanonicalGen.Request(WireProfile.OpenAi).Select(OpenAiRequest).SelectMany(JsonGen.Mutate)),
        (2, CanonicalGen.Request(WireProfile.Anthropic).Select(AnthropicRequest).SelectMany(JsonGen.Mutate)),
        (2, CanonicalGen.Request(WireProfile.Both).Select(OpenAiRequest).SelectMany(JsonGen.Mutate)),
        (2, Gen.Elements(HandWritten).SelectMany(JsonGen.Mutate)));

    private static Arbitrary<Sample<string>> Samples_ => Samples.Of(Bodies, b => b);

    /// <summary>Runs <paramref name="parse"/> as an ingress does; null when it answered with a 400.</summary>
    private static ChatRequest? ParseOrRefuse(string body, Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> parse, string wire)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var doc = JsonDocument.Parse(bytes);
        try
        {
            // Through the ingresses' own guard, as a request body is parsed in production.
            return Router.Node.Ingress.HttpIngress.ParseBody(doc.RootElement, bytes, parse);
        }
        catch (RouterException ex)
        {
            Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
            return null;
        }
        catch (Exception ex)
        {
            Assert.Fail($"{wire} parser threw {ex.GetType().Name} ({ex.Message}) instead of a 400 for {body}");
            return null;
        }
    }

    [Property(MaxTest = 300)]
    public Property Parsers_answer_any_json_with_a_request_or_a_400() =>
        Prop.ForAll(Samples_, sample =>
        {
            foreach (var (name, parse) in Parsers) ParseOrRefuse(sample.Value, parse, name);
        });

    [Property]
    public Property A_lone_surrogate_escape_in_any_string_is_a_400() =>
        Prop.ForAll(Samples.Of(
            from seed in Gen.OneOf(
                CanonicalGen.Request(WireProfile.OpenAi).Select(OpenAiRequest),
                CanonicalGen.Request(WireProfile.Anthropic).Select(AnthropicRequest),
                Gen.Elements(HandWritten))
            from literal in Gen.Elements("\"\\ud800\"", "\"a\\udc00b\"", "\"\\ud83d\\u0041\"")
            from body in JsonGen.ReplaceString(seed, literal)
            select body, b => b), sample =>
        {
            // JsonDocument.Parse accepts "\ud800"; only JsonElement.GetString finds it is not text, with an
            // InvalidOperationException that the ingresses' guard must turn into a 400.
            foreach (var (name, parse) in Parsers) ParseOrRefuse(sample.Value, parse, name);
        });

    [Property(MaxTest = 300)]
    public Property Whatever_a_parser_accepts_translates_to_a_body_the_other_wire_accepts() =>
        Prop.ForAll(Samples_, sample =>
        {
            foreach (var (name, parse) in Parsers)
            {
                if (ParseOrRefuse(sample.Value, parse, name) is not { } request) continue;
                // OpenAI's own wires pass through to an OpenAI upstream; only the others are translated for it.
                if (request.Source is not (WireFormat.OpenAiChat or WireFormat.OpenAiResponses or WireFormat.OpenAiCompletions))
                    Translate(request, "openai", WireRefusals.Unmapped(request, "OpenAI") ?? OpenAiChatWire.Unsupported(request),
                        OpenAiRequest, OpenAiChatWire.ParseRequest, sample.Value);
                if (request.Source != WireFormat.AnthropicMessages)
                    Translate(request, "anthropic", WireRefusals.Unmapped(request, "Anthropic") ?? AnthropicWire.Unsupported(request),
                        AnthropicRequest, AnthropicWire.ParseRequest, sample.Value);
            }
        });

    private static void Translate(
        ChatRequest request, string target, RouterException? refusal, Func<ChatRequest, string> write,
        Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> parse, string body)
    {
        if (refusal is not null)
        {
            Assert.Equal(RouterErrorCode.InvalidRequest, refusal.Code);
            Assert.False(string.IsNullOrEmpty(refusal.Param), $"a refusal without param: {refusal.Message}");
            return;
        }
        string upstream;
        try
        {
            upstream = write(request);
        }
        catch (RouterException)
        {
            return;
        }
        catch (Exception ex)
        {
            Assert.Fail($"writing for {target} threw {ex.GetType().Name} ({ex.Message}) for {CanonicalDiff.Show(request)} from {body}");
            return;
        }
        try
        {
            Parse(upstream, parse);
        }
        catch (Exception ex)
        {
            Assert.Fail($"{target} would refuse what Router wrote ({ex.GetType().Name}: {ex.Message}): {upstream}\nfrom {body}");
        }
    }

    [Property]
    public Property Translators_throw_only_400s_on_any_canonical_request() =>
        Prop.ForAll(Samples.Of(WildGen.Request, CanonicalDiff.Show), sample =>
        {
            var r = sample.Value;
            foreach (var (target, refusal, write) in new (string, Func<RouterException?>, Func<ChatRequest, string>)[]
                     {
                         ("openai", () => OpenAiChatWire.Unsupported(r), OpenAiRequest),
                         ("anthropic", () => AnthropicWire.Unsupported(r), AnthropicRequest),
                     })
            {
                try
                {
                    if (refusal() is not null) continue;
                    var json = write(r);
                    using var _ = JsonDocument.Parse(json);
                }
                catch (RouterException ex)
                {
                    Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
                }
                catch (Exception ex)
                {
                    Assert.Fail($"{target} threw {ex.GetType().Name}: {ex.Message}");
                }
            }
        });
}

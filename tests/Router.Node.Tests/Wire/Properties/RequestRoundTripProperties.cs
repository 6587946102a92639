using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.OpenAi;
using static Router.Node.Tests.Wire.Properties.Wires;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Property 1 and 2 of issue 11: a canonical request that a wire can express comes back from that wire's JSON with
/// every field it had (less the documented drops of <see cref="Expressible"/>), and the same across both wires.
/// </summary>
public sealed class RequestRoundTripProperties
{
    private static void AssertSame(ChatRequest expected, ChatRequest actual, ChatRequest original, params string[] wire)
    {
        if (CanonicalDiff.Request(expected, actual) is not { } diff) return;
        Assert.Fail($"{diff}\nrequest: {CanonicalDiff.Show(original)}\n{string.Join("\n", wire)}");
    }

    [Property]
    public Property OpenAi_chat_keeps_every_field_it_expresses() =>
        Prop.ForAll(Samples.Requests(WireProfile.OpenAi), sample =>
        {
            var r = sample.Value;
            Assert.Null(OpenAiChatWire.Unsupported(r));

            var back = ViaOpenAi(r, out var json);

            AssertSame(Expressible.ThroughOpenAi(r, r.Stream), back, r, "openai: " + json);
        });

    [Property]
    public Property Anthropic_keeps_every_field_it_expresses() =>
        Prop.ForAll(Samples.Requests(WireProfile.Anthropic), sample =>
        {
            var r = sample.Value;
            Assert.Null(AnthropicWire.Unsupported(r));

            var back = ViaAnthropic(r, out var json);

            AssertSame(Expressible.ThroughAnthropic(r, r.Stream, DefaultMaxTokens), back, r, "anthropic: " + json);
        });

    [Property]
    public Property OpenAi_then_anthropic_keeps_what_both_express() =>
        Prop.ForAll(Samples.Requests(WireProfile.Both), sample =>
        {
            var r = sample.Value;
            Assert.Null(OpenAiChatWire.Unsupported(r));
            var viaOpenAi = ViaOpenAi(r, out var openAiJson);
            // What came from an OpenAI client must still be something Anthropic can take.
            Assert.Null(AnthropicWire.Unsupported(viaOpenAi));

            var back = ViaAnthropic(viaOpenAi, out var anthropicJson);

            var expected = Expressible.ThroughAnthropic(Expressible.ThroughOpenAi(r, r.Stream), r.Stream, DefaultMaxTokens);
            AssertSame(expected, back, r, "openai: " + openAiJson, "anthropic: " + anthropicJson);
        });

    [Property]
    public Property Anthropic_then_openai_keeps_what_both_express() =>
        Prop.ForAll(Samples.Requests(WireProfile.Both), sample =>
        {
            var r = sample.Value;
            Assert.Null(AnthropicWire.Unsupported(r));
            var viaAnthropic = ViaAnthropic(r, out var anthropicJson);
            Assert.Null(OpenAiChatWire.Unsupported(viaAnthropic));

            var back = ViaOpenAi(viaAnthropic, out var openAiJson);

            var expected = Expressible.ThroughOpenAi(Expressible.ThroughAnthropic(r, r.Stream, DefaultMaxTokens), r.Stream);
            AssertSame(expected, back, r, "anthropic: " + anthropicJson, "openai: " + openAiJson);
        });

    [Property]
    public Property A_request_that_has_been_through_a_wire_is_a_fixpoint_of_it() =>
        Prop.ForAll(Samples.Requests(WireProfile.Both), sample =>
        {
            // The first trips may reshape (documented drops; an empty block left out brings two user turns together);
            // after that, another trip changes nothing.
            var openAi = ViaOpenAi(ViaOpenAi(sample.Value, out _), out var second);
            AssertSame(openAi, ViaOpenAi(openAi, out var third), sample.Value, "openai: " + second, "then: " + third);

            var anthropic = ViaAnthropic(ViaAnthropic(sample.Value, out _), out second);
            AssertSame(anthropic, ViaAnthropic(anthropic, out third), sample.Value, "anthropic: " + second, "then: " + third);
        });
}

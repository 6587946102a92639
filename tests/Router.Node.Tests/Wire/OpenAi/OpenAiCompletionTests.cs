using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Ingress;
using Router.Node.Wire.OpenAi;
using static Router.Node.Tests.Wire.OpenAi.OpenAiGolden;

namespace Router.Node.Tests.Wire.OpenAi;

public sealed class OpenAiCompletionTests
{
    [Fact]
    public void Writes_a_plain_text_answer_byte_for_byte_as_the_text_only_ingress_did()
    {
        var completion = new ChatCompletion("up-1", "gpt-4o-2024-08-06", "Hello there", FinishReason.Length, new TokenUsage(12, 3));

        // The exact bytes the text-only ingress wrote before tools existed: clients parsing them must see no change.
        const string before = """{"id":"chatcmpl-r","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}""";

        Assert.Equal(before, Write(w => OpenAiChatWire.WriteCompletion(w, "chatcmpl-r", 1700000000, "gpt-4o", completion)));
    }

    [Fact]
    public void Reads_every_choice_with_tool_calls_refusal_usage_details_and_fingerprint()
    {
        using var doc = JsonDocument.Parse("""
            {"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1",
             "choices":[
               {"index":0,"message":{"role":"assistant","content":"Sure.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"},
               {"index":1,"message":{"role":"assistant","content":null,"refusal":"No."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":16}}}
            """);

        var c = OpenAiChatWire.ParseCompletion(doc.RootElement);

        Assert.Equal("chatcmpl-9", c.Id);
        Assert.Equal("gpt-4o-2024-08-06", c.Model);
        Assert.Equal("fp_1", c.SystemFingerprint);
        Assert.Equal(2, c.Choices.Count);
        Assert.Equal("Sure.", c.Choices[0].Text);
        Assert.Equal(new ToolCall("call_1", "f", """{"a":1}"""), Assert.Single(c.Choices[0].ToolCalls));
        Assert.Equal(FinishReason.ToolCalls, c.Choices[0].FinishReason);
        Assert.Empty(c.Choices[1].Parts);
        Assert.Equal("No.", c.Choices[1].Refusal);
        Assert.Equal(new TokenUsage(100, 40) { CachedInputTokens = 64, ReasoningTokens = 16 }, c.Usage);
    }

    [Fact]
    public void Refuses_an_answer_without_choices()
    {
        using var doc = JsonDocument.Parse("""{"id":"x","choices":[]}""");

        Assert.Throws<InvalidDataException>(() => OpenAiChatWire.ParseCompletion(doc.RootElement));
    }

    [Fact]
    public void Leaves_reasoning_out_of_the_client_answer()
    {
        var completion = new ChatCompletion("up", "m",
            [new ChatChoice(0, [new ReasoningPart { Text = "secret chain", Signature = "s" }, new TextPart("42")], [], FinishReason.Stop)],
            new TokenUsage(1, 1));

        var json = Write(w => OpenAiChatWire.WriteCompletion(w, "c", 1, "m", completion));

        Assert.DoesNotContain("secret chain", json);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("42", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}

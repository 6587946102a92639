using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.Completions;
using static Router.Node.Tests.Wire.Responses.WireGolden;

namespace Router.Node.Tests.Wire.Completions;

public sealed class CompletionsRequestTests
{
    private static ChatRequest Parse(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return CompletionsWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes);
    }

    // One row per 400: the body, and the param the client is told to fix.
    [Theory]
    [InlineData("""{"prompt":"hi"}""", "model")]
    [InlineData("""{"model":"m"}""", "prompt")]
    [InlineData("""{"model":"m","prompt":7}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[{"text":"hi"}]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":"hi","max_tokens":-1}""", "max_tokens")]
    [InlineData("""{"model":"m","prompt":"hi","max_tokens":"16"}""", "max_tokens")]
    [InlineData("""{"model":"m","prompt":"hi","temperature":2.5}""", "temperature")]
    [InlineData("""{"model":"m","prompt":"hi","top_p":-0.1}""", "top_p")]
    [InlineData("""{"model":"m","prompt":"hi","n":0}""", "n")]
    [InlineData("""{"model":"m","prompt":"hi","stop":5}""", "stop")]
    [InlineData("""{"model":"m","prompt":"hi","seed":1.5}""", "seed")]
    [InlineData("""{"model":"m","prompt":"hi","presence_penalty":3}""", "presence_penalty")]
    [InlineData("""{"model":"m","prompt":"hi","frequency_penalty":-3}""", "frequency_penalty")]
    [InlineData("""{"model":"m","prompt":"hi","stream":1}""", "stream")]
    [InlineData("""{"model":"m","prompt":"hi","stream_options":true}""", "stream_options")]
    [InlineData("""{"model":"m","prompt":"hi","stream_options":{"include_usage":"yes"}}""", "stream_options.include_usage")]
    [InlineData("""{"model":"m","prompt":"hi","user":1}""", "user")]
    public void Refuses_an_invalid_request_naming_the_field(string json, string param)
    {
        var ex = Assert.Throws<RouterException>(() => Parse(json));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
    }

    [Theory]
    [InlineData("""{"model":"m","prompt":"hi","suffix":"!"}""", "suffix")]
    [InlineData("""{"model":"m","prompt":"hi","echo":true}""", "echo")]
    [InlineData("""{"model":"m","prompt":"hi","logprobs":2}""", "logprobs")]
    [InlineData("""{"model":"m","prompt":"hi","best_of":3}""", "best_of")]
    [InlineData("""{"model":"m","prompt":"hi","logit_bias":{"50256":-100}}""", "logit_bias")]
    [InlineData("""{"model":"m","prompt":["one","two"]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[1212,318]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[[1212,318],[257]]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":null}""", "prompt")]
    public void Lists_what_only_openai_can_honour_as_unmapped(string json, string field)
    {
        var r = Parse(json);

        Assert.Equal([field], r.UnmappedFields);
        Assert.Equal(ChatRole.User, Assert.Single(r.Messages).Role);
    }

    [Fact]
    public void Defaults_max_tokens_to_sixteen_as_openai_does()
    {
        var r = Parse("""{"model":"m","prompt":"hi"}""");

        Assert.Equal(16, r.MaxTokens);
        Assert.Equal(WireFormat.OpenAiCompletions, r.Source);
        Assert.True(r.IsPassthroughTo(WireFormat.OpenAiCompletions));
    }

    [Fact]
    public void Streams_usage_only_when_asked_and_ends_with_done()
    {
        var events = new ChatStreamEvent[] { new StreamStarted("x"), new ContentDelta("Hi"), new StreamFinished(FinishReason.Stop, new TokenUsage(3, 1)) };
        string Run(bool includeUsage)
        {
            var writer = new CompletionsChunkWriter("cmpl-1", 1, "m", includeUsage);
            var output = new ArrayBufferWriter<byte>();
            foreach (var e in events) writer.Write(e, output);
            writer.WriteDone(output);
            return Encoding.UTF8.GetString(output.WrittenSpan);
        }

        var without = ParseSse(Run(false));
        var with = ParseSse(Run(true));

        Assert.Equal(3, without.Count);
        Assert.DoesNotContain("usage", without[0].Data);
        Assert.Equal(4, with.Count);
        Assert.Equal(3, JsonDocument.Parse(with[2].Data).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("[DONE]", with[^1].Data);
    }

    [Fact]
    public void Rejects_a_malformed_upstream_chunk()
    {
        Assert.Throws<InvalidDataException>(() => new CompletionsChunkReader().Read(JsonDocument.Parse("""{"choices":{}}""").RootElement, []));
        Assert.Throws<InvalidDataException>(() => CompletionsWire.ParseCompletion(JsonDocument.Parse("""{"choices":[{"text":5}]}""").RootElement));
    }
}

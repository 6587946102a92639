using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Node.Wire;

namespace Router.Node.Tests.Wire;

/// <summary>
/// Same-wire passthrough promises byte-for-byte values for everything Router does not interpret: these tests compare
/// bytes, not parsed JSON, so a changed number format, escape or key order would fail them.
/// </summary>
public sealed class JsonPassthroughTests
{
    private static string Request(string body, string model, bool ensureIncludeUsage = false)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonPassthrough.RewriteRequest(Encoding.UTF8.GetBytes(body), model, ensureIncludeUsage, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string Response(string body, string model, bool dropUsage = false)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonPassthrough.RewriteResponse(Encoding.UTF8.GetBytes(body), model, dropUsage, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Replaces_only_the_model_and_keeps_every_other_byte()
    {
        const string body = """
            {"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00"}],  "model" : "fast",
             "temperature":1.0e0,"seed":12345678901234567890,"x_future_field":{"model":"nested stays","n":[1,2.50]},
             "logit_bias":{"50256":-100}}
            """;
        var rewritten = Request(body, "gpt-4o-mini-2024-07-18");
        Assert.Equal(body.Replace("\"fast\"", "\"gpt-4o-mini-2024-07-18\""), rewritten);
    }

    [Fact]
    public void Adds_include_usage_when_stream_options_is_absent()
    {
        var rewritten = Request("""{"model":"m","stream":true}""", "up", ensureIncludeUsage: true);
        using var doc = JsonDocument.Parse(rewritten);
        Assert.Equal("up", doc.RootElement.GetProperty("model").GetString());
        Assert.True(doc.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.StartsWith("""{"model":"up","stream":true""", rewritten);
    }

    [Fact]
    public void Turns_include_usage_on_inside_existing_stream_options_and_keeps_its_other_fields()
    {
        var rewritten = Request("""{"model":"m","stream_options":{"include_usage":false,"future":[1,{"a":"b"}]},"stream":true}""", "up", ensureIncludeUsage: true);
        Assert.Equal("""{"model":"up","stream_options":{"future":[1,{"a":"b"}],"include_usage":true},"stream":true}""", rewritten);
    }

    [Fact]
    public void Leaves_stream_options_alone_when_usage_is_not_needed()
    {
        const string body = """{"model":"m","stream_options":{"include_usage":false}}""";
        Assert.Equal("""{"model":"up","stream_options":{"include_usage":false}}""", Request(body, "up"));
    }

    [Fact]
    public void Inserts_a_model_when_the_body_has_none()
    {
        using var doc = JsonDocument.Parse(Request("""{"input":"x"}""", "text-embedding-3-small"));
        Assert.Equal("text-embedding-3-small", doc.RootElement.GetProperty("model").GetString());
        Assert.Equal("x", doc.RootElement.GetProperty("input").GetString());
    }

    [Fact]
    public void Escapes_the_replacement_model_as_json()
    {
        using var doc = JsonDocument.Parse(Request("""{"model":"m"}""", "we\"ird\\name"));
        Assert.Equal("we\"ird\\name", doc.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void Refuses_a_body_that_is_not_an_object()
    {
        Assert.ThrowsAny<JsonException>(() => Request("[1,2]", "m"));
    }

    [Fact]
    public void Response_model_is_the_one_the_client_asked_for_at_the_top_and_in_message_and_response()
    {
        Assert.Equal("""{"id":"x","model":"fast","system_fingerprint":"fp_1"}""",
            Response("""{"id":"x","model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1"}""", "fast"));
        Assert.Equal("""{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5}}}""",
            Response("""{"type":"message_start","message":{"id":"msg_1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":5}}}""", "claude"));
        Assert.Equal("""{"type":"response.created","response":{"id":"resp_1","model":"fast","output":[]}}""",
            Response("""{"type":"response.created","response":{"id":"resp_1","model":"gpt-4.1","output":[]}}""", "fast"));
    }

    [Fact]
    public void Response_keeps_a_model_field_deeper_down_unchanged()
    {
        const string body = """{"model":"up","choices":[{"message":{"tool_calls":[{"function":{"arguments":"{\"model\":\"x\"}"}}]}}],"meta":{"model":"keep"}}""";
        Assert.Equal(body.Replace("\"model\":\"up\"", "\"model\":\"fast\""), Response(body, "fast"));
    }

    [Fact]
    public void Drops_usage_the_client_did_not_ask_for_and_nothing_else()
    {
        Assert.Equal("""{"id":"c","choices":[{"delta":{"content":"hi"}}]}""",
            Response("""{"id":"c","choices":[{"delta":{"content":"hi"}}],"usage":null}""", "m", dropUsage: true));
        Assert.Equal("""{"id":"c","usage":null,"model":"m"}""", Response("""{"id":"c","usage":null,"model":"u"}""", "m"));
    }

    [Fact]
    public void Copies_a_body_that_is_not_an_object_as_it_is()
    {
        Assert.Equal("[DONE]", Response("[DONE]", "m"));
    }
}

using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.Anthropic;

namespace Router.Node.Tests.Wire.Anthropic;

public sealed class AnthropicRequestTests
{
    private const string Weather = """{"name":"get_weather","input_schema":{"type":"object"}}""";
    private const string ToolTurn = """
        {"role":"user","content":"Weather?"},
        {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]}
        """;

    private static ChatRequest Parse(string json)
    {
        var raw = Encoding.UTF8.GetBytes(json);
        using var doc = JsonDocument.Parse(raw);
        return AnthropicWire.ParseRequest(doc.RootElement, raw);
    }

    private static string Body(string messages, string extra = "") =>
        $$"""{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{{messages}}]{{(extra.Length > 0 ? "," + extra : "")}}}""";

    private static string User(string blocks) => $$"""{"role":"user","content":[{{blocks}}]}""";

    public static TheoryData<string, string> InvalidRequests => new()
    {
        { """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "max_tokens" },
        { Body("""{"role":"user","content":"hi"}""").Replace("100", "0"), "max_tokens" },
        { """{"model":"m","max_tokens":10,"messages":[]}""", "messages" },
        { Body("""{"role":"system","content":"hi"}"""), "messages.0.role" },
        { Body("""{"role":"user"}"""), "messages.0.content" },
        { Body(User("""{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}""")), "messages.0.content.1.source.media_type" },
        { Body(User("""{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"not base64!"}}""")), "messages.0.content.1.source.data" },
        { Body(User("""{"type":"image","source":{"type":"url","url":"ftp://example.com/a.png"}}""")), "messages.0.content.0.source.url" },
        { Body(User("""{"type":"image","source":{"type":"base64","data":"AAAA"}}""")), "messages.0.content.0.source.media_type" },
        { Body(ToolTurn + "," + User("""{"type":"tool_result","tool_use_id":"toolu_other","content":"x"}""")), "messages.2.content.0.tool_use_id" },
        { Body(ToolTurn + "," + User("""{"type":"text","text":"first"},{"type":"tool_result","tool_use_id":"toolu_1","content":"x"}""")), "messages.2.content.1" },
        { Body(User("""{"type":"tool_use","id":"t","name":"n","input":{}}""")), "messages.0.content.0.type" },
        { Body("""{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":"{}"}]}"""), "messages.1.content.0.input" },
        { Body("""{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm"}]}"""), "messages.1.content.0.signature" },
        { Body(User("""{"type":"text"}""")), "messages.0.content.0.text" },
        { Body(User("""{"text":"a"}""")), "messages.0.content.0.type" },
        { Body("""{"role":"user","content":"hi"}""", """ "system":[{"type":"image","source":{}}]"""), "system.0.type" },
        { Body("""{"role":"user","content":"hi"}""", """ "tools":[{"name":"get weather!","input_schema":{"type":"object"}}]"""), "tools.0.name" },
        { Body("""{"role":"user","content":"hi"}""", """ "tools":[{"name":"get_weather","input_schema":"object"}]"""), "tools.0.input_schema" },
        { Body("""{"role":"user","content":"hi"}""", """ "tools":[{"name":"get_weather"}]"""), "tools.0.input_schema" },
        { Body("""{"role":"user","content":"hi"}""", $$""" "tools":[{{Weather}}],"tool_choice":{"type":"tool","name":"other"}"""), "tool_choice.name" },
        { Body("""{"role":"user","content":"hi"}""", $$""" "tools":[{{Weather}}],"tool_choice":{"type":"required"}"""), "tool_choice.type" },
        { Body("""{"role":"user","content":"hi"}""", """ "thinking":{"type":"enabled","budget_tokens":512}"""), "thinking.budget_tokens" },
        { Body("""{"role":"user","content":"hi"}""", """ "thinking":{"type":"enabled"}"""), "thinking.budget_tokens" },
        { Body("""{"role":"user","content":"hi"}""", """ "temperature":1.5"""), "temperature" },
        { Body("""{"role":"user","content":"hi"}""", """ "top_p":-0.1"""), "top_p" },
        { Body("""{"role":"user","content":"hi"}""", """ "top_k":-1"""), "top_k" },
        { Body("""{"role":"user","content":"hi"}""", """ "stop_sequences":"END" """), "stop_sequences" },
        { Body("""{"role":"user","content":"hi"}""", """ "metadata":{"user_id":42}"""), "metadata.user_id" },
        { Body("""{"role":"user","content":"hi"}""", """ "stream":"yes" """), "stream" },
        { Body(User("""{"type":"text","text":"a","cache_control":"ephemeral"}""")), "messages.0.content.0.cache_control" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public void Refuses_an_invalid_request_naming_the_field_in_anthropic_notation(string json, string param)
    {
        var ex = Assert.Throws<RouterException>(() => Parse(json));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
        Assert.StartsWith(param, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_what_only_an_anthropic_upstream_understands_without_refusing_it()
    {
        var request = Parse(Body(
            User("""
                {"type":"text","text":"See","citations":[{"type":"char_location"}]},
                {"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}},
                {"type":"image","source":{"type":"file","file_id":"file_011"}},
                {"type":"search_result","source":"https://x","title":"t","content":[]}
                """),
            """
            "container":"container_1","mcp_servers":[{"type":"url","url":"https://mcp","name":"m"}],
            "context_management":{"edits":[]},"service_tier":"auto","future_field":true,
            "tools":[{"type":"web_search_20250305","name":"web_search"},{"name":"get_weather","input_schema":{"type":"object"},"strict":true},{"type":"bash_20250124","name":"bash"}],
            "thinking":{"type":"adaptive"}
            """));

        Assert.Equal(
            [
                "container", "mcp_servers", "context_management", "future_field",
                "messages.0.content.0.citations", "messages.0.content.1", "messages.0.content.2.source", "messages.0.content.3",
                "tools.0", "tools.1.strict", "tools.2", "thinking",
            ],
            request.UnmappedFields);
        Assert.Equal("get_weather", Assert.Single(request.Tools).Name);
        Assert.Null(request.Reasoning);
        var error = AnthropicWire.Unsupported(request);
        Assert.Equal("container", error?.Param);
    }

    [Fact]
    public void Tool_results_become_tool_messages_in_order_and_the_rest_of_the_turn_a_user_message_after_them()
    {
        var request = Parse(Body(ToolTurn.Replace("}]}", """},{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Oslo"}}]}""") + "," + User("""
            {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"cold"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}],"cache_control":{"type":"ephemeral"}},
            {"type":"tool_result","tool_use_id":"toolu_1","is_error":true},
            {"type":"text","text":"thanks"}
            """)));

        var m = request.Messages;
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Tool, ChatRole.User], m.Select(x => x.Role));
        Assert.Equal("toolu_2", m[2].ToolCallId);
        Assert.Equal("""{"type":"ephemeral"}""", m[2].Parts[^1].CacheControlJson);
        Assert.IsType<ImagePart>(m[2].Parts[1]);
        Assert.True(m[3].IsError);
        Assert.Empty(m[3].Parts);
        Assert.Equal("thanks", m[4].Text);
        Assert.Equal("""{"city":"Oslo"}""", m[1].ToolCalls[1].ArgumentsJson);
    }

    [Fact]
    public void Reads_sampling_settings_metadata_and_thinking()
    {
        var request = Parse(Body("""{"role":"user","content":"hi"}""", """
            "system":"Be brief.","temperature":0,"top_p":0.5,"top_k":3,"stop_sequences":["x","y"],"stream":true,
            "metadata":{"user_id":"u1"},"thinking":{"type":"disabled"},
            "tools":[{"name":"get_weather","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"}
            """));

        Assert.Equal(ChatRole.System, request.Messages[0].Role);
        Assert.Equal("Be brief.", request.Messages[0].Text);
        Assert.Equal((0.0, 0.5, 3), (request.Temperature!.Value, request.TopP!.Value, request.TopK!.Value));
        Assert.Equal(["x", "y"], request.Stop!);
        Assert.True(request.Stream);
        Assert.Equal("u1", request.User);
        Assert.Equal(false, request.Reasoning?.Enabled);
        Assert.Equal(ToolChoice.None, request.ToolChoice);
        Assert.Null(request.ParallelToolCalls);
        Assert.Empty(request.UnmappedFields);
    }
}

using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.OpenAi;

namespace Router.Node.Tests.Wire.OpenAi;

public sealed class OpenAiRequestTests
{
    private const string User = """{"role":"user","content":"hi"}""";
    private const string Weather = """{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{}}}}""";
    private const string CallingAssistant =
        """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}""";

    internal static ChatRequest Parse(string json)
    {
        var raw = Encoding.UTF8.GetBytes(json);
        using var doc = JsonDocument.Parse(raw);
        return OpenAiChatWire.ParseRequest(doc.RootElement, raw);
    }

    private static string Body(string fields, string messages = User) => """{"model":"gpt-4o","messages":[""" + messages + "]" + fields + "}";

    private static string WithWeather(string rest) => Body(""","tools":[""" + Weather + "]" + rest);

    private static string ImageMessage(string imageUrl) =>
        """{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":""" + imageUrl + "}]}";

    public static TheoryData<string, string> Invalid => new()
    {
        { """{"messages":[{"role":"user","content":"hi"}]}""", "model" },
        { """{"model":"gpt-4o"}""", "messages" },
        { """{"model":"gpt-4o","messages":[]}""", "messages" },
        { Body("", """{"role":"critic","content":"hi"}"""), "messages[0].role" },
        { Body("", """{"role":"user"}"""), "messages[0].content" },
        { Body("", """{"role":"assistant","content":null}"""), "messages[0].content" },
        { Body("", """{"role":"user","content":[{"type":"video","video":{}}]}"""), "messages[0].content[0].type" },
        { Body("", """{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}"""), "messages[0].content[0].type" },
        { Body("", """{"role":"user","content":[{"type":"text"}]}"""), "messages[0].content[0].text" },
        // Images: media type, base64, scheme, detail.
        { Body("", ImageMessage("""{"url":"data:image/bmp;base64,Qk0="}""")), "messages[0].content[1].image_url.url" },
        { Body("", ImageMessage("""{"url":"data:image/png;base64,not base64!!"}""")), "messages[0].content[1].image_url.url" },
        { Body("", ImageMessage("""{"url":"data:image/png,rawbytes"}""")), "messages[0].content[1].image_url.url" },
        { Body("", ImageMessage("""{"url":"ftp://example.com/a.png"}""")), "messages[0].content[1].image_url.url" },
        { Body("", ImageMessage("""{"url":"https://example.com/a.png","detail":"ultra"}""")), "messages[0].content[1].image_url.detail" },
        { Body("", ImageMessage("""{"detail":"low"}""")), "messages[0].content[1].image_url.url" },
        // Tool results must answer an earlier call.
        { Body("", User + """,{"role":"tool","tool_call_id":"call_1","content":"sunny"}"""), "messages[1].tool_call_id" },
        { Body("", User + "," + CallingAssistant + """,{"role":"tool","tool_call_id":"call_2","content":"sunny"}"""), "messages[2].tool_call_id" },
        { Body("", User + "," + CallingAssistant + """,{"role":"tool","content":"sunny"}"""), "messages[2].tool_call_id" },
        { Body("", User + "," + CallingAssistant + """,{"role":"tool","tool_call_id":"call_1","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}"""),
            "messages[2].content[0].type" },
        { Body("", """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f"}}]}"""),
            "messages[0].tool_calls[0].function.arguments" },
        // Tools.
        { Body(""","tools":[{"type":"function","function":{"description":"no name"}}]"""), "tools[0].function.name" },
        { Body(""","tools":[{"type":"function","function":{"name":"get weather"}}]"""), "tools[0].function.name" },
        { Body(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"" + new string('a', 65) + "\"}}]"), "tools[0].function.name" },
        { Body(""","tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]"""), "tools[0].function.parameters" },
        { Body(""","tools":[{"type":"function"}]"""), "tools[0].function" },
        { Body(""","tools":[{"function":{"name":"f"}}]"""), "tools[0].type" },
        // Tool choice.
        { WithWeather(""","tool_choice":"sometimes" """), "tool_choice" },
        { WithWeather(""","tool_choice":{"type":"function","function":{"name":"get_time"}}"""), "tool_choice.function.name" },
        { Body(""","tool_choice":{"type":"function","function":{"name":"get_weather"}}"""), "tool_choice.function.name" },
        { WithWeather(""","tool_choice":{"type":"function"}"""), "tool_choice.function" },
        { Body(""","parallel_tool_calls":"yes" """), "parallel_tool_calls" },
        // Response format.
        { Body(""","response_format":{"type":"yaml"}"""), "response_format.type" },
        { Body(""","response_format":{"type":"json_schema"}"""), "response_format.json_schema" },
        { Body(""","response_format":{"type":"json_schema","json_schema":{"schema":{}}}"""), "response_format.json_schema.name" },
        { Body(""","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[1]}}"""), "response_format.json_schema.schema" },
        // Sampling and limits.
        { Body(""","temperature":2.5"""), "temperature" },
        { Body(""","temperature":-0.1"""), "temperature" },
        { Body(""","top_p":1.5"""), "top_p" },
        { Body(""","presence_penalty":2.1"""), "presence_penalty" },
        { Body(""","frequency_penalty":-3"""), "frequency_penalty" },
        { Body(""","n":0"""), "n" },
        { Body(""","seed":1.5"""), "seed" },
        { Body(""","stop":["a","b","c","d","e"]"""), "stop" },
        { Body(""","stop":[1]"""), "stop" },
        { Body(""","max_tokens":0"""), "max_tokens" },
        { Body(""","max_completion_tokens":"many" """), "max_completion_tokens" },
        { Body(""","max_completion_tokens":100,"max_tokens":-1"""), "max_tokens" },
        { Body(""","reasoning_effort":"extreme" """), "reasoning_effort" },
        { Body(""","stream":"true" """), "stream" },
        { Body(""","stream":true,"stream_options":true"""), "stream_options" },
        { Body(""","stream":true,"stream_options":{"include_usage":"yes"}"""), "stream_options.include_usage" },
        { Body(""","user":42"""), "user" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_an_invalid_request_with_400_naming_the_field(string json, string param)
    {
        var ex = Assert.Throws<RouterException>(() => Parse(json));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
    }

    [Fact]
    public void Refuses_a_body_that_is_not_an_object_without_a_param()
    {
        var ex = Assert.Throws<RouterException>(() => Parse("[1]"));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Null(ex.Param);
    }

    [Fact]
    public void Reads_a_data_url_image_as_inline_base64_with_its_media_type_and_detail()
    {
        var request = Parse(Body("", ImageMessage("""{"url":"data:image/webp;base64,UklGRg==","detail":"low"}""")));

        var image = Assert.IsType<ImagePart>(request.Messages[0].Parts[1]);
        Assert.Equal("image/webp", image.MediaType);
        Assert.Equal("UklGRg==", image.Base64Data);
        Assert.Equal("low", image.Detail);
        Assert.Null(image.Url);
    }

    [Fact]
    public void Reads_system_and_developer_as_system_and_tool_loops_with_their_call_ids()
    {
        var request = Parse(Body("", """
            {"role":"developer","content":"be brief"},{"role":"system","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
            {"role":"user","content":"weather?"},
            {"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"rain"}
            """));

        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool], request.Messages.Select(m => m.Role));
        Assert.Equal("a\nb", request.Messages[1].Text);
        var assistant = request.Messages[3];
        Assert.Empty(assistant.Parts);
        Assert.Equal(new ToolCall("call_1", "get_weather", """{"city":"Oslo"}"""), Assert.Single(assistant.ToolCalls));
        Assert.Equal("call_1", request.Messages[4].ToolCallId);
        Assert.Equal("rain", request.Messages[4].Text);
    }

    [Fact]
    public void Reads_every_modelled_setting()
    {
        var request = Parse(WithWeather("""
            ,"temperature":0.7,"top_p":0.95,"max_tokens":50,"max_completion_tokens":200,"stop":"END","seed":7,"n":3,
            "presence_penalty":0.1,"frequency_penalty":0.2,"stream":true,"stream_options":{"include_usage":true},"user":"u-1",
            "tool_choice":"required","parallel_tool_calls":false,"reasoning_effort":"low",
            "response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"d","schema":{"type":"object"},"strict":true}}
            """));

        Assert.Equal(0.7, request.Temperature);
        Assert.Equal(0.95, request.TopP);
        Assert.Equal(200, request.MaxTokens);
        Assert.Equal(["END"], request.Stop!);
        Assert.Equal(7, request.Seed);
        Assert.Equal(3, request.N);
        Assert.Equal(0.1, request.PresencePenalty);
        Assert.Equal(0.2, request.FrequencyPenalty);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
        Assert.Equal("u-1", request.User);
        Assert.Equal("get_weather", Assert.Single(request.Tools).Name);
        Assert.Equal(ToolChoice.Required, request.ToolChoice);
        Assert.False(request.ParallelToolCalls);
        Assert.Equal("low", request.Reasoning!.Effort);
        Assert.Equal(ResponseFormatKind.JsonSchema, request.ResponseFormat!.Kind);
        Assert.Equal("answer", request.ResponseFormat.Name);
        Assert.Equal("d", request.ResponseFormat.Description);
        Assert.Equal("""{"type":"object"}""", request.ResponseFormat.SchemaJson);
        Assert.True(request.ResponseFormat.Strict);
        Assert.Equal(WireFormat.OpenAiChat, request.Source);
        Assert.True(request.IsPassthroughTo(WireFormat.OpenAiChat));
    }

    [Fact]
    public void Gives_a_tool_without_parameters_an_empty_object_schema()
    {
        var request = Parse(Body(""","tools":[{"type":"function","function":{"name":"now","description":"the time","strict":false}}]"""));

        var tool = Assert.Single(request.Tools);
        Assert.Equal("""{"type":"object","properties":{}}""", tool.ParametersJson);
        Assert.Equal("the time", tool.Description);
        Assert.False(tool.Strict);
    }

    [Fact]
    public void Lists_fields_the_canonical_model_cannot_hold_without_refusing_them()
    {
        var request = Parse(Body("""
            ,"logprobs":true,"top_logprobs":3,"logit_bias":{"50256":-100},"modalities":["text","audio"],"audio":{"voice":"alloy","format":"wav"},
            "prediction":{"type":"content","content":"x"},"web_search_options":{},"functions":[{"name":"f"}],"function_call":"auto",
            "verbosity":"low","brand_new_field":1,
            "tools":[{"type":"custom","custom":{"name":"grammar"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}
            """, """
            {"role":"user","content":[{"type":"text","text":"listen"},{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
              {"type":"file","file":{"file_id":"file-abc"}}]},
            {"role":"assistant","content":[{"type":"refusal","refusal":"no"}],"audio":{"id":"audio_1"}},
            {"role":"function","name":"f","content":"{}"}
            """));

        Assert.Equal(
        [
            "messages[0].content[1]", "messages[0].content[2]", "messages[1].audio", "messages[1].content[0]", "messages[2]",
            "tools[0]", "tool_choice",
            "logprobs", "top_logprobs", "logit_bias", "modalities", "audio", "prediction", "web_search_options", "functions",
            "function_call", "verbosity", "brand_new_field",
        ], request.UnmappedFields);
        Assert.Equal("listen", request.Messages[0].Text);
        Assert.Equal(2, request.Messages.Count);
        Assert.Empty(request.Tools);
        Assert.Null(request.ToolChoice);
    }

    [Fact]
    public void Takes_off_wire_fields_as_neither_errors_nor_unmapped()
    {
        var request = Parse(Body("""
            ,"store":true,"metadata":{"team":"a"},"service_tier":"flex","prompt_cache_key":"k","prompt_cache_retention":"24h",
            "safety_identifier":"hash","logprobs":false,"modalities":["text"],"stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false},
            "top_logprobs":null,"functions":null
            """));

        Assert.Empty(request.UnmappedFields);
        Assert.False(request.IncludeUsage);
    }

    [Fact]
    public void Keeps_the_raw_body_for_same_wire_passthrough()
    {
        var json = Body(""","logit_bias":{"1":2}""");

        var request = Parse(json);

        Assert.Equal(json, Encoding.UTF8.GetString(request.RawBody.Span));
        Assert.Equal(["logit_bias"], request.UnmappedFields);
    }
}

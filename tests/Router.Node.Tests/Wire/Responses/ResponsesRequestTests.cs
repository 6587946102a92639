using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Wire.Responses;

namespace Router.Node.Tests.Wire.Responses;

public sealed class ResponsesRequestTests
{
    private static ChatRequest Parse(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return ResponsesWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes);
    }

    private const string Call = """{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}""";

    // One row per 400: the body, and the param the client is told to fix (OpenAI notation).
    [Theory]
    [InlineData("""{"input":"hi"}""", "model")]
    [InlineData("""{"model":"m"}""", "input")]
    [InlineData("""{"model":"m","input":42}""", "input")]
    [InlineData("""{"model":"m","input":["hi"]}""", "input[0]")]
    [InlineData("""{"model":"m","input":[{"content":"hi"}]}""", "input[0].type")]
    [InlineData("""{"model":"m","input":[{"role":"robot","content":"hi"}]}""", "input[0].role")]
    [InlineData("""{"model":"m","input":[{"type":"message","role":"user"}]}""", "input[0].content")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":7}]}""", "input[0].content")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":["hi"]}]}""", "input[0].content[0]")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"text":"hi"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_text"}]}]}""", "input[0].content[0].text")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","detail":"auto"}]}]}""", "input[0].content[0].image_url")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"ftp://x/y.png"}]}]}""", "input[0].content[0].image_url")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png,abc"}]}]}""", "input[0].content[0].image_url")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png","detail":1}]}]}""", "input[0].content[0].detail")]
    [InlineData("""{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "input[0].call_id")]
    [InlineData("""{"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}""", "input[0].name")]
    [InlineData("""{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}""", "input[0].arguments")]
    [InlineData("""{"model":"m","input":[{"type":"function_call_output","call_id":"call_9","output":"x"}]}""", "input[0].call_id")]
    [InlineData("""{"model":"m","input":[""" + Call + """,{"type":"function_call_output","call_id":"call_1"}]}""", "input[1].output")]
    [InlineData("""{"model":"m","input":[""" + Call + """,{"type":"function_call_output","call_id":"call_1","output":5}]}""", "input[1].output")]
    [InlineData("""{"model":"m","input":"hi","instructions":["be brief"]}""", "instructions")]
    [InlineData("""{"model":"m","input":"hi","temperature":3}""", "temperature")]
    [InlineData("""{"model":"m","input":"hi","top_p":1.5}""", "top_p")]
    [InlineData("""{"model":"m","input":"hi","max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("""{"model":"m","input":"hi","stream":"yes"}""", "stream")]
    [InlineData("""{"model":"m","input":"hi","user":7}""", "user")]
    [InlineData("""{"model":"m","input":"hi","parallel_tool_calls":"no"}""", "parallel_tool_calls")]
    [InlineData("""{"model":"m","input":"hi","tools":{}}""", "tools")]
    [InlineData("""{"model":"m","input":"hi","tools":[7]}""", "tools[0]")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"name":"f"}]}""", "tools[0].type")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","parameters":{}}]}""", "tools[0].name")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","name":""}]}""", "tools[0].name")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":"{}"}]}""", "tools[0].parameters")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","name":"f","strict":"yes"}]}""", "tools[0].strict")]
    [InlineData("""{"model":"m","input":"hi","tool_choice":"any"}""", "tool_choice")]
    [InlineData("""{"model":"m","input":"hi","tool_choice":{"name":"f"}}""", "tool_choice.type")]
    [InlineData("""{"model":"m","input":"hi","tool_choice":{"type":"function"}}""", "tool_choice.name")]
    [InlineData("""{"model":"m","input":"hi","text":"json"}""", "text")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":"json"}}""", "text.format")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"xml"}}}""", "text.format.type")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}""", "text.format.name")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}""", "text.format.schema")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":{},"strict":"on"}}}""", "text.format.strict")]
    [InlineData("""{"model":"m","input":"hi","reasoning":"high"}""", "reasoning")]
    [InlineData("""{"model":"m","input":"hi","reasoning":{"effort":3}}""", "reasoning.effort")]
    public void Refuses_an_invalid_request_naming_the_field(string json, string param)
    {
        var ex = Assert.Throws<RouterException>(() => Parse(json));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal(param, ex.Param);
    }

    // What the canonical model cannot hold is listed (OpenAI notation), so only an openai upstream gets the request.
    [Theory]
    [InlineData("""{"model":"m","input":"hi","previous_response_id":"resp_1"}""", "previous_response_id")]
    [InlineData("""{"model":"m","input":"hi","conversation":"conv_1"}""", "conversation")]
    [InlineData("""{"model":"m","input":"hi","include":["reasoning.encrypted_content"]}""", "include")]
    [InlineData("""{"model":"m","input":"hi","truncation":"auto"}""", "truncation")]
    [InlineData("""{"model":"m","input":"hi","background":true}""", "background")]
    [InlineData("""{"model":"m","prompt":{"id":"pmpt_1"}}""", "prompt")]
    [InlineData("""{"model":"m","input":"hi","top_logprobs":5}""", "top_logprobs")]
    [InlineData("""{"model":"m","input":"hi","some_future_field":{}}""", "some_future_field")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"web_search"}]}""", "tools[1]")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"function","name":"f","defer_loading":true}]}""", "tools[0].defer_loading")]
    [InlineData("""{"model":"m","input":"hi","tool_choice":{"type":"file_search"}}""", "tool_choice")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}""", "input[0].content[0]")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}""", "input[0].content[0]")]
    [InlineData("""{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[]},{"role":"user","content":"hi"}]}""", "input[0]")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_1"}]}""", "input[1]")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":"hi"},{"id":"msg_1"}]}""", "input[1]")]
    [InlineData("""{"model":"m","input":"hi","reasoning":{"effort":"low","summary":"auto"}}""", "reasoning.summary")]
    [InlineData("""{"model":"m","input":"hi","text":{"verbosity":"low"}}""", "text.verbosity")]
    public void Lists_what_only_openai_can_honour_as_unmapped(string json, string field)
    {
        Assert.Equal([field], Parse(json).UnmappedFields);
    }

    [Fact]
    public void Accepts_openai_only_settings_that_change_nothing_elsewhere()
    {
        var r = Parse("""
            {"model":"m","input":"hi","store":true,"metadata":{"a":"b"},"service_tier":"auto","prompt_cache_key":"k",
             "prompt_cache_retention":"24h","safety_identifier":"u1","stream_options":{"include_obfuscation":false},
             "truncation":"disabled","background":false,"include":[],"text":{"format":{"type":"text"},"verbosity":"medium"}}
            """);

        Assert.Empty(r.UnmappedFields);
    }

    [Fact]
    public void Puts_instructions_first_and_maps_developer_to_system()
    {
        var r = Parse("""{"model":"m","instructions":"Be brief.","input":[{"role":"developer","content":"Talk like a pirate."},{"role":"user","content":"hi"}]}""");

        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User], r.Messages.Select(m => m.Role));
        Assert.Equal("Be brief.", r.Messages[0].Text);
        Assert.Equal(WireFormat.OpenAiResponses, r.Source);
        Assert.True(r.IsPassthroughTo(WireFormat.OpenAiResponses));
    }

    [Fact]
    public void Joins_consecutive_function_calls_to_the_assistant_text_before_them()
    {
        var r = Parse("""
            {"model":"m","input":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[{"type":"output_text","text":"Checking.","annotations":[]}]},
              {"type":"function_call","id":"fc_1","call_id":"call_a","name":"w","arguments":"{\"c\":\"Paris\"}","status":"completed"},
              {"type":"function_call","id":"fc_2","call_id":"call_b","name":"w","arguments":"{\"c\":\"Rome\"}","status":"completed"},
              {"type":"function_call_output","call_id":"call_a","output":"18C"},
              {"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"21C"}]}]}
            """);

        Assert.Equal(4, r.Messages.Count);
        var assistant = r.Messages[1];
        Assert.Equal("Checking.", assistant.Text);
        Assert.Equal(["call_a", "call_b"], assistant.ToolCalls.Select(c => c.Id));
        Assert.Equal(("call_a", "18C"), (r.Messages[2].ToolCallId, r.Messages[2].Text));
        Assert.Equal(("call_b", "21C"), (r.Messages[3].ToolCallId, r.Messages[3].Text));
        Assert.Empty(r.UnmappedFields);
    }

    [Fact]
    public void Accepts_an_output_for_a_call_made_in_a_stored_response()
    {
        var r = Parse("""{"model":"m","previous_response_id":"resp_1","input":[{"type":"function_call_output","call_id":"call_x","output":"ok"}]}""");

        Assert.Equal("call_x", r.Messages[0].ToolCallId);
        Assert.Equal(["previous_response_id"], r.UnmappedFields);
    }

    [Fact]
    public void Splits_a_data_url_image_into_media_type_and_base64()
    {
        var r = Parse("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/jpeg;base64,/9j/4AAQ","detail":"low"}]}]}""");

        var image = Assert.IsType<ImagePart>(r.Messages[0].Parts[0]);
        Assert.Equal(("image/jpeg", "/9j/4AAQ", "low", null), (image.MediaType, image.Base64Data, image.Detail, image.Url));
    }

    [Fact]
    public void Reads_tool_choice_and_settings()
    {
        var r = Parse("""
            {"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":null,"strict":false}],
             "tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":false,"stream":true,"reasoning":{"effort":"minimal"},
             "text":{"format":{"type":"json_object"}}}
            """);

        Assert.Equal(new ToolChoice(ToolChoiceMode.Named, "f"), r.ToolChoice);
        Assert.Equal("""{"type":"object","properties":{}}""", r.Tools[0].ParametersJson);
        Assert.False(r.Tools[0].Strict);
        Assert.False(r.ParallelToolCalls);
        Assert.True(r.Stream);
        Assert.True(r.IncludeUsage);
        Assert.Equal("minimal", r.Reasoning?.Effort);
        Assert.Equal(ResponseFormat.JsonObject, r.ResponseFormat);
    }
}

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// Provider answers as the real APIs send them (shapes taken from the providers' API references: Anthropic "Tool use"
/// and "Streaming messages", OpenAI "Function calling" and the chat completion chunk object), fed to the fakes verbatim
/// with <c>Behaviour.RawJson</c> / <c>Behaviour.RawStream</c>.
/// </summary>
internal static class Recorded
{
    public const string WeatherTool = "get_weather";
    public const string TimeTool = "get_time";

    /// <summary>The weather tool's parameters, as a client declares them (required: location).</summary>
    public const string WeatherSchema =
        """{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}""";

    public const string TimeSchema =
        """{"type":"object","properties":{"timezone":{"type":"string","description":"IANA time zone, e.g. America/Los_Angeles"}},"required":["timezone"]}""";

    public const string WeatherArguments = """{"location":"San Francisco, CA","unit":"celsius"}""";
    public const string TimeArguments = """{"timezone":"America/Los_Angeles"}""";

    // ---- Anthropic ----

    public const string AnthropicToolUseId = "toolu_01A09q90qw90lq917835lq9";
    public const string AnthropicSecondToolUseId = "toolu_01T1x1fJ34qAmk2tNTrN7Up6";
    public const string AnthropicPreamble = "I'll check the current weather in San Francisco for you.";

    /// <summary>A Messages answer with a text block and one tool_use block, stop_reason tool_use.</summary>
    public const string AnthropicToolUse = $$"""
        {
          "id": "msg_01Aq9w938a90dw8q",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [
            { "type": "text", "text": "{{AnthropicPreamble}}" },
            { "type": "tool_use", "id": "{{AnthropicToolUseId}}", "name": "get_weather", "input": { "location": "San Francisco, CA", "unit": "celsius" } }
          ],
          "stop_reason": "tool_use",
          "stop_sequence": null,
          "usage": { "input_tokens": 384, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 57, "service_tier": "standard" }
        }
        """;

    /// <summary>Two tool_use blocks in one answer (Anthropic's parallel tool use).</summary>
    public const string AnthropicParallelToolUse = $$"""
        {
          "id": "msg_01Bq9w938a90dw8r",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [
            { "type": "tool_use", "id": "{{AnthropicToolUseId}}", "name": "get_weather", "input": { "location": "San Francisco, CA", "unit": "celsius" } },
            { "type": "tool_use", "id": "{{AnthropicSecondToolUseId}}", "name": "get_time", "input": { "timezone": "America/Los_Angeles" } }
          ],
          "stop_reason": "tool_use",
          "stop_sequence": null,
          "usage": { "input_tokens": 420, "output_tokens": 96 }
        }
        """;

    private static string Event(string name, string data) => $"event: {name}\ndata: {data}\n\n";

    /// <summary>The streamed form of <see cref="AnthropicToolUse"/>: a text block, then a tool_use block whose input arrives as input_json_delta fragments.</summary>
    public static string[] AnthropicToolUseStream =>
    [
        Event("message_start", """{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"""),
        Event("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
        Event("ping", """{"type": "ping"}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check the current weather"}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" in San Francisco for you."}}"""),
        Event("content_block_stop", """{"type":"content_block_stop","index":0}"""),
        Event("content_block_start", $$$$"""{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"{{{{AnthropicToolUseId}}}}","name":"get_weather","input":{}}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\", \"unit\": \"celsius\"}"}}"""),
        Event("content_block_stop", """{"type":"content_block_stop","index":1}"""),
        Event("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"""),
        Event("message_stop", """{"type":"message_stop"}"""),
    ];

    /// <summary>The streamed form of <see cref="AnthropicParallelToolUse"/>.</summary>
    public static string[] AnthropicParallelToolUseStream =>
    [
        Event("message_start", """{"type":"message_start","message":{"id":"msg_01Bq9w938a90dw8r","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":420,"output_tokens":1},"content":[],"stop_reason":null}}"""),
        Event("content_block_start", $$$$"""{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"{{{{AnthropicToolUseId}}}}","name":"get_weather","input":{}}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Francisco, CA\","}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" \"unit\": \"celsius\"}"}}"""),
        Event("content_block_stop", """{"type":"content_block_stop","index":0}"""),
        Event("content_block_start", $$$$"""{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"{{{{AnthropicSecondToolUseId}}}}","name":"get_time","input":{}}}"""),
        Event("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"timezone\": \"America/Los_Angeles\"}"}}"""),
        Event("content_block_stop", """{"type":"content_block_stop","index":1}"""),
        Event("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":96}}"""),
        Event("message_stop", """{"type":"message_stop"}"""),
    ];

    // ---- OpenAI chat completions ----

    public const string OpenAiCallId = "call_DdmO9pD3xa9XTPNJ32zg2hcA";
    public const string OpenAiSecondCallId = "call_ABe8c1l3jw9cQbdyXo0pP5Zm";

    /// <summary>A chat completion with one function call, content null, finish_reason tool_calls.</summary>
    public const string OpenAiToolCall = $$"""
        {
          "id": "chatcmpl-9pW2Xb0kVtJ8kRoa",
          "object": "chat.completion",
          "created": 1722000000,
          "model": "gpt-4o-mini-2024-07-18",
          "choices": [
            {
              "index": 0,
              "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [
                  { "id": "{{OpenAiCallId}}", "type": "function", "function": { "name": "get_weather", "arguments": "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}" } }
                ],
                "refusal": null
              },
              "logprobs": null,
              "finish_reason": "tool_calls"
            }
          ],
          "usage": { "prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99, "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 }, "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 } },
          "system_fingerprint": "fp_0ba0d124f1"
        }
        """;

    /// <summary>Two function calls in one answer (parallel_tool_calls).</summary>
    public const string OpenAiParallelToolCalls = $$"""
        {
          "id": "chatcmpl-9pW2Xb0kVtJ8kRob",
          "object": "chat.completion",
          "created": 1722000001,
          "model": "gpt-4o-mini-2024-07-18",
          "choices": [
            {
              "index": 0,
              "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [
                  { "id": "{{OpenAiCallId}}", "type": "function", "function": { "name": "get_weather", "arguments": "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}" } },
                  { "id": "{{OpenAiSecondCallId}}", "type": "function", "function": { "name": "get_time", "arguments": "{\"timezone\":\"America/Los_Angeles\"}" } }
                ],
                "refusal": null
              },
              "logprobs": null,
              "finish_reason": "tool_calls"
            }
          ],
          "usage": { "prompt_tokens": 90, "completion_tokens": 40, "total_tokens": 130 },
          "system_fingerprint": "fp_0ba0d124f1"
        }
        """;

    private static string Chunk(string choices) =>
        $$"""data: {"id":"chatcmpl-9pW3","object":"chat.completion.chunk","created":1722000002,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":{{choices}}}""" + "\n\n";

    private const string UsageChunk =
        """data: {"id":"chatcmpl-9pW3","object":"chat.completion.chunk","created":1722000002,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99}}""" + "\n\n";

    /// <summary>The streamed form of <see cref="OpenAiToolCall"/>: id and name in the first delta, arguments in fragments.</summary>
    public static string[] OpenAiToolCallStream =>
    [
        Chunk($$$"""[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"{{{OpenAiCallId}}}","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"San"}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" Francisco, CA\",\"unit\":\"celsius\"}"}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]"""),
        UsageChunk,
        "data: [DONE]\n\n",
    ];

    /// <summary>The streamed form of <see cref="OpenAiParallelToolCalls"/>: the second call starts at index 1.</summary>
    public static string[] OpenAiParallelToolCallStream =>
    [
        Chunk($$$"""[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"{{{OpenAiCallId}}}","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"San Francisco, CA\","}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"unit\":\"celsius\"}"}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk($$$"""[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"{{{OpenAiSecondCallId}}}","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"timezone\":\"America/Los_Angeles\"}"}}]},"logprobs":null,"finish_reason":null}]"""),
        Chunk("""[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]"""),
        UsageChunk,
        "data: [DONE]\n\n",
    ];
}

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// OpenAI Responses API answers as the API sends them (the Response object and the streaming events of the API
/// reference: response.created … response.completed), for an OpenAI upstream to relay verbatim.
/// </summary>
internal static class RecordedResponses
{
    public const string Text = "In a peaceful grove beneath a silver moon, a unicorn named Lumina slept.";
    public const string MessageId = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
    public const string FunctionItemId = "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0";
    public const string CallId = "call_unLAR8MvFNptuiZK6K6HCy5k";

    public const string TextItem = $$"""
        { "type": "message", "id": "{{MessageId}}", "status": "completed", "role": "assistant",
          "content": [ { "type": "output_text", "text": "{{Text}}", "annotations": [] } ] }
        """;

    public const string FunctionCallItem = $$"""
        { "type": "function_call", "id": "{{FunctionItemId}}", "call_id": "{{CallId}}", "name": "get_weather",
          "arguments": "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}", "status": "completed" }
        """;

    /// <summary>A Response object; <paramref name="status"/> in_progress with no output is the shape of response.created.</summary>
    public static string Response(string id, string status, string output, string? usage = """{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123}""") => $$"""
        {
          "id": "{{id}}",
          "object": "response",
          "created_at": 1741476542,
          "status": "{{status}}",
          "error": null,
          "incomplete_details": null,
          "instructions": null,
          "max_output_tokens": null,
          "model": "gpt-4.1-2025-04-14",
          "output": [{{output}}],
          "parallel_tool_calls": true,
          "previous_response_id": null,
          "reasoning": { "effort": null, "summary": null },
          "store": true,
          "temperature": 1.0,
          "text": { "format": { "type": "text" } },
          "tool_choice": "auto",
          "tools": [],
          "top_p": 1.0,
          "truncation": "disabled",
          "usage": {{usage ?? "null"}},
          "user": null,
          "metadata": {}
        }
        """;

    private static string Event(string type, string data) =>
        $"event: {type}\ndata: {data.ReplaceLineEndings(" ")}\n\n";

    public static string[] TextStream(string id) =>
    [
        Event("response.created", $$$$"""{"type":"response.created","sequence_number":0,"response":{{{{Response(id, "in_progress", "", null)}}}}}"""),
        Event("response.in_progress", $$$$"""{"type":"response.in_progress","sequence_number":1,"response":{{{{Response(id, "in_progress", "", null)}}}}}"""),
        Event("response.output_item.added", $$$$"""{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"{{{{MessageId}}}}","type":"message","status":"in_progress","content":[],"role":"assistant"}}"""),
        Event("response.content_part.added", $$$$"""{"type":"response.content_part.added","sequence_number":3,"item_id":"{{{{MessageId}}}}","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}"""),
        Event("response.output_text.delta", $$$$"""{"type":"response.output_text.delta","sequence_number":4,"item_id":"{{{{MessageId}}}}","output_index":0,"content_index":0,"delta":"In a peaceful grove beneath a silver moon,"}"""),
        Event("response.output_text.delta", $$$$"""{"type":"response.output_text.delta","sequence_number":5,"item_id":"{{{{MessageId}}}}","output_index":0,"content_index":0,"delta":" a unicorn named Lumina slept."}"""),
        Event("response.output_text.done", $$$$"""{"type":"response.output_text.done","sequence_number":6,"item_id":"{{{{MessageId}}}}","output_index":0,"content_index":0,"text":"{{{{Text}}}}"}"""),
        Event("response.content_part.done", $$$$"""{"type":"response.content_part.done","sequence_number":7,"item_id":"{{{{MessageId}}}}","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":"{{{{Text}}}}"}}"""),
        Event("response.output_item.done", $$$$"""{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{{{{TextItem}}}}}"""),
        Event("response.completed", $$$$"""{"type":"response.completed","sequence_number":9,"response":{{{{Response(id, "completed", TextItem)}}}}}"""),
    ];

    public static string[] FunctionCallStream(string id) =>
    [
        Event("response.created", $$$$"""{"type":"response.created","sequence_number":0,"response":{{{{Response(id, "in_progress", "", null)}}}}}"""),
        Event("response.output_item.added", $$$$"""{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"{{{{FunctionItemId}}}}","type":"function_call","status":"in_progress","arguments":"","call_id":"{{{{CallId}}}}","name":"get_weather"}}"""),
        Event("response.function_call_arguments.delta", $$$$"""{"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"{{{{FunctionItemId}}}}","output_index":0,"delta":"{\"location\":\"San Francisco, CA\","}"""),
        Event("response.function_call_arguments.delta", $$$$"""{"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"{{{{FunctionItemId}}}}","output_index":0,"delta":"\"unit\":\"celsius\"}"}"""),
        Event("response.function_call_arguments.done", $$$$"""{"type":"response.function_call_arguments.done","sequence_number":4,"item_id":"{{{{FunctionItemId}}}}","output_index":0,"arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"}"""),
        Event("response.output_item.done", $$$$"""{"type":"response.output_item.done","sequence_number":5,"output_index":0,"item":{{{{FunctionCallItem}}}}}"""),
        Event("response.completed", $$$$"""{"type":"response.completed","sequence_number":6,"response":{{{{Response(id, "completed", FunctionCallItem)}}}}}"""),
    ];
}

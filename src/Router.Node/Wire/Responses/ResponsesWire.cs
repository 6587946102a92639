using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Responses;

/// <summary>
/// OpenAI's Responses API (<c>POST /v1/responses</c>) to and from the canonical model, for the upstreams that do not
/// speak it (<c>anthropic</c>, <c>simulated</c>); an <c>openai</c> upstream gets the client's body as it is.
/// Pure: no I/O, no clock. Shapes follow the API reference (openai-openapi, openai-python <c>types/responses</c>).
/// </summary>
public static class ResponsesWire
{
    /// <summary>
    /// Maps a client's request into the canonical model (<see cref="WireFormat.OpenAiResponses"/>, with
    /// <paramref name="rawBody"/> kept for passthrough). <c>input</c> is a string (one user message) or items:
    /// messages (roles system/developer become System, <c>input_text</c>/<c>output_text</c>/<c>input_image</c> parts),
    /// <c>function_call</c> items (consecutive ones join the assistant turn before them) and
    /// <c>function_call_output</c> items (Tool messages; their <c>call_id</c> must answer an earlier call);
    /// <c>instructions</c> comes first as a System message.
    /// </summary>
    /// <remarks>
    /// Fields the canonical model cannot hold are listed in <see cref="ChatRequest.UnmappedFields"/> (in OpenAI's
    /// notation: <c>previous_response_id</c>, <c>tools[1]</c>, <c>input[3]</c>, <c>reasoning.summary</c>…) so that
    /// only a passthrough upstream takes them; the rest are translated. Settings that change nothing outside
    /// OpenAI (<c>store</c>, <c>metadata</c>, <c>service_tier</c>, <c>prompt_cache_key</c>,
    /// <c>prompt_cache_retention</c>, <c>safety_identifier</c>, <c>stream_options</c>) are accepted and not carried.
    /// A 400 (<see cref="Router.Contracts.Errors.RouterException"/> with <c>param</c>) only for what OpenAI rejects too.
    /// </remarks>
    public static ChatRequest ParseRequest(JsonElement root, ReadOnlyMemory<byte> rawBody) =>
        ResponsesRequestParser.Parse(root, rawBody);

    /// <summary>
    /// Writes the canonical answer as a Responses <c>response</c> object: one assistant <c>message</c> item when there
    /// is text or a refusal (or nothing else), then one <c>function_call</c> item per tool call, usage with its details, and the
    /// settings of <paramref name="request"/> echoed as the real API does. Visible reasoning
    /// (<see cref="ReasoningPart"/>) is not written: OpenAI's reasoning items are encrypted and summarised, and an
    /// Anthropic thinking block is neither, so no client could send it back.
    /// </summary>
    /// <param name="id">The response id (<c>resp_…</c>); item ids derive from it.</param>
    public static void WriteResponse(Utf8JsonWriter w, string id, long createdAt, string model, ChatCompletion completion, ChatRequest request)
    {
        var response = new ResponseObject(id, createdAt, model, request);
        var output = new List<OutputItem>();
        if (completion.Choices.Count > 0)
        {
            var choice = completion.Choices[0];
            var text = choice.Text;
            // An empty answer still gets its message, so clients that read output[0] find one.
            if (text.Length > 0 || choice.Refusal is not null || choice.ToolCalls.Count == 0)
                output.Add(new MessageItem(response.MessageId(output.Count), ResponseObject.Status(choice.FinishReason), text, choice.Refusal));
            foreach (var call in choice.ToolCalls)
                output.Add(new FunctionCallItem(response.FunctionCallId(output.Count), "completed", call.Id, call.Name, call.ArgumentsJson));
        }
        response.Write(w, completion.FinishReason, output, completion.Usage);
    }

    /// <summary>
    /// Reads an upstream's Responses JSON (passthrough) into the canonical model, for metering and for callers that
    /// need the answer itself (gRPC): message text and refusals, function calls, usage with cached and reasoning
    /// tokens, and the finish reason from <c>status</c>/<c>incomplete_details</c>. Other output items (reasoning,
    /// built-in tool calls) are not read. <see cref="ChatCompletion.Raw"/> is left for the caller, who holds the bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">The body is not a response object.</exception>
    public static ChatCompletion ParseResponse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("Responses body: expected a JSON object.");
        var id = UpstreamString(root, "id") ?? "";
        var model = UpstreamString(root, "model") ?? "";
        var parts = new List<ContentPart>();
        var calls = new List<ToolCall>();
        string? refusal = null;
        if (root.TryGetProperty("output", out var output) && output.ValueKind != JsonValueKind.Null)
        {
            if (output.ValueKind != JsonValueKind.Array) throw new InvalidDataException("Responses body: 'output' is not an array.");
            foreach (var item in output.EnumerateArray())
            {
                switch (UpstreamString(item, "type"))
                {
                    case "message":
                        if (!item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array) break;
                        foreach (var part in content.EnumerateArray())
                        {
                            switch (UpstreamString(part, "type"))
                            {
                                case "output_text":
                                    parts.Add(new TextPart(UpstreamString(part, "text") ?? ""));
                                    break;
                                case "refusal":
                                    refusal = (refusal ?? "") + UpstreamString(part, "refusal");
                                    break;
                            }
                        }
                        break;
                    case "function_call":
                        calls.Add(new ToolCall(
                            UpstreamString(item, "call_id") ?? "", UpstreamString(item, "name") ?? "", UpstreamString(item, "arguments") ?? ""));
                        break;
                }
            }
        }
        var usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object ? ReadUsage(u) : new TokenUsage(0, 0);
        var choice = new ChatChoice(0, parts, calls, FinishReasonOf(root, calls.Count > 0)) { Refusal = refusal };
        return new ChatCompletion(id, model, [choice], usage);
    }

    /// <summary>A Responses <c>usage</c> object (its details are optional for older upstreams).</summary>
    internal static TokenUsage ReadUsage(JsonElement usage)
    {
        var input = usage.TryGetProperty("input_tokens_details", out var i) && i.ValueKind == JsonValueKind.Object ? i : default;
        var output = usage.TryGetProperty("output_tokens_details", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
        return new TokenUsage(UpstreamInt(usage, "input_tokens"), UpstreamInt(usage, "output_tokens"))
        {
            CachedInputTokens = UpstreamInt(input, "cached_tokens"),
            CacheWriteInputTokens = UpstreamInt(input, "cache_write_tokens"),
            ReasoningTokens = UpstreamInt(output, "reasoning_tokens"),
        };
    }

    /// <summary>Why a response ended: incomplete for max_output_tokens or content_filter, else tool calls or stop.</summary>
    internal static FinishReason FinishReasonOf(JsonElement response, bool hasToolCalls)
    {
        if (UpstreamString(response, "status") == "incomplete"
            && response.TryGetProperty("incomplete_details", out var details) && details.ValueKind == JsonValueKind.Object)
        {
            switch (UpstreamString(details, "reason"))
            {
                case "max_output_tokens": return FinishReason.Length;
                case "content_filter": return FinishReason.ContentFilter;
            }
        }
        return hasToolCalls ? FinishReason.ToolCalls : FinishReason.Stop;
    }

    internal static string? UpstreamString(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new InvalidDataException($"Responses body: '{name}' is not a string.");
        return v.GetString();
    }

    internal static int UpstreamInt(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n)) throw new InvalidDataException($"Responses body: '{name}' is not an integer.");
        return n;
    }
}

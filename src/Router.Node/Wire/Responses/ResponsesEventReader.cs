using System.Text.Json;
using Router.Contracts.Chat;
using static Router.Node.Wire.Responses.ResponsesWire;

namespace Router.Node.Wire.Responses;

/// <summary>
/// An upstream's Responses SSE events (passthrough) → canonical events, for metering and for callers that need the
/// answer itself: <c>response.created</c> → <see cref="StreamStarted"/>; <c>response.output_text.delta</c> →
/// <see cref="ContentDelta"/>; a <c>function_call</c> item's <c>output_item.added</c> → <see cref="ToolCallStarted"/>
/// and its <c>function_call_arguments.delta</c> → <see cref="ToolCallDelta"/>; <c>response.completed</c> /
/// <c>response.incomplete</c> → <see cref="Usage"/> and the finish reason, given by <see cref="Finish"/>.
/// </summary>
/// <remarks>
/// The caller handles <c>error</c> and <c>response.failed</c> itself (they are failures, not answers). Other events
/// (reasoning, refusals, built-in tools, the <c>.done</c> events) carry nothing the canonical stream lacks.
/// One reader per stream; not thread-safe.
/// </remarks>
public sealed class ResponsesEventReader
{
    // output_index → canonical tool-call index (calls are numbered in the order they start).
    private readonly Dictionary<int, int> _toolIndex = [];
    private FinishReason? _finish;

    /// <summary>True once <c>response.completed</c> or <c>response.incomplete</c> was read.</summary>
    public bool Completed { get; private set; }

    /// <summary>The usage of the final response event, when it was read.</summary>
    public TokenUsage? Usage { get; private set; }

    /// <summary>Appends to <paramref name="events"/> the canonical events of one SSE event.</summary>
    /// <param name="eventType">The SSE <c>event:</c> name; when empty, the data's <c>type</c>.</param>
    /// <exception cref="InvalidDataException">The event is not the shape the Responses API sends.</exception>
    public void Read(string eventType, JsonElement data, List<ChatStreamEvent> events)
    {
        if (data.ValueKind != JsonValueKind.Object) throw new InvalidDataException("Responses event: data is not a JSON object.");
        var type = string.IsNullOrEmpty(eventType) ? UpstreamString(data, "type") : eventType;
        switch (type)
        {
            case "response.created":
                if (UpstreamString(Response(data), "id") is { Length: > 0 } id) events.Add(new StreamStarted(id));
                break;
            case "response.output_text.delta":
                if (UpstreamString(data, "delta") is { Length: > 0 } text) events.Add(new ContentDelta(text));
                break;
            case "response.output_item.added":
                if (!data.TryGetProperty("item", out var item) || UpstreamString(item, "type") != "function_call") break;
                var index = _toolIndex.Count;
                _toolIndex[OutputIndex(data)] = index;
                events.Add(new ToolCallStarted(index, UpstreamString(item, "call_id") ?? "", UpstreamString(item, "name") ?? ""));
                if (UpstreamString(item, "arguments") is { Length: > 0 } args) events.Add(new ToolCallDelta(index, args));
                break;
            case "response.function_call_arguments.delta":
                if (!_toolIndex.TryGetValue(OutputIndex(data), out var call))
                    throw new InvalidDataException("Responses event: function call arguments for an item that was never added.");
                if (UpstreamString(data, "delta") is { Length: > 0 } fragment) events.Add(new ToolCallDelta(call, fragment));
                break;
            case "response.completed" or "response.incomplete":
                var response = Response(data);
                Completed = true;
                if (response.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object) Usage = ReadUsage(usage);
                _finish = FinishReasonOf(response, _toolIndex.Count > 0);
                break;
        }
    }

    /// <summary>
    /// The stream's last event: the reason read from the final response event, or (when the stream ended without
    /// one) tool calls if any started, else stop.
    /// </summary>
    public StreamFinished Finish() =>
        new(_finish ?? (_toolIndex.Count > 0 ? FinishReason.ToolCalls : FinishReason.Stop), Usage);

    private static JsonElement Response(JsonElement data)
    {
        if (!data.TryGetProperty("response", out var r) || r.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("Responses event: 'response' is not an object.");
        return r;
    }

    private static int OutputIndex(JsonElement data)
    {
        if (!data.TryGetProperty("output_index", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw new InvalidDataException("Responses event: 'output_index' is missing or not an integer.");
        return i;
    }
}

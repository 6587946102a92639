using System.Text.Json;
using Router.Contracts.Chat;
using static Router.Node.Wire.OpenAi.OpenAiJson;

namespace Router.Node.Wire.OpenAi;

/// <summary>
/// Turns an upstream's <c>chat.completion.chunk</c>s into canonical stream events. Feed the JSON of every
/// <c>data:</c> line except <c>[DONE]</c> (error chunks are the caller's); call <see cref="Finish"/> for the last event.
/// </summary>
/// <remarks>
/// Only choice 0 is read: canonical stream events carry no choice index. A streamed <c>refusal</c> is relayed as
/// content, the only text event there is, so a client on another wire still sees why the model declined. Tool calls get
/// canonical indexes in the order they start, whatever indexes the upstream used.
/// </remarks>
public sealed class OpenAiChunkReader
{
    private readonly List<int> _toolIndexes = [];
    private bool _started;
    private string? _finishReason;

    /// <summary>The upstream said why choice 0 ended (relays that omit <c>[DONE]</c> still end cleanly after it).</summary>
    public bool SawFinishReason => _finishReason is not null;

    /// <summary>The usage the upstream reported (OpenAI sends it in a last chunk with no choices).</summary>
    public TokenUsage? Usage { get; private set; }

    /// <summary>Appends the events <paramref name="chunk"/> carries to <paramref name="events"/>.</summary>
    /// <exception cref="InvalidDataException">A tool-call fragment does not fit the calls started so far.</exception>
    public void Read(JsonElement chunk, List<ChatStreamEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (chunk.ValueKind != JsonValueKind.Object) throw new InvalidDataException("A stream chunk is not a JSON object.");
        if (!_started && GetStringOrNull(chunk, "id") is { Length: > 0 } id)
        {
            _started = true;
            events.Add(new StreamStarted(id));
        }
        if (chunk.TryGetProperty("usage", out var u) && OpenAiChatWire.ReadUsage(u) is { } usage) Usage = usage;
        if (!chunk.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array) return;

        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.ValueKind != JsonValueKind.Object) continue;
            if (choice.TryGetProperty("index", out var ix) && !(ix.ValueKind == JsonValueKind.Number && ix.TryGetInt32(out var i) && i == 0)) continue;
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object) ReadDelta(delta, events);
            if (GetStringOrNull(choice, "finish_reason") is { } reason) _finishReason = reason;
        }
    }

    private void ReadDelta(JsonElement delta, List<ChatStreamEvent> events)
    {
        if (GetStringOrNull(delta, "content") is { Length: > 0 } text) events.Add(new ContentDelta(text));
        if (GetStringOrNull(delta, "refusal") is { Length: > 0 } refusal) events.Add(new ContentDelta(refusal));
        if (!delta.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array) return;

        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object) throw new InvalidDataException("A tool-call fragment is not a JSON object.");
            var fn = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
            var callId = GetStringOrNull(call, "id");
            var upstreamIndex = call.TryGetProperty("index", out var ix) && ix.ValueKind == JsonValueKind.Number && ix.TryGetInt32(out var iv)
                ? iv
                // Relays that leave out the index: a fragment with an id starts the next call, one without continues the last.
                : callId is { Length: > 0 } ? NextFreeIndex() : LastIndex();
            var index = _toolIndexes.IndexOf(upstreamIndex);
            if (index < 0)
            {
                var name = GetStringOrNull(fn, "name");
                if (string.IsNullOrEmpty(callId) || string.IsNullOrEmpty(name))
                    throw new InvalidDataException($"Tool call {upstreamIndex} was continued before it started (no id or function name).");
                index = _toolIndexes.Count;
                _toolIndexes.Add(upstreamIndex);
                events.Add(new ToolCallStarted(index, callId, name));
            }
            if (GetStringOrNull(fn, "arguments") is { Length: > 0 } arguments) events.Add(new ToolCallDelta(index, arguments));
        }
    }

    private int NextFreeIndex()
    {
        var max = -1;
        foreach (var i in _toolIndexes) max = Math.Max(max, i);
        return max + 1;
    }

    private int LastIndex() => _toolIndexes.Count > 0 ? _toolIndexes[^1] : -1;

    /// <summary>The stream's last event: why it ended (stop when the upstream never said) and the usage when seen.</summary>
    public StreamFinished Finish() => new(OpenAiChatWire.MapFinishReason(_finishReason), Usage);
}

using System.Text.Json;
using Router.Contracts.Chat;
using static Router.Node.Wire.Completions.CompletionsWire;

namespace Router.Node.Wire.Completions;

/// <summary>
/// An upstream's legacy completions chunks (passthrough) → canonical events, for metering: the first chunk's id →
/// <see cref="StreamStarted"/>, the first answer's text → <see cref="ContentDelta"/>, its <c>finish_reason</c> and the
/// usage chunk → <see cref="Finish"/>. Answers beyond the first (<c>n</c> &gt; 1) are not read as text: the
/// canonical stream holds one answer, and the usage chunk already counts them all.
/// </summary>
/// <remarks>The caller handles <c>[DONE]</c> and error bodies. One reader per stream; not thread-safe.</remarks>
public sealed class CompletionsChunkReader
{
    private bool _started;
    private FinishReason _finish = FinishReason.Stop;

    /// <summary>True once the first answer's <c>finish_reason</c> was read (a stream without one was cut off).</summary>
    public bool SawFinishReason { get; private set; }

    public TokenUsage? Usage { get; private set; }

    /// <exception cref="InvalidDataException">The chunk is not a <c>text_completion</c> chunk.</exception>
    public void Read(JsonElement chunk, List<ChatStreamEvent> events)
    {
        if (chunk.ValueKind != JsonValueKind.Object) throw new InvalidDataException("Completions chunk: expected a JSON object.");
        if (!_started)
        {
            _started = true;
            if (UpstreamString(chunk, "id") is { Length: > 0 } id) events.Add(new StreamStarted(id));
        }
        if (chunk.TryGetProperty("choices", out var choices) && choices.ValueKind != JsonValueKind.Null)
        {
            if (choices.ValueKind != JsonValueKind.Array) throw new InvalidDataException("Completions chunk: 'choices' is not an array.");
            foreach (var choice in choices.EnumerateArray())
            {
                if (UpstreamInt(choice, "index") != 0) continue;
                if (UpstreamString(choice, "text") is { Length: > 0 } text) events.Add(new ContentDelta(text));
                if (UpstreamString(choice, "finish_reason") is { } reason)
                {
                    SawFinishReason = true;
                    _finish = MapFinishReason(reason);
                }
            }
        }
        if (chunk.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object) Usage = ReadUsage(usage);
    }

    public StreamFinished Finish() => new(_finish, Usage);
}

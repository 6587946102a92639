using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Completions;
using Router.Node.Wire.OpenAi;
using Router.Node.Wire.Responses;

namespace Router.Node.Upstreams;

/// <summary>
/// Reads one OpenAI stream (Chat Completions chunks, Completions chunks or Responses events) event by event. Translated
/// streams become canonical events; passthrough streams are relayed as <see cref="RawStreamEvent"/>s while the wire's
/// reader meters them (usage, finish reason), so the client gets the upstream's own bytes.
/// </summary>
internal sealed class OpenAiStreamState(WireFormat wire, bool passthrough, bool clientWantsUsage, string label, string? apiKey)
{
    private readonly OpenAiChunkReader? _chat = wire == WireFormat.OpenAiChat ? new OpenAiChunkReader() : null;
    private readonly CompletionsChunkReader? _completions = wire == WireFormat.OpenAiCompletions ? new CompletionsChunkReader() : null;
    private readonly ResponsesEventReader? _responses = wire == WireFormat.OpenAiResponses ? new ResponsesEventReader() : null;
    private readonly List<ChatStreamEvent> _scratch = new(4);
    private bool _content;

    /// <summary>The terminal event arrived (<c>[DONE]</c>, or the Responses API's completion event).</summary>
    public bool Done { get; private set; }

    /// <summary>No terminal event, but a finish reason arrived: relays that omit <c>[DONE]</c> still ended cleanly.</summary>
    public bool EndedCleanly => _chat?.SawFinishReason ?? _completions?.SawFinishReason ?? false;

    public string CutMessage => wire == WireFormat.OpenAiResponses ? "ended the stream before response.completed" : "ended the stream before [DONE]";

    public void Read(string eventType, byte[] data, List<ChatStreamEvent> output)
    {
        if (wire != WireFormat.OpenAiResponses && data.AsSpan().SequenceEqual("[DONE]"u8))
        {
            Done = true;
            if (passthrough) output.Add(new RawStreamEvent(wire, null, data));
            return;
        }
        using var doc = Parse(data);
        var root = doc.RootElement;
        var type = wire == WireFormat.OpenAiResponses ? ResponsesType(eventType, root) : null;
        ThrowIfError(root, type);

        _scratch.Clear();
        try
        {
            if (_chat is not null) _chat.Read(root, _scratch);
            else if (_completions is not null) _completions.Read(root, _scratch);
            else _responses!.Read(type!, root, _scratch);
        }
        catch (InvalidDataException ex)
        {
            throw UpstreamFailures.Invalid(label, "sent a malformed stream event: " + ex.Message);
        }
        if (_responses is { Completed: true }) Done = true;

        if (!passthrough)
        {
            output.AddRange(_scratch);
            return;
        }
        // A usage-only chunk Router asked for on its own behalf stays here.
        if (!clientWantsUsage && wire != WireFormat.OpenAiResponses && IsUsageOnly(root)) return;
        var carriesContent = false;
        foreach (var e in _scratch)
        {
            if (e is StreamStarted) output.Add(e);
            else carriesContent = true;
        }
        _content |= carriesContent;
        output.Add(new RawStreamEvent(wire, wire == WireFormat.OpenAiResponses ? eventType : null, data, IsPreamble: !_content));
    }

    public StreamFinished Finish() => _chat?.Finish() ?? _completions?.Finish() ?? _responses!.Finish();

    private JsonDocument Parse(byte[] data)
    {
        try
        {
            return JsonDocument.Parse(data);
        }
        catch (JsonException ex)
        {
            throw UpstreamFailures.Invalid(label, $"sent a stream event that is not JSON ({ex.Message})");
        }
    }

    private static string ResponsesType(string eventType, JsonElement root) =>
        eventType is not (System.Net.ServerSentEvents.SseParser.EventTypeDefault or "")
            ? eventType
            : root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";

    private void ThrowIfError(JsonElement root, string? responsesType)
    {
        if (responsesType is "error")
            throw UpstreamFailures.FromStreamError(UpstreamFailures.ErrorOf(root), label, apiKey);
        if (responsesType is "response.failed")
        {
            var error = root.TryGetProperty("response", out var resp) && resp.TryGetProperty("error", out var e) ? e : default;
            throw UpstreamFailures.FromStreamError(UpstreamFailures.ErrorOf(error), label, apiKey);
        }
        if (responsesType is null && root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var chatError)
            && chatError.ValueKind == JsonValueKind.Object)
            throw UpstreamFailures.FromStreamError(UpstreamFailures.ErrorOf(chatError), label, apiKey);
    }

    private static bool IsUsageOnly(JsonElement root) =>
        root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("choices", out var c) && c.ValueKind == JsonValueKind.Array && c.GetArrayLength() == 0;
}

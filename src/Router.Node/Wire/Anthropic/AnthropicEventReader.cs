using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Anthropic;

/// <summary>
/// Turns an Anthropic Messages event stream (one upstream answer) into canonical events, one SSE event at a time.
/// The caller reads the SSE framing, handles <c>error</c> events itself and calls <see cref="Finish"/> after
/// <c>message_stop</c>. Throws <see cref="InvalidDataException"/> on events that contradict the stream so far
/// (a delta for an unknown index, <c>input_json_delta</c> on a text or thinking block, …).
/// </summary>
/// <remarks>
/// <c>ping</c>, <c>citations_delta</c>, unknown event and delta types, and the deltas of block types Router does not
/// model (server tool blocks, which only a passthrough request can provoke) are skipped, as Anthropic asks of clients.
/// When the request asked for a JSON response format, the forced response tool's input deltas come out as
/// <see cref="ContentDelta"/> and its <c>tool_use</c> stop as <see cref="FinishReason.Stop"/>.
/// </remarks>
public sealed class AnthropicEventReader(ChatRequest request)
{
    private enum BlockKind { Text, ToolUse, ResponseTool, Thinking, RedactedThinking, Other }

    private readonly record struct Block(BlockKind Kind, int ToolIndex);

    private readonly string? _responseTool = AnthropicWire.ResponseToolName(request);
    private readonly Dictionary<int, Block> _blocks = [];
    private UsageCounts _usage;
    private int _toolCalls;
    private bool _usedResponseTool;
    private string? _stopReason;
    private string? _stopSequence;

    /// <summary><c>message_stop</c> has been read.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The usage so far (message_start's, then message_delta's), or null before any.</summary>
    public TokenUsage? Usage => _usage.Seen ? _usage.ToTokenUsage() : null;

    /// <param name="eventType">The SSE event name; when a relay dropped it (null, empty or <c>message</c>), the data's <c>type</c> is used.</param>
    public void Read(string eventType, JsonElement data, List<ChatStreamEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (string.IsNullOrEmpty(eventType) || eventType == "message") eventType = AnthropicWire.Str(data, "type") ?? "";
        switch (eventType)
        {
            case "message_start":
                if (data.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                {
                    if (AnthropicWire.Str(message, "id") is { Length: > 0 } id) events.Add(new StreamStarted(id));
                    if (message.TryGetProperty("usage", out var startUsage)) _usage.Apply(startUsage);
                }
                break;
            case "content_block_start":
                Start(data, events);
                break;
            case "content_block_delta":
                Delta(data, events);
                break;
            case "content_block_stop":
                if (!_blocks.ContainsKey(Index(data))) throw new InvalidDataException($"content_block_stop for unknown index {Index(data)}.");
                break;
            case "message_delta":
                if (data.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    _stopReason = AnthropicWire.Str(delta, "stop_reason") ?? _stopReason;
                    _stopSequence = AnthropicWire.Str(delta, "stop_sequence") ?? _stopSequence;
                }
                if (data.TryGetProperty("usage", out var usage)) _usage.Apply(usage);
                break;
            case "message_stop":
                Stopped = true;
                break;
        }
    }

    /// <summary>The closing event: why the answer ended and the usage the upstream reported.</summary>
    public StreamFinished Finish() =>
        new(AnthropicWire.MapStopReason(_stopReason, _usedResponseTool), Usage) { StopSequence = _stopSequence };

    private void Start(JsonElement data, List<ChatStreamEvent> events)
    {
        var index = Index(data);
        if (_blocks.ContainsKey(index)) throw new InvalidDataException($"content_block_start repeats index {index}.");
        if (!data.TryGetProperty("content_block", out var block) || block.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("content_block_start without a content_block.");
        switch (AnthropicWire.Str(block, "type"))
        {
            case "text":
                _blocks[index] = new Block(BlockKind.Text, -1);
                if (AnthropicWire.Str(block, "text") is { Length: > 0 } text) events.Add(new ContentDelta(text));
                break;
            case "tool_use":
                var name = AnthropicWire.Str(block, "name") ?? throw new InvalidDataException("A tool_use block has no name.");
                if (name == _responseTool)
                {
                    _blocks[index] = new Block(BlockKind.ResponseTool, -1);
                    _usedResponseTool = true;
                    break;
                }
                var id = AnthropicWire.Str(block, "id") ?? throw new InvalidDataException("A tool_use block has no id.");
                _blocks[index] = new Block(BlockKind.ToolUse, _toolCalls);
                events.Add(new ToolCallStarted(_toolCalls++, id, name));
                break;
            case "thinking":
                _blocks[index] = new Block(BlockKind.Thinking, -1);
                if (AnthropicWire.Str(block, "thinking") is { Length: > 0 } thinking) events.Add(new ReasoningDelta(thinking));
                if (AnthropicWire.Str(block, "signature") is { Length: > 0 } signature) events.Add(new ReasoningDelta(null, signature));
                break;
            case "redacted_thinking":
                _blocks[index] = new Block(BlockKind.RedactedThinking, -1);
                events.Add(new ReasoningDelta(null) { RedactedData = AnthropicWire.Str(block, "data") ?? "" });
                break;
            default:
                _blocks[index] = new Block(BlockKind.Other, -1);
                break;
        }
    }

    private void Delta(JsonElement data, List<ChatStreamEvent> events)
    {
        var index = Index(data);
        if (!_blocks.TryGetValue(index, out var block)) throw new InvalidDataException($"content_block_delta for unknown index {index}.");
        if (!data.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("content_block_delta without a delta.");
        if (block.Kind == BlockKind.Other) return;

        var type = AnthropicWire.Str(delta, "type");
        switch (type)
        {
            case "text_delta":
                Expect(block, BlockKind.Text, type, index);
                if (AnthropicWire.Str(delta, "text") is { Length: > 0 } text) events.Add(new ContentDelta(text));
                break;
            case "input_json_delta":
                if (block.Kind is not (BlockKind.ToolUse or BlockKind.ResponseTool))
                    throw new InvalidDataException($"input_json_delta for block {index}, which is not a tool_use block.");
                if (AnthropicWire.Str(delta, "partial_json") is not { Length: > 0 } json) break;
                events.Add(block.Kind == BlockKind.ResponseTool ? new ContentDelta(json) : new ToolCallDelta(block.ToolIndex, json));
                break;
            case "thinking_delta":
                Expect(block, BlockKind.Thinking, type, index);
                if (AnthropicWire.Str(delta, "thinking") is { Length: > 0 } thinking) events.Add(new ReasoningDelta(thinking));
                break;
            case "signature_delta":
                Expect(block, BlockKind.Thinking, type, index);
                if (AnthropicWire.Str(delta, "signature") is { Length: > 0 } signature) events.Add(new ReasoningDelta(null, signature));
                break;
        }
    }

    private static void Expect(Block block, BlockKind kind, string type, int index)
    {
        if (block.Kind != kind) throw new InvalidDataException($"{type} for block {index}, which is a {block.Kind} block.");
    }

    private static int Index(JsonElement data) =>
        data.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out var index)
            ? index
            : throw new InvalidDataException("A content block event has no index.");
}

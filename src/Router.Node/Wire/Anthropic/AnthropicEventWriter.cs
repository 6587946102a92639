using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Anthropic;

/// <summary>
/// Writes canonical stream events to a client as Anthropic's event stream (<c>event: x\ndata: {…}\n\n</c>):
/// <c>message_start</c>; per content block <c>content_block_start</c>, deltas, <c>content_block_stop</c> (one
/// <c>ping</c> after the first block's start, as Anthropic sends it); then <c>message_delta</c> and <c>message_stop</c>.
/// Blocks open lazily: a change of kind (text, thinking, a new tool call) closes the open block and opens the next
/// index. Not thread-safe; one instance per stream.
/// </summary>
/// <param name="promptTokens">Router's count of the prompt, for <c>message_start</c> (the upstream's figure arrives only at the end, in <c>message_delta</c>).</param>
public sealed class AnthropicEventWriter(string id, string model, int promptTokens)
{
    private enum Open { None, Text, Thinking, ToolUse }

    // Anthropic writes non-ASCII text as it is; the default encoder would escape it (and '<', '+', …) needlessly.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Action<Utf8JsonWriter> EmptyText = static w =>
    {
        w.WriteString("type", "text");
        w.WriteString("text", "");
    };

    private static readonly Action<Utf8JsonWriter> EmptyThinking = static w =>
    {
        w.WriteString("type", "thinking");
        w.WriteString("thinking", "");
        w.WriteString("signature", "");
    };

    private Utf8JsonWriter? _json;
    private bool _started;
    private bool _finished;
    private Open _open;
    private int _openIndex;
    private int _nextIndex;
    private int _openToolCall = -1;
    private bool _signed;

    /// <summary>
    /// Writes what <paramref name="e"/> adds to the stream. <see cref="StreamStarted"/> and <see cref="RawStreamEvent"/>
    /// write nothing; <see cref="StreamFinished"/> closes the open block (or writes one empty text block when the answer
    /// had no content, as Anthropic does) and ends the message. Throws <see cref="InvalidDataException"/> for a tool call
    /// delta that does not belong to the open tool call (Anthropic blocks cannot interleave).
    /// </summary>
    public void Write(ChatStreamEvent e, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(output);
        if (e is StreamStarted or RawStreamEvent) return;
        if (_finished) throw new InvalidOperationException("The stream has already finished.");
        EnsureStarted(output);
        switch (e)
        {
            case ContentDelta { Text.Length: > 0 } d:
                if (_open != Open.Text) OpenBlock(Open.Text, output, EmptyText);
                WriteDelta(output, "text_delta", "text", d.Text);
                break;
            case ReasoningDelta { RedactedData: { } data }:
                OpenBlock(Open.Thinking, output, w => { w.WriteString("type", "redacted_thinking"); w.WriteString("data", data); });
                // Redacted thinking arrives whole, in its start event.
                CloseBlock(output);
                break;
            case ReasoningDelta { Text: null or "", Signature: null or "" }:
                break;
            case ReasoningDelta r:
                // A signature ends a thinking block: more thinking after it is a new block.
                if (_open != Open.Thinking || (_signed && r.Text is not null))
                    OpenBlock(Open.Thinking, output, EmptyThinking);
                if (r.Text is { Length: > 0 } thinking)
                    WriteDelta(output, "thinking_delta", "thinking", thinking);
                if (r.Signature is { Length: > 0 } signature)
                {
                    WriteDelta(output, "signature_delta", "signature", signature);
                    _signed = true;
                }
                break;
            case ToolCallStarted t:
                OpenBlock(Open.ToolUse, output, w =>
                {
                    w.WriteString("type", "tool_use");
                    w.WriteString("id", t.Id);
                    w.WriteString("name", t.Name);
                    w.WriteStartObject("input");
                    w.WriteEndObject();
                });
                _openToolCall = t.Index;
                break;
            case ToolCallDelta { ArgumentsFragment.Length: > 0 } a:
                if (_open != Open.ToolUse || _openToolCall != a.Index)
                    throw new InvalidDataException($"Arguments for tool call {a.Index} arrived while it is not the open block.");
                WriteDelta(output, "input_json_delta", "partial_json", a.ArgumentsFragment);
                break;
            case StreamFinished f:
                Finish(f, output);
                break;
        }
    }

    /// <summary>An <c>error</c> event (<c>{"type":"error","error":{"type","message"}}</c>), e.g. when the upstream fails mid-stream.</summary>
    public void WriteError(string type, string message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var w = Begin("error", output);
        w.WriteStartObject();
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteEndObject();
        End(output);
    }

    private void EnsureStarted(IBufferWriter<byte> output)
    {
        if (_started) return;
        _started = true;
        var w = Begin("message_start", output);
        w.WriteStartObject();
        w.WriteString("type", "message_start");
        w.WriteStartObject("message");
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
        w.WriteEndArray();
        w.WriteNull("stop_reason");
        w.WriteNull("stop_sequence");
        AnthropicWire.WriteUsage(w, new TokenUsage(promptTokens, 0));
        w.WriteEndObject();
        w.WriteEndObject();
        End(output);
    }

    private void Finish(StreamFinished f, IBufferWriter<byte> output)
    {
        if (_nextIndex == 0) OpenBlock(Open.Text, output, EmptyText);
        CloseBlock(output);

        var w = Begin("message_delta", output);
        w.WriteStartObject();
        w.WriteString("type", "message_delta");
        w.WriteStartObject("delta");
        w.WriteString("stop_reason", AnthropicWire.StopReason(f.Reason, f.StopSequence));
        if (f.StopSequence is { } sequence) w.WriteString("stop_sequence", sequence); else w.WriteNull("stop_sequence");
        w.WriteEndObject();
        AnthropicWire.WriteUsage(w, f.Usage ?? new TokenUsage(promptTokens, 0));
        w.WriteEndObject();
        End(output);

        w = Begin("message_stop", output);
        w.WriteStartObject();
        w.WriteString("type", "message_stop");
        w.WriteEndObject();
        End(output);
        _finished = true;
    }

    private void OpenBlock(Open kind, IBufferWriter<byte> output, Action<Utf8JsonWriter> contentBlock)
    {
        CloseBlock(output);
        _open = kind;
        _openIndex = _nextIndex++;
        _signed = false;
        var w = Begin("content_block_start", output);
        w.WriteStartObject();
        w.WriteString("type", "content_block_start");
        w.WriteNumber("index", _openIndex);
        w.WriteStartObject("content_block");
        contentBlock(w);
        w.WriteEndObject();
        w.WriteEndObject();
        End(output);

        if (_openIndex == 0)
        {
            w = Begin("ping", output);
            w.WriteStartObject();
            w.WriteString("type", "ping");
            w.WriteEndObject();
            End(output);
        }
    }

    private void CloseBlock(IBufferWriter<byte> output)
    {
        if (_open == Open.None) return;
        var w = Begin("content_block_stop", output);
        w.WriteStartObject();
        w.WriteString("type", "content_block_stop");
        w.WriteNumber("index", _openIndex);
        w.WriteEndObject();
        End(output);
        _open = Open.None;
        _openToolCall = -1;
    }

    private void WriteDelta(IBufferWriter<byte> output, string type, string field, string value)
    {
        var w = Begin("content_block_delta", output);
        w.WriteStartObject();
        w.WriteString("type", "content_block_delta");
        w.WriteNumber("index", _openIndex);
        w.WriteStartObject("delta");
        w.WriteString("type", type);
        w.WriteString(field, value);
        w.WriteEndObject();
        w.WriteEndObject();
        End(output);
    }

    private Utf8JsonWriter Begin(string eventName, IBufferWriter<byte> output)
    {
        Encoding.UTF8.GetBytes("event: ", output);
        Encoding.UTF8.GetBytes(eventName, output);
        Encoding.UTF8.GetBytes("\ndata: ", output);
        if (_json is null) _json = new Utf8JsonWriter(output, JsonOptions);
        else _json.Reset(output);
        return _json;
    }

    private void End(IBufferWriter<byte> output)
    {
        _json!.Flush();
        Encoding.UTF8.GetBytes("\n\n", output);
    }
}

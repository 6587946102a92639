using System.Buffers;
using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.OpenAi;

/// <summary>
/// Writes canonical stream events as OpenAI <c>chat.completion.chunk</c> SSE events (<c>data: {...}\n\n</c>), the way
/// OpenAI streams them: the role only in the first chunk, a tool call's id and name in its first chunk and then
/// argument fragments, a finish chunk with an empty delta, and a usage chunk (no choices) when the client asked for it.
/// </summary>
/// <remarks>
/// <see cref="StreamStarted"/>, <see cref="RawStreamEvent"/> and <see cref="ReasoningDelta"/> write nothing: the id is
/// Router's own, raw events belong to a passthrough relay, and Chat Completions has no field for reasoning.
/// </remarks>
public sealed class OpenAiChunkWriter(string id, long created, string model, bool includeUsage)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private Utf8JsonWriter? _json;
    private bool _roleSent;

    /// <summary>Writes the chunk(s) for <paramref name="e"/>, if it has any.</summary>
    public void Write(ChatStreamEvent e, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(output);
        switch (e)
        {
            case ContentDelta d:
                WriteChunk(output, d, static (w, d) => w.WriteString("content", d.Text), null);
                break;
            case ToolCallStarted s:
                WriteChunk(output, s, static (w, s) =>
                {
                    w.WriteStartArray("tool_calls");
                    w.WriteStartObject();
                    w.WriteNumber("index", s.Index);
                    w.WriteString("id", s.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", s.Name);
                    w.WriteString("arguments", "");
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                }, null, nullContentWithRole: true);
                break;
            case ToolCallDelta a:
                WriteChunk(output, a, static (w, a) =>
                {
                    w.WriteStartArray("tool_calls");
                    w.WriteStartObject();
                    w.WriteNumber("index", a.Index);
                    w.WriteStartObject("function");
                    w.WriteString("arguments", a.ArgumentsFragment);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                }, null);
                break;
            case StreamFinished f:
                WriteChunk(output, f, static (_, _) => { }, f.Reason);
                if (includeUsage && f.Usage is { } usage) WriteUsageChunk(output, usage);
                break;
        }
    }

    /// <summary>Writes the closing <c>data: [DONE]</c>.</summary>
    public void WriteDone(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Done);
    }

    private Utf8JsonWriter Begin(IBufferWriter<byte> output)
    {
        output.Write(DataPrefix);
        if (_json is null) _json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        else _json.Reset(output);
        var w = _json;
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        return w;
    }

    private void End(IBufferWriter<byte> output)
    {
        _json!.WriteEndObject();
        _json.Flush();
        output.Write(EventEnd);
    }

    private void WriteChunk<T>(IBufferWriter<byte> output, T e, Action<Utf8JsonWriter, T> writeDelta, FinishReason? finish, bool nullContentWithRole = false)
    {
        var w = Begin(output);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (!_roleSent)
        {
            _roleSent = true;
            w.WriteString("role", "assistant");
            if (nullContentWithRole) w.WriteNull("content");
        }
        writeDelta(w, e);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finish is { } f) w.WriteString("finish_reason", OpenAiChatWire.FinishReasonText(f));
        else w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        End(output);
    }

    private void WriteUsageChunk(IBufferWriter<byte> output, TokenUsage usage)
    {
        var w = Begin(output);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        OpenAiChatWire.WriteUsage(w, usage);
        End(output);
    }
}

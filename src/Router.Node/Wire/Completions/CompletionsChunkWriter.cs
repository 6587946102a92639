using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Completions;

/// <summary>
/// Canonical stream events → legacy completions SSE: one <c>text_completion</c> chunk per piece of text (the
/// streamed and whole objects share one shape), a last chunk carrying <c>finish_reason</c>, then, when the client
/// asked for <c>stream_options.include_usage</c>, a chunk with no choices and the usage (every earlier chunk then
/// says <c>"usage": null</c>, as OpenAI's do). <see cref="WriteDone"/> ends the stream with <c>[DONE]</c>.
/// </summary>
/// <remarks>
/// Tool calls, reasoning and the upstream's id have no place in a text completion and write nothing.
/// One writer per stream; not thread-safe.
/// </remarks>
public sealed class CompletionsChunkWriter(string id, long created, string model, bool includeUsage)
{
    private Utf8JsonWriter? _json;

    public void Write(ChatStreamEvent e, IBufferWriter<byte> output)
    {
        switch (e)
        {
            case ContentDelta d:
                if (d.Text.Length == 0) return;
                Chunk(output, d.Text, null, null);
                break;
            case StreamFinished f:
                Chunk(output, "", f.Reason, null);
                if (includeUsage && f.Usage is { } u) Chunk(output, null, null, u);
                break;
        }
    }

    public void WriteDone(IBufferWriter<byte> output) => Write(output, "data: [DONE]\n\n"u8);

    /// <param name="text">Null for the usage chunk (no choices).</param>
    private void Chunk(IBufferWriter<byte> output, string? text, FinishReason? finish, TokenUsage? usage)
    {
        Write(output, "data: "u8);
        // Plain UTF-8 and \" as OpenAI writes them (the default encoder's \u0022 is valid but bloats every delta).
        var w = _json ??= new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.Reset(output);
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        if (text is not null)
        {
            w.WriteStartObject();
            w.WriteString("text", text);
            w.WriteNumber("index", 0);
            w.WriteNull("logprobs");
            if (finish is { } f) w.WriteString("finish_reason", CompletionsWire.FinishReasonText(f));
            else w.WriteNull("finish_reason");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (usage is { } u) CompletionsWire.WriteUsage(w, u);
        else if (includeUsage) w.WriteNull("usage");
        w.WriteEndObject();
        w.Flush();
        Write(output, "\n\n"u8);
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }
}

using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Wire.Responses;

/// <summary>
/// Canonical stream events → the Responses SSE sequence (<c>event: &lt;type&gt;</c> / <c>data: {…}</c>), numbered by
/// <c>sequence_number</c> from 0: <c>response.created</c> and <c>response.in_progress</c> before the first content;
/// per text run a <c>message</c> item (<c>output_item.added</c>, <c>content_part.added</c>,
/// <c>output_text.delta</c>…, <c>output_text.done</c>, <c>content_part.done</c>, <c>output_item.done</c>); per tool
/// call a <c>function_call</c> item (<c>output_item.added</c>, <c>function_call_arguments.delta</c>…,
/// <c>function_call_arguments.done</c>, <c>output_item.done</c>); and at the end <c>response.completed</c> (or
/// <c>response.incomplete</c>) carrying the whole response as <see cref="ResponsesWire.WriteResponse"/> writes it.
/// </summary>
/// <remarks>
/// Like the real API, an item is closed before the next one opens, so a tool call's arguments must arrive before the
/// next item starts (every upstream streams calls one after another). One writer per stream; not thread-safe.
/// </remarks>
public sealed class ResponsesEventWriter(string id, long createdAt, string model, ChatRequest request)
{
    private readonly ResponseObject _response = new(id, createdAt, model, request);
    private readonly List<OutputItem> _done = [];
    private readonly StringBuilder _buffer = new();
    private Utf8JsonWriter? _json;
    private int _sequence;
    private bool _started;
    private bool _finished;

    // The open item: a message (its text in _buffer) or a function call (its arguments in _buffer).
    private OpenItem? _open;

    private sealed record OpenItem(int OutputIndex, string ItemId, int ToolIndex, string? CallId, string? Name)
    {
        public bool IsMessage => CallId is null;
    }

    /// <summary>
    /// Writes the SSE events for <paramref name="e"/>. <see cref="StreamStarted"/>, <see cref="RawStreamEvent"/> and
    /// <see cref="ReasoningDelta"/> write nothing (the response id is Router's; visible reasoning has no place in a
    /// Responses stream, see <see cref="ResponsesWire.WriteResponse"/>).
    /// </summary>
    public void Write(ChatStreamEvent e, IBufferWriter<byte> output)
    {
        switch (e)
        {
            case ContentDelta d:
                if (d.Text.Length == 0) return;
                Start(output);
                if (_open is not { IsMessage: true })
                {
                    Close(output, "completed");
                    OpenMessage(output);
                }
                _buffer.Append(d.Text);
                Event(output, "response.output_text.delta", w =>
                {
                    WriteItemRef(w, _open!);
                    w.WriteNumber("content_index", 0);
                    w.WriteString("delta", d.Text);
                    w.WriteStartArray("logprobs");
                    w.WriteEndArray();
                });
                break;
            case ToolCallStarted s:
                Start(output);
                Close(output, "completed");
                OpenFunctionCall(output, s);
                break;
            case ToolCallDelta d:
                if (_open is not { IsMessage: false } call || call.ToolIndex != d.Index)
                    throw new InvalidOperationException(
                        $"Arguments for tool call {d.Index} arrived when it was not the open item; Responses streams items one after another.");
                if (d.ArgumentsFragment.Length == 0) return;
                _buffer.Append(d.ArgumentsFragment);
                Event(output, "response.function_call_arguments.delta", w =>
                {
                    WriteItemRef(w, call);
                    w.WriteString("delta", d.ArgumentsFragment);
                });
                break;
            case StreamFinished f:
                Start(output);
                // An empty answer still gets its (empty) message item, as the JSON answer does.
                if (_open is null && _done.Count == 0) OpenMessage(output);
                Close(output, ResponseObject.Status(f.Reason));
                _finished = true;
                var type = ResponseObject.Status(f.Reason) == "completed" ? "response.completed" : "response.incomplete";
                Event(output, type, w =>
                {
                    w.WritePropertyName("response");
                    _response.Write(w, f.Reason, _done, f.Usage);
                });
                break;
        }
    }

    /// <summary>Writes an <c>error</c> event (the stream failed after it started; nothing follows it).</summary>
    public void WriteError(string code, string message, IBufferWriter<byte> output)
    {
        Event(output, "error", w =>
        {
            w.WriteString("code", code);
            w.WriteString("message", message);
            w.WriteNull("param");
        });
    }

    private void Start(IBufferWriter<byte> output)
    {
        if (_finished) throw new InvalidOperationException("The Responses stream has already finished.");
        if (_started) return;
        _started = true;
        Event(output, "response.created", w =>
        {
            w.WritePropertyName("response");
            _response.Write(w, null, [], null);
        });
        Event(output, "response.in_progress", w =>
        {
            w.WritePropertyName("response");
            _response.Write(w, null, [], null);
        });
    }

    private void OpenMessage(IBufferWriter<byte> output)
    {
        var index = _done.Count;
        var item = new OpenItem(index, _response.MessageId(index), -1, null, null);
        _open = item;
        _buffer.Clear();
        Event(output, "response.output_item.added", w =>
        {
            w.WriteNumber("output_index", index);
            w.WriteStartObject("item");
            w.WriteString("type", "message");
            w.WriteString("id", item.ItemId);
            w.WriteString("status", "in_progress");
            w.WriteString("role", "assistant");
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteEndObject();
        });
        Event(output, "response.content_part.added", w =>
        {
            WriteItemRef(w, item);
            w.WriteNumber("content_index", 0);
            w.WritePropertyName("part");
            ResponseObject.WriteTextPart(w, "");
        });
    }

    private void OpenFunctionCall(IBufferWriter<byte> output, ToolCallStarted s)
    {
        var index = _done.Count;
        var item = new OpenItem(index, _response.FunctionCallId(index), s.Index, s.Id, s.Name);
        _open = item;
        _buffer.Clear();
        Event(output, "response.output_item.added", w =>
        {
            w.WriteNumber("output_index", index);
            w.WritePropertyName("item");
            ResponseObject.WriteItem(w, new FunctionCallItem(item.ItemId, "in_progress", s.Id, s.Name, ""));
        });
    }

    /// <summary>Ends the open item, if any, with its done events; it joins the output the final response carries.</summary>
    private void Close(IBufferWriter<byte> output, string status)
    {
        if (_open is not { } open) return;
        _open = null;
        var text = _buffer.ToString();
        OutputItem done;
        if (open.IsMessage)
        {
            done = new MessageItem(open.ItemId, status, text, null);
            Event(output, "response.output_text.done", w =>
            {
                WriteItemRef(w, open);
                w.WriteNumber("content_index", 0);
                w.WriteString("text", text);
                w.WriteStartArray("logprobs");
                w.WriteEndArray();
            });
            Event(output, "response.content_part.done", w =>
            {
                WriteItemRef(w, open);
                w.WriteNumber("content_index", 0);
                w.WritePropertyName("part");
                ResponseObject.WriteTextPart(w, text);
            });
        }
        else
        {
            // A call's arguments are whole even when the answer was cut short after it.
            done = new FunctionCallItem(open.ItemId, "completed", open.CallId!, open.Name!, text);
            Event(output, "response.function_call_arguments.done", w =>
            {
                WriteItemRef(w, open);
                w.WriteString("name", open.Name);
                w.WriteString("arguments", text);
            });
        }
        _done.Add(done);
        Event(output, "response.output_item.done", w =>
        {
            w.WriteNumber("output_index", open.OutputIndex);
            w.WritePropertyName("item");
            ResponseObject.WriteItem(w, done);
        });
    }

    private static void WriteItemRef(Utf8JsonWriter w, OpenItem item)
    {
        w.WriteString("item_id", item.ItemId);
        w.WriteNumber("output_index", item.OutputIndex);
    }

    private void Event(IBufferWriter<byte> output, string type, Action<Utf8JsonWriter> body)
    {
        Write(output, "event: "u8);
        Encoding.UTF8.GetBytes(type, output);
        Write(output, "\ndata: "u8);
        // Plain UTF-8 and \" as OpenAI writes them (the default encoder's \u0022 is valid but bloats every delta).
        var w = _json ??= new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.Reset(output);
        w.WriteStartObject();
        w.WriteString("type", type);
        body(w);
        w.WriteNumber("sequence_number", _sequence++);
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

using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Batches;

namespace Router.Actors.Batches;

/// <summary>Ids and lines of OpenAI's batch output format that the job itself writes.</summary>
public static class BatchOutput
{
    /// <summary>The id of one result line: stable per batch and custom_id, so a rewritten file keeps its ids.</summary>
    public static string RequestId(string batchId, int lineNumber) => $"batch_req_{batchId.Replace("batch_", "", StringComparison.Ordinal)}_{lineNumber}";

    public static string OutputFileId(string batchId) => "file-" + batchId.Replace("batch_", "", StringComparison.Ordinal) + "-output";

    public static string ErrorFileId(string batchId) => "file-" + batchId.Replace("batch_", "", StringComparison.Ordinal) + "-errors";

    /// <summary>A line for an input line that never became a request.</summary>
    public static string MalformedLine(string batchId, BatchLineError e)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", RequestId(batchId, e.Line));
            if (e.CustomId is null) w.WriteNull("custom_id"); else w.WriteString("custom_id", e.CustomId);
            w.WriteNull("response");
            w.WriteStartObject("error");
            w.WriteString("code", e.Code);
            w.WriteString("message", e.Message);
            w.WriteNumber("line", e.Line);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>JSONL: one line each, newline-terminated.</summary>
    public static byte[] Join(IEnumerable<string> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines) sb.Append(line).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}

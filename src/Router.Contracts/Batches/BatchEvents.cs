using System.Text;
using Router.Contracts.Serialization;

namespace Router.Contracts.Batches;

/// <summary>
/// What a batch job's entity persists. Item results are events (written in groups), so a restarted job knows
/// exactly which custom_ids are done and the output file holds each once. Field names are the stored format.
/// </summary>
public static class BatchEvents
{
    public sealed record BatchCreated(
        string BatchId,
        string KeyId,
        string KeyHash,
        string InputFileId,
        string Endpoint,
        string CompletionWindow,
        int Total,
        IReadOnlyList<BatchLineError> Malformed,
        IReadOnlyDictionary<string, string>? Metadata,
        DateTimeOffset At) : IRouterMessage
    {
        private bool PrintMembers(StringBuilder builder)
        {
            builder.Append($"BatchId = {BatchId}, KeyId = {KeyId}, InputFileId = {InputFileId}, Total = {Total}, Malformed = {Malformed.Count}, At = {At:O}");
            return true;
        }
    }

    /// <summary>One request finished (well or not); <paramref name="Line"/> is its output-file line.</summary>
    /// <param name="Index">0-based position among the input's request lines, for a stable output order.</param>
    public sealed record ItemCompleted(string CustomId, int Index, bool Succeeded, string Line, DateTimeOffset At) : IRouterMessage;

    public sealed record BatchCancelled(DateTimeOffset At) : IRouterMessage;

    /// <summary>The output and error files are written; the job is over.</summary>
    public sealed record BatchFinished(
        BatchJobStatus Status, string? OutputFileId, string? ErrorFileId, int Completed, int Failed, DateTimeOffset At) : IRouterMessage;

    /// <summary>A finished job's summary; once saved, the item events are deleted.</summary>
    public sealed record BatchSnapshot(
        BatchCreated Created,
        BatchJobStatus Status,
        int Completed,
        int Failed,
        string? OutputFileId,
        string? ErrorFileId,
        DateTimeOffset? CancellingAt,
        DateTimeOffset FinishedAt) : IRouterMessage;
}

using System.Text;
using Router.Contracts.Serialization;

namespace Router.Contracts.Batches;

/// <summary>What the HTTP API and the resume sweep say to a batch job's entity, and what it answers.</summary>
public static class BatchCommands
{
    /// <summary>
    /// Creates the job. The input was validated by the caller; the entity re-reads the (immutable) input file
    /// whenever it (re)starts, so the requests themselves are never copied into the journal.
    /// </summary>
    /// <param name="KeyHash">SHA-256 of the owning key: how items are admitted after a restart, when no caller is present.</param>
    /// <param name="Total">Request lines in the input, malformed ones included.</param>
    public sealed record Create(
        string BatchId,
        string KeyId,
        string KeyHash,
        string InputFileId,
        string Endpoint,
        string CompletionWindow,
        int Total,
        IReadOnlyList<BatchLineError> Malformed,
        IReadOnlyDictionary<string, string>? Metadata) : IRouterMessage, IWithBatchId
    {
        private bool PrintMembers(StringBuilder builder)
        {
            builder.Append($"BatchId = {BatchId}, KeyId = {KeyId}, InputFileId = {InputFileId}, Total = {Total}, Malformed = {Malformed.Count}");
            return true;
        }
    }

    public sealed record GetStatus(string BatchId) : IRouterMessage, IWithBatchId;

    public sealed record Cancel(string BatchId) : IRouterMessage, IWithBatchId;

    /// <summary>Wakes the entity so an unfinished job continues (sent by every node's resume sweep).</summary>
    public sealed record Resume(string BatchId) : IRouterMessage, IWithBatchId;

    /// <summary>Answer to <see cref="Resume"/>: finished jobs need no more sweeps.</summary>
    public sealed record Resumed(string BatchId, bool Exists, bool Finished) : IRouterMessage;

    /// <summary>The job as clients see it (OpenAI's batch object, protocol-neutral).</summary>
    public sealed record BatchStatus(
        string BatchId,
        bool Exists,
        string KeyId,
        BatchJobStatus Status,
        string InputFileId,
        string Endpoint,
        string CompletionWindow,
        int Total,
        int Completed,
        int Failed,
        string? OutputFileId,
        string? ErrorFileId,
        DateTimeOffset CreatedAt,
        DateTimeOffset? InProgressAt,
        DateTimeOffset? FinalizingAt,
        DateTimeOffset? CompletedAt,
        DateTimeOffset? FailedAt,
        DateTimeOffset? CancellingAt,
        DateTimeOffset? CancelledAt,
        IReadOnlyDictionary<string, string>? Metadata) : IRouterMessage
    {
        public static BatchStatus NotFound(string batchId) => new(
            batchId, false, "", BatchJobStatus.Failed, "", "", "", 0, 0, 0, null, null, default, null, null, null, null, null, null, null);
    }
}

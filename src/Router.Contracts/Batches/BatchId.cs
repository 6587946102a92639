namespace Router.Contracts.Batches;

/// <summary>
/// Messages for one batch job's entity carry its id (<c>batch_…</c>, the id clients see); the shard extractor
/// routes on it, so every node reaches the one entity that owns the job's progress.
/// </summary>
public interface IWithBatchId
{
    string BatchId { get; }
}

/// <summary>Where a batch job is in its life, as OpenAI names the states.</summary>
public enum BatchJobStatus
{
    Validating,
    InProgress,
    Finalizing,
    Completed,
    Failed,
    Cancelling,
    Cancelled,
}

/// <summary>A line of the input file that could not become a request (reported in the error file).</summary>
/// <param name="Line">1-based line number in the input file.</param>
/// <param name="CustomId">The line's custom_id when it could be read.</param>
/// <param name="Code">A short machine code (<c>invalid_json</c>, <c>missing_custom_id</c>, …).</param>
public sealed record BatchLineError(int Line, string? CustomId, string Code, string Message);

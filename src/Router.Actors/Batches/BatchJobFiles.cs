namespace Router.Actors.Batches;

/// <summary>The file I/O of a batch job, run off the actor (results come back through <c>PipeTo</c>).</summary>
internal static class BatchJobFiles
{
    /// <summary>The job's input, or null when the file is gone; and the owning key's request rate, null when unknown.</summary>
    public static async Task<(BatchInput? Input, int? RequestsPerMinute)> ReadInputAsync(
        IFileStore files, IBatchWork work, BatchJobSpec spec, string inputFileId)
    {
        var content = await files.ReadContentAsync(inputFileId).ConfigureAwait(false);
        if (content is null) return (null, null);
        var input = BatchInput.Parse(content, spec.Endpoint);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return (input, await work.RequestsPerMinuteAsync(spec, timeout.Token).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return (input, null); // unknown limit: Retry-After alone paces the job
        }
    }

    /// <summary>Writes the output and error files (each only when it has lines) and returns their ids.</summary>
    public static async Task<(string? OutputFileId, string? ErrorFileId)> WriteOutputAsync(
        IFileStore files, string batchId, string ownerKeyId, BatchJobOutput output, DateTimeOffset now)
    {
        var outputId = await PutAsync(BatchOutput.OutputFileId(batchId), "output", output.OutputLines).ConfigureAwait(false);
        var errorId = await PutAsync(BatchOutput.ErrorFileId(batchId), "errors", output.ErrorLines).ConfigureAwait(false);
        return (outputId, errorId);

        async Task<string?> PutAsync(string fileId, string suffix, IReadOnlyList<string> lines)
        {
            if (lines.Count == 0) return null;
            var bytes = BatchOutput.Join(lines);
            await files.PutAsync(new StoredFile(fileId, ownerKeyId, "batch_output", $"{batchId}_{suffix}.jsonl", bytes.Length, now), bytes)
                .ConfigureAwait(false);
            return fileId;
        }
    }
}

namespace Router.Actors.Batches;

/// <summary>Whose batch an item belongs to: enough to admit it against the owning key with nobody present.</summary>
public sealed record BatchJobSpec(string BatchId, string KeyId, string KeyHash, string Endpoint)
{
    // The hash stays out of logs even though it is not the key itself.
    public override string ToString() => $"BatchJobSpec {{ BatchId = {BatchId}, KeyId = {KeyId}, Endpoint = {Endpoint} }}";
}

/// <summary>How one attempt at an item ended.</summary>
public abstract record BatchItemOutcome
{
    /// <summary>The item is over; <paramref name="Line"/> is its output-file line (a response or an error).</summary>
    public sealed record Done(bool Succeeded, string Line) : BatchItemOutcome;

    /// <summary>The key's limits or the node refused for now; try the same item again after <paramref name="After"/>.</summary>
    public sealed record RetryLater(TimeSpan After) : BatchItemOutcome;
}

/// <summary>
/// What a batch job needs from the node: running one item through the request pipeline (admission, routing,
/// dispatch, usage) and reading the owning key's request rate. The seam keeps the job's actor and stream free of
/// HTTP and lets actor tests script outcomes.
/// </summary>
public interface IBatchWork
{
    /// <summary>Runs one item. Never throws for a failed request (that is a <see cref="BatchItemOutcome.Done"/>
    /// with an error line); throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    Task<BatchItemOutcome> RunAsync(BatchJobSpec job, BatchItem item, CancellationToken cancellationToken);

    /// <summary>The owning key's requests-per-minute limit, or null when it has none (or it cannot be read now).</summary>
    Task<int?> RequestsPerMinuteAsync(BatchJobSpec job, CancellationToken cancellationToken);

    /// <summary>A job started or stopped running items on this node (for node stats).</summary>
    void JobRunning(string batchId, bool running);
}

/// <summary>
/// Shared by all of one job's items: after a refusal with Retry-After, no item of the job starts before that
/// time, so a job backs off as a whole instead of each item discovering the limit on its own.
/// </summary>
internal sealed class BatchPacer(TimeProvider clock)
{
    private long _notBeforeUtcTicks;

    public void PauseFor(TimeSpan delay)
    {
        var until = clock.GetUtcNow().UtcTicks + delay.Ticks;
        long current;
        do
        {
            current = Interlocked.Read(ref _notBeforeUtcTicks);
            if (current >= until) return;
        } while (Interlocked.CompareExchange(ref _notBeforeUtcTicks, until, current) != current);
    }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = Interlocked.Read(ref _notBeforeUtcTicks) - clock.GetUtcNow().UtcTicks;
            if (wait <= 0) return;
            await Task.Delay(TimeSpan.FromTicks(wait), clock, cancellationToken).ConfigureAwait(false);
        }
    }
}

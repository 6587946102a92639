using Router.Actors.Usage;

namespace Router.Node.Pipeline;

/// <summary>
/// Hands finished requests to the batched ledger writer. The response does not wait for the row (that would add
/// the batching delay to every request), but the node does: shutdown flushes the writer before exit, and a row
/// that still fails after the writer's retries is logged with its request id.
/// </summary>
public sealed partial class LedgerUsageRecorder(UsageLedgerWriter writer, TimeProvider clock, ILogger<LedgerUsageRecorder> log) : IUsageRecorder
{
    private readonly ILogger _log = log;
    private long _pending;

    /// <summary>Rows handed over and not yet durable.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public void Record(UsageEntry e)
    {
        var record = new UsageRecord(
            e.Ticket.RequestId,
            clock.GetUtcNow(),
            e.Ticket.Caller.KeyId,
            e.Ticket.Caller.KeyName,
            e.RequestedModel,
            e.ServedBy?.Deployment.ModelId,
            e.ServedBy?.Deployment.Id,
            e.ServedBy?.ProviderKeyId,
            e.Usage.InputTokens,
            e.Usage.OutputTokens,
            e.CostUsd,
            (int)Math.Min(int.MaxValue, e.Latency.TotalMilliseconds),
            e.Attempts,
            e.Outcome,
            e.Stream);
        Interlocked.Increment(ref _pending);
        writer.RecordAsync(record).ContinueWith(static (t, state) =>
        {
            var (self, id) = ((LedgerUsageRecorder, string))state!;
            Interlocked.Decrement(ref self._pending);
            if (t.IsFaulted) LogLost(self._log, id, t.Exception!.GetBaseException().Message);
        }, (this, record.RequestId), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Usage row {RequestId} could not be written to the ledger: {Reason}")]
    private static partial void LogLost(ILogger logger, string requestId, string reason);
}

/// <summary>Creates the ledger table before traffic and flushes the writer on shutdown (after Kestrel drained).</summary>
public sealed class LedgerLifetime(IUsageStore store, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.EnsureSchemaAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Only if a request ever created the writer; resolving it now would start a stream just to stop it.
        if (services.GetService<WriterHolder>() is { IsCreated: true } holder)
            await holder.Writer.FlushAndStopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Lazily creates the writer once the ActorSystem is running.</summary>
public sealed class WriterHolder(Func<UsageLedgerWriter> create)
{
    private readonly Lazy<UsageLedgerWriter> _writer = new(create);
    public bool IsCreated => _writer.IsValueCreated;
    public UsageLedgerWriter Writer => _writer.Value;
}

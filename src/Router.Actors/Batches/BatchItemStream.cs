using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using static Router.Contracts.Batches.BatchEvents;

namespace Router.Actors.Batches;

/// <summary>
/// The Akka.Streams graph that runs one job's pending items: throttled to the owning key's request rate,
/// <see cref="BatchJobSettings.Parallelism"/> at a time, each retried after Retry-After while the key or node says
/// "later" (the whole job pausing, see <see cref="BatchPacer"/>), results grouped and sent to the job's actor with
/// acknowledgement, so the journal paces the stream.
/// </summary>
internal static class BatchItemStream
{
    /// <summary>A group of finished items for the actor to persist; it answers <see cref="Ack"/> once they are written.</summary>
    public sealed record ItemsDone(IReadOnlyList<ItemCompleted> Items);

    public sealed record Init
    {
        public static readonly Init Instance = new();
    }

    public sealed record Ack
    {
        public static readonly Ack Instance = new();
    }

    public sealed record Completed
    {
        public static readonly Completed Instance = new();
    }

    public sealed record Failed(Exception Cause);

    /// <summary>Starts the graph; stop it with the returned kill switch and by cancelling <paramref name="cancel"/>.</summary>
    public static UniqueKillSwitch Run(
        IReadOnlyList<BatchItem> pending, int? rpm, IBatchWork work, BatchJobSpec spec, BatchJobSettings settings,
        TimeProvider clock, IActorRef job, IMaterializer materializer, CancellationToken cancel)
    {
        var pacer = new BatchPacer(clock);
        var source = Source.From(pending).ViaMaterialized(KillSwitches.Single<BatchItem>(), Keep.Right);
        if (rpm is int perMinute && perMinute > 0)
        {
            // The key's own rate: a job alone never runs into its key's limit; Retry-After handles the rest.
            source = source.Throttle(perMinute, TimeSpan.FromMinutes(1), Math.Clamp(perMinute / 60, 1, settings.Parallelism), ThrottleMode.Shaping);
        }
        return source
            .SelectAsyncUnordered(settings.Parallelism, item => RunItemAsync(work, spec, item, pacer, clock, cancel))
            .Where(done => done is not null)
            .GroupedWithin(settings.PersistGroupSize, settings.PersistGroupWindow)
            .Select(group => new ItemsDone(group.Select(d => d!).ToList()))
            .ToMaterialized(Sink.ActorRefWithAck<ItemsDone>(job, Init.Instance, Ack.Instance, Completed.Instance, ex => new Failed(ex)), Keep.Left)
            .Run(materializer);
    }

    /// <summary>One item to its end: retried (the whole job paused) while the key or node says "later".</summary>
    private static async Task<ItemCompleted?> RunItemAsync(
        IBatchWork work, BatchJobSpec spec, BatchItem item, BatchPacer pacer, TimeProvider clock, CancellationToken cancel)
    {
        try
        {
            while (true)
            {
                await pacer.WaitAsync(cancel).ConfigureAwait(false);
                var outcome = await work.RunAsync(spec, item, cancel).ConfigureAwait(false);
                switch (outcome)
                {
                    case BatchItemOutcome.Done d:
                        return new ItemCompleted(item.CustomId, item.Index, d.Succeeded, d.Line, clock.GetUtcNow());
                    case BatchItemOutcome.RetryLater r:
                        pacer.PauseFor(r.After);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return null; // cancelled or handed off: not done, so it runs again if the job continues
        }
    }
}

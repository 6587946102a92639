using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Contracts.Batches;

namespace Router.Actors.Batches;

/// <summary>
/// Keeps unfinished batch jobs running with nobody asking for them: at start and then every sweep interval it
/// lists the batch persistence ids in the journal and sends <see cref="BatchCommands.Resume"/> to each job not
/// yet known to be finished, through the shard region. A node restart, a crash elsewhere in the cluster or a
/// shard hand-off thus never strands a job. Every node runs one; duplicate resumes are harmless. No singleton
/// is needed, and no remember-entities store.
/// </summary>
public sealed class BatchResumer : ReceiveActor, IWithTimers
{
    private readonly IActorRef _region;
    private readonly Func<Source<string, NotUsed>> _batchIds;
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Finished jobs stay finished: never woken again by this node.
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private bool _sweeping;

    /// <param name="batchIds">Batch ids (not persistence ids) currently in the journal.</param>
    public BatchResumer(IActorRef region, Func<Source<string, NotUsed>> batchIds, TimeSpan interval)
    {
        _region = region;
        _batchIds = batchIds;
        _interval = interval;

        Receive<Sweep>(_ => StartSweep());
        Receive<SweepDone>(d =>
        {
            _sweeping = false;
            if (d.Resumed > 0) _log.Info("Resume sweep: woke {0} batch jobs", d.Resumed);
        });
        Receive<SweepFailed>(f =>
        {
            _sweeping = false;
            _log.Warning("Resume sweep failed: {0}", f.Cause.Message);
        });
        Receive<BatchCommands.Resumed>(r =>
        {
            if (!r.Exists || r.Finished) _finished.Add(r.BatchId);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, Func<Source<string, NotUsed>> batchIds, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new BatchResumer(region, batchIds, interval));

    protected override void PreStart()
    {
        Self.Tell(Sweep.Instance);
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, _interval);
    }

    private void StartSweep()
    {
        if (_sweeping) return;
        _sweeping = true;
        var skip = _finished.ToHashSet(StringComparer.Ordinal);
        var region = _region;
        var self = Self;
        var count = 0;
        _batchIds()
            .Where(id => !skip.Contains(id))
            // A node that restarts with thousands of unfinished jobs wakes them gradually.
            .Throttle(200, TimeSpan.FromSeconds(1), 200, ThrottleMode.Shaping)
            .RunForeach(id =>
            {
                Interlocked.Increment(ref count);
                region.Tell(new BatchCommands.Resume(id), self);
            }, Context.Materializer())
            .PipeTo(self, success: () => new SweepDone(Volatile.Read(ref count)), failure: ex => new SweepFailed(ex));
    }

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }

    private sealed record SweepDone(int Resumed);

    private sealed record SweepFailed(Exception Cause);
}

using System.Collections.Concurrent;

namespace Router.Node.Batches;

/// <summary>
/// Node-local counters for batch work, shown in <c>/admin/stats</c>: HTTP batch jobs running here and their items
/// in flight, and gRPC Batch calls with their in-flight requests, including the highest in-flight count any one
/// call reached (which the call's window bounds).
/// </summary>
public sealed class BatchMetrics
{
    private readonly ConcurrentDictionary<string, byte> _jobs = new(StringComparer.Ordinal);
    private long _jobItemsInFlight;
    private long _jobItemsFinished;
    private long _jobItemRetries;
    private long _grpcCalls;
    private long _grpcInFlight;
    private long _grpcPeakPerCall;
    private long _grpcItems;

    public int JobsRunning => _jobs.Count;
    public long JobItemsInFlight => Interlocked.Read(ref _jobItemsInFlight);
    public long GrpcCallsActive => Interlocked.Read(ref _grpcCalls);
    public long GrpcInFlight => Interlocked.Read(ref _grpcInFlight);
    /// <summary>The most requests any single gRPC Batch call had in flight at once since the node started.</summary>
    public long GrpcPeakInFlightPerCall => Interlocked.Read(ref _grpcPeakPerCall);
    public long GrpcItems => Interlocked.Read(ref _grpcItems);

    /// <summary>Idempotent per job, so a stop seen twice never drives the count below zero.</summary>
    public void JobRunning(string batchId, bool running)
    {
        if (running) _jobs.TryAdd(batchId, 0);
        else _jobs.TryRemove(batchId, out _);
    }

    public void JobItemStarted() => Interlocked.Increment(ref _jobItemsInFlight);

    /// <summary>Attempts the owner key's limits or the node refused for now (the item runs again after Retry-After).</summary>
    public long JobItemRetries => Interlocked.Read(ref _jobItemRetries);

    public void JobItemRetried() => Interlocked.Increment(ref _jobItemRetries);

    public void JobItemFinished()
    {
        Interlocked.Decrement(ref _jobItemsInFlight);
        Interlocked.Increment(ref _jobItemsFinished);
    }

    public GrpcBatchCall StartGrpcCall()
    {
        Interlocked.Increment(ref _grpcCalls);
        return new GrpcBatchCall(this);
    }

    public object Snapshot() => new
    {
        jobsRunning = JobsRunning,
        jobItemsInFlight = JobItemsInFlight,
        jobItemsFinished = Interlocked.Read(ref _jobItemsFinished),
        jobItemRetries = JobItemRetries,
        grpcCalls = GrpcCallsActive,
        grpcInFlight = GrpcInFlight,
        grpcPeakInFlightPerCall = GrpcPeakInFlightPerCall,
        grpcItems = GrpcItems,
    };

    /// <summary>One gRPC Batch call's in-flight count: requests read from the client and not yet answered.</summary>
    public sealed class GrpcBatchCall(BatchMetrics metrics) : IDisposable
    {
        private long _inFlight;
        private long _peak;

        public long InFlight => Interlocked.Read(ref _inFlight);
        public long Peak => Interlocked.Read(ref _peak);

        public void ItemRead()
        {
            var now = Interlocked.Increment(ref _inFlight);
            Interlocked.Increment(ref metrics._grpcInFlight);
            Interlocked.Increment(ref metrics._grpcItems);
            Max(ref _peak, now);
            Max(ref metrics._grpcPeakPerCall, now);
        }

        public void ItemAnswered()
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Decrement(ref metrics._grpcInFlight);
        }

        public void Dispose() => Interlocked.Decrement(ref metrics._grpcCalls);

        private static void Max(ref long target, long value)
        {
            long current;
            while (value > (current = Interlocked.Read(ref target)))
            {
                if (Interlocked.CompareExchange(ref target, value, current) == current) return;
            }
        }
    }
}

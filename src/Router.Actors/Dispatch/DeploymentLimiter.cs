using System.Collections.Concurrent;
using Router.Actors.Routing;

namespace Router.Actors.Dispatch;

/// <summary>In-flight calls of one deployment on this node, for <c>/admin/stats</c>.</summary>
public sealed record DeploymentLoad(string DeploymentId, int InFlight, int? MaxConcurrent, long Refused);

/// <summary>
/// Caps concurrent calls per deployment on this node (<c>MaxConcurrent</c> on a deployment). A deployment at its cap
/// is passed over like one whose breaker is open; it is not a failure of the deployment. Lock-free.
/// </summary>
public sealed class DeploymentLimiter
{
    private sealed class Counter(int? max)
    {
        public readonly int? Max = max;
        public int InFlight;
        public long Refused;
    }

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    public bool TryEnter(Deployment deployment)
    {
        var c = _counters.GetOrAdd(deployment.Id, static (_, max) => new Counter(max), deployment.MaxConcurrent);
        if (c.Max is not { } max)
        {
            Interlocked.Increment(ref c.InFlight);
            return true;
        }
        while (true)
        {
            var current = Volatile.Read(ref c.InFlight);
            if (current >= max)
            {
                Interlocked.Increment(ref c.Refused);
                return false;
            }
            if (Interlocked.CompareExchange(ref c.InFlight, current + 1, current) == current) return true;
        }
    }

    public void Exit(Deployment deployment)
    {
        if (_counters.TryGetValue(deployment.Id, out var c)) Interlocked.Decrement(ref c.InFlight);
    }

    public int InFlight(string deploymentId) => _counters.TryGetValue(deploymentId, out var c) ? Volatile.Read(ref c.InFlight) : 0;

    public IReadOnlyList<DeploymentLoad> Snapshot() =>
        _counters.Select(kv => new DeploymentLoad(kv.Key, Volatile.Read(ref kv.Value.InFlight), kv.Value.Max, Interlocked.Read(ref kv.Value.Refused)))
            .OrderBy(d => d.DeploymentId, StringComparer.Ordinal).ToList();
}

using System.Collections.Concurrent;

namespace Router.Actors.Breakers;

/// <summary>
/// Every node's local, read-only copy of all breakers, kept current from published state changes, so the hot
/// path decides whether a deployment is usable without a cluster hop (design rule 1). Reads are lock-free;
/// writes come from one subscriber but may race with any number of readers.
/// </summary>
/// <remarks>
/// A deployment the view has never heard of is available: a missing snapshot must not block traffic. An Open
/// breaker whose due time has passed is reported available so that this node may send the trial requests the
/// breaker's owner is waiting for; the owner limits them and publishes the outcome.
/// </remarks>
public sealed class BreakerView
{
    private readonly ConcurrentDictionary<string, BreakerSnapshot> _snapshots = new(StringComparer.Ordinal);

    /// <summary>False only while the deployment's breaker is Open and not yet due for trial requests.</summary>
    public bool IsAvailable(string deploymentId, long nowTicks) => IsAvailable(deploymentId, nowTicks, out _);

    /// <summary>As <see cref="IsAvailable(string, long)"/>, and when unavailable, when the deployment becomes usable again.</summary>
    public bool IsAvailable(string deploymentId, long nowTicks, out long? availableAtTicks)
    {
        availableAtTicks = null;
        if (!_snapshots.TryGetValue(deploymentId, out var snapshot)
            || snapshot.State != BreakerStatus.Open
            || snapshot.HalfOpenAtTicks is not { } due
            || nowTicks >= due)
        {
            return true;
        }

        availableAtTicks = due;
        return false;
    }

    /// <summary>Replaces what the view knows about one deployment.</summary>
    public void Apply(BreakerSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _snapshots[snapshot.DeploymentId] = snapshot;
    }

    /// <summary>Forgets a deployment (removed from configuration); it reads as available again.</summary>
    public bool Remove(string deploymentId) => _snapshots.TryRemove(deploymentId, out _);

    public bool TryGet(string deploymentId, out BreakerSnapshot snapshot) =>
        _snapshots.TryGetValue(deploymentId, out snapshot!);

    /// <summary>Everything known, ordered by deployment id, for <c>routerctl breakers</c>.</summary>
    public IReadOnlyList<BreakerSnapshot> All() =>
        _snapshots.Values.OrderBy(s => s.DeploymentId, StringComparer.Ordinal).ToArray();
}

using System.Diagnostics.Metrics;
using Router.Actors.Telemetry;
using Akka.Actor;
using Router.Actors.Breakers;
using Router.Actors.Upstreams;
using Router.Node.Ingress;
using Router.Node.Pipeline;

namespace Router.Node.Observability;

/// <summary>
/// The observable gauges: read at scrape time from state the node already keeps (breaker view, key pools, ingress
/// queue, cluster state, ledger recorder). Services are resolved on first read: several start with the ActorSystem.
/// </summary>
public static class RouterGauges
{
    public static void Register(RouterMetrics metrics, IServiceProvider services)
    {
        var meter = metrics.Meter;
        meter.CreateObservableGauge(TelemetryNames.BreakerState, () => BreakerStates(services), "{state}",
            "Circuit breaker per deployment as this node sees it: 0 closed, 1 half-open, 2 open.");
        meter.CreateObservableGauge(TelemetryNames.ProviderKeyAvailable, () => KeysAvailable(services), "{key}",
            "1 when a provider key is usable (not cooling down, not disabled), else 0; by provider and key id.");
        meter.CreateObservableGauge(TelemetryNames.IngressQueueDepth,
            () => (services.GetService<IngressQueue>()?.Waiting) ?? 0L, "{request}", "Requests waiting in this node's ingress queue.");
        meter.CreateObservableGauge(TelemetryNames.Inflight,
            () => (services.GetService<IngressQueue>()?.Running) ?? 0L, "{request}", "Requests this node is serving now.");
        meter.CreateObservableGauge(TelemetryNames.ClusterMembers, () => Members(services), "{member}",
            "Cluster members by status, as this node sees them.");
        meter.CreateObservableGauge(TelemetryNames.LedgerPending,
            () => services.GetService<IUsageRecorder>() is LedgerUsageRecorder l ? l.Pending : 0L, "{row}",
            "Usage rows recorded but not yet written to the ledger.");
    }

    private static IEnumerable<Measurement<int>> BreakerStates(IServiceProvider services)
    {
        if (services.GetService<BreakerView>() is not { } view) yield break;
        foreach (var s in view.All())
        {
            var value = s.State switch { BreakerStatus.HalfOpen => 1, BreakerStatus.Open => 2, _ => 0 };
            yield return new(value, new KeyValuePair<string, object?>(TelemetryNames.Deployment, s.DeploymentId));
        }
    }

    private static IEnumerable<Measurement<int>> KeysAvailable(IServiceProvider services)
    {
        if (services.GetService<IReadOnlyDictionary<string, ProviderRuntime>>() is not { } providers) yield break;
        var now = (services.GetService<TimeProvider>() ?? TimeProvider.System).GetElapsedTime(0).Ticks;
        foreach (var provider in providers.Values)
        foreach (var k in provider.Pool.Snapshot(now))
            yield return new(k.Disabled || k.CooldownUntilTicks is not null ? 0 : 1,
                new(TelemetryNames.ProviderName, k.Provider), new(TelemetryNames.ProviderKey, k.KeyId));
    }

    private static IEnumerable<Measurement<int>> Members(IServiceProvider services)
    {
        if (services.GetService<ActorSystem>() is not { } system) yield break;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var m in Akka.Cluster.Cluster.Get(system).State.Members)
        {
            var status = m.Status.ToString().ToLowerInvariant();
            counts[status] = counts.GetValueOrDefault(status) + 1;
        }
        foreach (var (status, n) in counts)
            yield return new(n, new KeyValuePair<string, object?>(TelemetryNames.MemberStatus, status));
    }
}

using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Upstreams;

namespace Router.Node.Observability;

/// <summary>Records each upstream attempt (duration, result) and passes every outcome on to the cluster observer.</summary>
public sealed class MetricsDispatchObserver(IDispatchObserver inner, RouterMetrics metrics) : IDispatchObserver
{
    public void AttemptSucceeded(Deployment deployment, string? providerKeyId, TimeSpan latency)
    {
        metrics.Attempted(deployment, latency, null);
        inner.AttemptSucceeded(deployment, providerKeyId, latency);
    }

    public void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure) =>
        AttemptFailed(deployment, providerKeyId, failure, TimeSpan.Zero);

    public void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure, TimeSpan latency)
    {
        metrics.Attempted(deployment, latency, failure.Kind);
        inner.AttemptFailed(deployment, providerKeyId, failure, latency);
    }

    public void KeyStatusChanged(ProviderKeyStatus status) => inner.KeyStatusChanged(status);
}

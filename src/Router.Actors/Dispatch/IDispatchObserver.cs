using Router.Actors.Routing;
using Router.Actors.Upstreams;

namespace Router.Actors.Dispatch;

/// <summary>
/// Where dispatch tells outcomes (never asks): the deployment's breaker owner, the provider-key status
/// publication, metrics. Implementations must be cheap and non-blocking: they run on the request path.
/// </summary>
public interface IDispatchObserver
{
    void AttemptSucceeded(Deployment deployment, string? providerKeyId, TimeSpan latency);

    void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure);

    /// <summary>As the other overload, with how long the attempt ran (dispatch calls this one; metrics use the time).</summary>
    void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure, TimeSpan latency) =>
        AttemptFailed(deployment, providerKeyId, failure);

    /// <summary>A provider key was cooled down or disabled on this node; other nodes should know.</summary>
    void KeyStatusChanged(ProviderKeyStatus status);
}

using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Hosting;
using Router.Actors.Breakers;
using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Breakers;

namespace Router.Node.Hosting;

/// <summary>
/// Tells attempt outcomes to the deployment's breaker entity and announces key cooldowns to the other nodes.
/// Never asks. To keep the cluster quiet while everything is healthy, a success is told only when this node
/// has told a failure for that deployment since its last success, or the view does not show the breaker closed.
/// </summary>
public sealed class ClusterDispatchObserver(
    IRequiredActor<ModelBreakerActor> breakers, IRequiredActor<ProviderKeyStatusSync> keySync, BreakerView view) : IDispatchObserver
{
    private readonly ConcurrentDictionary<string, bool> _failedSinceSuccess = new(StringComparer.Ordinal);

    public void AttemptSucceeded(Deployment deployment, string? providerKeyId, TimeSpan latency)
    {
        var dirty = _failedSinceSuccess.TryRemove(deployment.Id, out _);
        var closed = !view.TryGet(deployment.Id, out var snapshot) || snapshot.State == BreakerStatus.Closed;
        if (dirty || !closed)
            breakers.ActorRef.Tell(new BreakerCommands.ReportOutcome(new DeploymentId(deployment.Id), true));
    }

    public void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure)
    {
        // Only failures of the deployment itself count; a throttled key or a bad request says nothing about it.
        if (failure.Kind is not (UpstreamFailureKind.ServerError or UpstreamFailureKind.Overloaded or UpstreamFailureKind.Timeout
            or UpstreamFailureKind.ConnectFailure or UpstreamFailureKind.Reset or UpstreamFailureKind.InvalidResponse)) return;
        _failedSinceSuccess[deployment.Id] = true;
        breakers.ActorRef.Tell(new BreakerCommands.ReportOutcome(new DeploymentId(deployment.Id), false, failure.Kind.ToString()));
    }

    public void KeyStatusChanged(ProviderKeyStatus status) => keySync.ActorRef.Tell(new ProviderKeyStatusSync.Announce(status));
}

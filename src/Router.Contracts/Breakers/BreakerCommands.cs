using Router.Contracts.Serialization;
namespace Router.Contracts.Breakers;

/// <summary>Messages sent to one deployment's breaker entity, from any node.</summary>
public static class BreakerCommands
{
    /// <summary>
    /// The verdict of one request on the deployment, told (never asked) by the dispatch of whichever node sent
    /// it, so the hot path never waits on the breaker.
    /// </summary>
    /// <param name="DeploymentId">The deployment that served or failed the request.</param>
    /// <param name="Success">True when the deployment answered usefully.</param>
    /// <param name="FailureKind">When failed: the upstream failure kind's name (for logs and display only).</param>
    public sealed record ReportOutcome(DeploymentId DeploymentId, bool Success, string? FailureKind = null) : IWithDeploymentId, IRouterMessage;

    /// <summary>
    /// Asks for the breaker's current state (admin and <c>routerctl breakers</c> only, never the hot path); the
    /// entity replies with a <see cref="BreakerEvents.StateChanged"/> describing the state as of now.
    /// </summary>
    public sealed record GetState(DeploymentId DeploymentId) : IWithDeploymentId, IRouterMessage;
}

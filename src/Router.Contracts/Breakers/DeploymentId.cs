namespace Router.Contracts.Breakers;

/// <summary>
/// A deployment's configured id (provider + model, as <c>RoutePlanner</c> names it), typed so a breaker message
/// cannot be routed by some other string. Safe to log.
/// </summary>
public sealed record DeploymentId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>Routing marker: the breaker shard region finds the entity of any message carrying it.</summary>
public interface IWithDeploymentId
{
    DeploymentId DeploymentId { get; }
}

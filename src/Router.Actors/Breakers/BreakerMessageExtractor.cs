using Akka.Cluster.Sharding;
using Router.Contracts.Breakers;

namespace Router.Actors.Breakers;

/// <summary>
/// Routes breaker messages to their deployment's entity. MurmurHash-based, so every node agrees on the shard;
/// <see cref="ShardCount"/> never changes once released (a change would split one breaker in two during a roll).
/// </summary>
internal sealed class BreakerMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    public const int ShardCount = 100;

    public override string? EntityId(object message) =>
        message is IWithDeploymentId m ? m.DeploymentId.Value : null;
}

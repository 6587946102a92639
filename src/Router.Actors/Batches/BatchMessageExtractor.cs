using Akka.Cluster.Sharding;
using Router.Contracts.Batches;

namespace Router.Actors.Batches;

/// <summary>
/// Routes batch messages to the job's entity by batch id (MurmurHash via the base class, stable across
/// processes). <see cref="ShardCount"/> never changes once released.
/// </summary>
internal sealed class BatchMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    public const int ShardCount = 50;

    public override string? EntityId(object message) => (message as IWithBatchId)?.BatchId;
}

using Akka.Cluster.Sharding;
using Router.Contracts.RateLimiting;

namespace Router.Actors.RateLimiting;

/// <summary>
/// Routes <see cref="IWithApiKeyId"/> messages to the key's entity. MurmurHash of the id (via the base class) is
/// stable across processes, so every node agrees on the shard; <see cref="ShardCount"/> never changes once
/// released, or keys would move and their limits reset.
/// </summary>
internal sealed class ApiKeyMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    public const int ShardCount = 100;

    // StartEntity and ShardingEnvelope are handled by the base class.
    public override string? EntityId(object message) => (message as IWithApiKeyId)?.KeyId.Value;
}

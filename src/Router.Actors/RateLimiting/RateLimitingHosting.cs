using Akka.Cluster.Hosting;
using Akka.Hosting;
using Router.Actors.Sharding;

namespace Router.Actors.RateLimiting;

/// <summary>Registers the rate-limiting capability: the <see cref="ApiKeyActor"/> shard region.</summary>
public static class RateLimitingHosting
{
    /// <summary>The shard type name; fixed once released (it names the coordinator's state).</summary>
    public const string ShardTypeName = "apikey";

    /// <summary>
    /// One entity per virtual key. Supervision: a journal failure stops the entity (Akka.Persistence's rule for
    /// persist and recovery failures); with remember-entities off, the shard starts it again on the key's next
    /// message, which recovers from the journal — the backoff is the caller's retry (docs/operations.md, Supervision).
    /// </summary>
    public static AkkaConfigurationBuilder AddRouterLimits(this AkkaConfigurationBuilder akka, TimeProvider clock, ApiKeyActorSettings? settings = null) =>
        akka.WithShardRegion<ApiKeyActor>(ShardTypeName, ApiKeyActor.PropsFactory(clock, settings ?? new ApiKeyActorSettings()),
            new ApiKeyMessageExtractor(),
            new ShardOptions
            {
                // A graceful hand-off persists unsaved spend and bucket levels before the entity moves.
                HandOffStopMessage = StopEntity.Instance,
                RememberEntities = false,
                // The entity passivates itself when idle, after saving its state.
                ShouldPassivateIdleEntities = false,
            });
}

using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;

namespace Router.Actors.Breakers;

/// <summary>Registers the breaker capability: the <see cref="ModelBreakerActor"/> shard region and this node's <see cref="BreakerViewUpdater"/>.</summary>
public static class BreakersHosting
{
    /// <summary>Needs distributed pub-sub (the breakers publish state changes; the view subscribes).</summary>
    public static AkkaConfigurationBuilder AddRouterBreakers(
        this AkkaConfigurationBuilder akka, BreakerSettings settings, BreakerView view, TimeProvider clock) =>
        akka
            // Sharding's idle passivation would forget an open breaker; the entity passivates itself when healthy.
            .WithShardRegion<ModelBreakerActor>(ModelBreakerActor.TypeName,
                id => ModelBreakerActor.Props(id, settings, clock), new BreakerMessageExtractor(),
                new ShardOptions { ShouldPassivateIdleEntities = false })
            .WithActors((system, registry) =>
                registry.Register<BreakerViewUpdater>(system.ActorOf(BreakerViewUpdater.Props(view, clock).WithBackoffOnFailure("updater"), "breaker-view")));
}

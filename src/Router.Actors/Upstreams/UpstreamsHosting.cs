using Akka.Actor;
using Akka.Hosting;

namespace Router.Actors.Upstreams;

/// <summary>Registers the provider-key capability: the <see cref="ProviderKeyStatusSync"/> that shares key cooldowns between nodes.</summary>
public static class UpstreamsHosting
{
    /// <summary>Needs distributed pub-sub (cooldowns are published to every node's pools).</summary>
    public static AkkaConfigurationBuilder AddRouterProviderKeys(
        this AkkaConfigurationBuilder akka, IReadOnlyDictionary<string, ProviderKeyPool> pools, TimeProvider clock) =>
        akka.WithActors((system, registry) =>
            registry.Register<ProviderKeyStatusSync>(system.ActorOf(ProviderKeyStatusSync.Props(pools, clock).WithBackoffOnFailure("sync"), "provider-key-sync")));
}

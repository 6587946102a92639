using Akka.Actor;
using Router.Actors.Usage;
using Router.Node.Configuration;
using Router.Node.Pipeline;
using Router.Node.Usage;

namespace Router.Node.Hosting;

/// <summary>The usage ledger: its SQL store, the batching writer (an Akka.Streams graph, created on first use) and its lifetime.</summary>
public static class UsageLedgerHosting
{
    /// <summary>Call after <see cref="AkkaSetup.AddRouterAkka"/>: the ledger's hosted service must stop before the ActorSystem, so it flushes while the system still runs.</summary>
    public static IServiceCollection AddRouterUsageLedger(this IServiceCollection services, RouterOptions options)
    {
        services.AddSingleton(UsageStore.Create(options.Persistence.Provider, options.Persistence.ConnectionString));
        services.AddSingleton(sp => new WriterHolder(() => new UsageLedgerWriter(sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<IUsageStore>())));
        services.AddSingleton(sp => sp.GetRequiredService<WriterHolder>().Writer);
        services.AddSingleton<IUsageRecorder, LedgerUsageRecorder>();
        services.AddHostedService<LedgerLifetime>();
        return services;
    }
}

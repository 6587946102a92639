using Router.Actors.Breakers;
using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Node.Configuration;
using Router.Node.Upstreams;

namespace Router.Node.Hosting;

/// <summary>Routing and dispatch: the route planner, the upstream providers with their key pools, the breaker view, and the attempt loop.</summary>
public static class DispatchHosting
{
    public static IServiceCollection AddRouterDispatch(
        this IServiceCollection services, RouterOptions options, IReadOnlyList<ModelEntry> catalog,
        IReadOnlyDictionary<string, ProviderRuntime> providers, BreakerView breakerView, TimeProvider clock)
    {
        services.AddSingleton(new RoutePlanner(catalog));
        services.AddSingleton(providers);
        services.AddSingleton(breakerView);
        services.AddSingleton<ClusterDispatchObserver>();
        services.AddSingleton<IDispatchObserver>(sp => new Router.Node.Observability.MetricsDispatchObserver(
            sp.GetRequiredService<ClusterDispatchObserver>(), sp.GetRequiredService<Router.Node.Observability.RouterMetrics>()));
        services.AddSingleton<DeploymentLimiter>();
        services.AddSingleton(sp => new Dispatcher(providers, sp.GetRequiredService<BreakerView>(), new DispatchSettings(
            new RetrySettings(options.Retry.MaxAttempts, TimeSpan.FromMilliseconds(options.Retry.BaseDelayMs),
                TimeSpan.FromMilliseconds(options.Retry.MaxDelayMs), TimeSpan.FromMilliseconds(options.Retry.DeadlineMs)),
            TimeSpan.FromMilliseconds(options.Retry.AttemptTimeoutMs)), sp.GetRequiredService<IDispatchObserver>(), clock,
            sp.GetRequiredService<DeploymentLimiter>()));
        return services;
    }

    /// <summary>One runtime per configured provider: its client and its keys, secrets resolved now (a missing one stops start-up).</summary>
    public static Dictionary<string, ProviderRuntime> BuildProviders(RouterOptions options, TimeProvider clock)
    {
        var providers = new Dictionary<string, ProviderRuntime>(StringComparer.Ordinal);
        for (var i = 0; i < options.Providers.Count; i++)
        {
            var p = options.Providers[i];
            var keys = p.Keys.Select((k, j) => new ProviderKey(k.Id, SecretResolver.Resolve(k.Secret, $"Router:Providers:{i}:Keys:{j}:Secret"), k.Rpm, k.Tpm)).ToList();
            providers[p.Name] = new ProviderRuntime(p.Name, p.Kind, UpstreamClients.Create(p, clock, options.Limits.DefaultMaxTokens), keys);
        }
        return providers;
    }
}

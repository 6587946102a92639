using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Usage;
using Router.Node.Configuration;
using Router.Node.Observability;
using Router.Node.Pipeline;

namespace Router.Node.Hosting;

/// <summary>The request pipeline every ingress shares: admission against the key's entity, token counting, plan, dispatch, usage.</summary>
public static class PipelineHosting
{
    public static IServiceCollection AddRouterPipeline(this IServiceCollection services, RouterOptions options, TimeProvider clock)
    {
        services.AddSingleton<IAdmission, ShardedAdmission>();
        services.AddSingleton(new TokenCounter());
        services.AddSingleton<RequestTelemetry>();
        services.AddSingleton(sp => new ChatPipeline(
            sp.GetRequiredService<RoutePlanner>(), sp.GetRequiredService<IAdmission>(), sp.GetRequiredService<Dispatcher>(),
            sp.GetRequiredService<TokenCounter>(), sp.GetRequiredService<IUsageRecorder>(), clock, options.Limits.DefaultMaxTokens,
            sp.GetService<Router.Node.Observability.RouterMetrics>(),
            sp.GetRequiredService<RequestTelemetry>()));
        return services;
    }
}

using OpenTelemetry.Metrics;
using Router.Actors.Telemetry;
using Router.Node.Configuration;

namespace Router.Node.Observability;

/// <summary>
/// Metrics: Router's <see cref="RouterMetrics"/> plus ASP.NET Core, HttpClient, runtime and process instrumentation,
/// exported in Prometheus text on <c>GET /metrics</c> (HTTP port) when <c>Router:Metrics:Enabled</c> (the default).
/// </summary>
public static class ObservabilityHosting
{
    public const string MetricsPath = "/metrics";

    public static IServiceCollection AddRouterObservability(this IServiceCollection services, RouterOptions options)
    {
        services.AddMetrics();
        // Always there: the pipeline and dispatch record into it; with no exporter listening, recording costs next to nothing.
        services.AddSingleton(sp => new RouterMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), options.Metrics));
        if (!options.Metrics.Enabled) return services;
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(TelemetryNames.Meter)
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddRuntimeInstrumentation()
            .AddProcessInstrumentation()
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Maps <c>GET /metrics</c> when metrics are on, and starts the gauges reading the node's state.</summary>
    public static WebApplication MapRouterMetrics(this WebApplication app, RouterOptions options)
    {
        RouterGauges.Register(app.Services.GetRequiredService<RouterMetrics>(), app.Services);
        if (options.Metrics.Enabled) app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }
}

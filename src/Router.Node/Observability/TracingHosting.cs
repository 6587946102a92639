using OpenTelemetry.Trace;
using Router.Actors.Telemetry;
using Router.Node.Configuration;

namespace Router.Node.Observability;

/// <summary><c>Router:Tracing</c>.</summary>
public sealed class TracingOptions
{
    /// <summary>Records spans even without an OTLP endpoint (tests attach their own exporter); the endpoint alone turns tracing on.</summary>
    public bool Enabled { get; set; }
}

/// <summary>
/// OpenTelemetry tracing: the request's SERVER span (ASP.NET Core, HTTP and gRPC, continuing a client's
/// <c>traceparent</c>), Router's own spans (admission, upstream attempts, backoff waits) and HttpClient's spans,
/// which carry the trace upstream. Exported over OTLP when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
/// (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c> and the other OTEL_* variables are read by the exporter). Off otherwise:
/// with no listener on Router's ActivitySource no span is created and nothing is allocated.
/// </summary>
public static class TracingHosting
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>True when spans are recorded: an OTLP endpoint is configured or <see cref="TracingOptions.Enabled"/> is on.</summary>
    public static bool IsEnabled(RouterOptions options, IConfiguration configuration) =>
        options.Tracing.Enabled || !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);

    /// <param name="extra">More exporters or processors (tests attach an in-memory exporter).</param>
    public static IServiceCollection AddRouterTracing(
        this IServiceCollection services, RouterOptions options, IConfiguration configuration, Action<TracerProviderBuilder>? extra = null)
    {
        if (!IsEnabled(options, configuration)) return services;
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);
        services.AddOpenTelemetry().WithTracing(tracing =>
        {
            tracing.AddSource(TelemetryNames.SourceName)
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.Filter = http => !IsProbe(http.Request.Path);
                    // The instrumentation names the span "{method} {route}" as it ends; a model request keeps its GenAI name.
                    o.EnrichWithHttpResponse = (span, _) => RequestTelemetry.Name(span);
                })
                .AddHttpClientInstrumentation();
            if (otlp) tracing.AddOtlpExporter();
            extra?.Invoke(tracing);
        });
        return services;
    }

    // Health probes and scrapes would drown the requests.
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/healthz", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
}

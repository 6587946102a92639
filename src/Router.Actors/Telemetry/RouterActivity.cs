using System.Diagnostics;

namespace Router.Actors.Telemetry;

/// <summary>
/// Router's ActivitySource and the two ways a span crosses a message: the sender's <c>traceparent</c> and a child
/// span started from it on the receiving side (possibly another node).
/// </summary>
public static class RouterActivity
{
    /// <summary>Router's spans. Without a subscribed listener <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null and nothing is allocated.</summary>
    public static readonly ActivitySource Source = new(TelemetryNames.SourceName);

    /// <summary>The request's W3C <c>traceparent</c> when Router's spans are being recorded, else null (no cost).</summary>
    public static string? CurrentTraceParent() =>
        Source.HasListeners() && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>Starts a span as a child of a <c>traceparent</c> carried in a message; null when not recording or none is carried.</summary>
    public static Activity? StartChildOf(string? traceParent, string name, ActivityKind kind = ActivityKind.Internal) =>
        traceParent is not null && Source.HasListeners() && ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)
            ? Source.StartActivity(name, kind, parent)
            : null;
}

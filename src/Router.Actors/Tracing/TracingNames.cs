using System.Diagnostics;

namespace Router.Actors.Tracing;

/// <summary>
/// Router's span and attribute names in one place: the OpenTelemetry GenAI semantic conventions are still moving,
/// so a rename touches only this class. Lives in Router.Actors because both the dispatch loop and the key entity
/// (here) and the node's request span (Router.Node) use it.
/// </summary>
public static class TracingNames
{
    /// <summary>The ActivitySource every Router span comes from; a tracer provider subscribes to this name.</summary>
    public const string SourceName = "Router";

    /// <summary>Router's spans. Without a subscribed listener <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null and nothing is allocated.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    // Span names (the request span and the attempt spans are named "{operation} {model}" per the GenAI conventions).
    public const string AdmissionSpan = "router.admission";
    public const string BackoffSpan = "router.backoff";

    // Operations (gen_ai.operation.name values).
    public const string Chat = "chat";
    public const string Embeddings = "embeddings";

    // GenAI semantic-convention attributes.
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string ErrorType = "error.type";

    // Router's own attributes.
    public const string RequestId = "router.request_id";
    public const string KeyId = "router.key.id";
    public const string KeyName = "router.key.name";
    public const string Tier = "router.tier";
    public const string Attempts = "router.attempts";
    public const string Attempt = "router.attempt";
    public const string Deployment = "router.deployment";
    public const string ProviderKey = "router.provider_key";
    public const string Outcome = "router.outcome";
    public const string CostUsd = "router.cost_usd";
    public const string Stream = "router.stream";
    public const string Admitted = "router.admission.admitted";
    public const string Refusal = "router.admission.refusal";
    public const string BackoffMs = "router.backoff_ms";

    /// <summary>The request's W3C <c>traceparent</c> when Router's spans are being recorded, else null (no cost).</summary>
    public static string? CurrentTraceParent() =>
        Source.HasListeners() && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>Starts a span as a child of a <c>traceparent</c> carried in a message; null when not recording or none is carried.</summary>
    public static Activity? StartChildOf(string? traceParent, string name, ActivityKind kind = ActivityKind.Internal) =>
        traceParent is not null && Source.HasListeners() && ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)
            ? Source.StartActivity(name, kind, parent)
            : null;
}

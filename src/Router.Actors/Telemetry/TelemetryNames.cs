using Router.Contracts.Errors;

namespace Router.Actors.Telemetry;

/// <summary>
/// Every instrument, span, attribute and value name Router exports (metrics and traces), in one place: the
/// OpenTelemetry GenAI semantic conventions are still moving, so a rename is one edit here. The Prometheus exporter
/// turns dots into underscores and appends the unit and <c>_total</c> (see docs/observability.md for the scraped
/// names). Lives in Router.Actors because the dispatch loop and the key entity record spans too.
/// </summary>
public static class TelemetryNames
{
    /// <summary>The Meter and the ActivitySource every Router instrument and span comes from.</summary>
    public const string Meter = "Router";
    public const string SourceName = "Router";

    // Instruments: GenAI semantic conventions.
    public const string TokenUsage = "gen_ai.client.token.usage";
    public const string OperationDuration = "gen_ai.client.operation.duration";
    public const string ServerRequestDuration = "gen_ai.server.request.duration";
    public const string TimeToFirstToken = "gen_ai.server.time_to_first_token";

    // Instruments: Router's own.
    public const string Requests = "router.requests";
    public const string OverheadDuration = "router.overhead.duration";
    public const string Cost = "router.cost";
    public const string AdmissionRefusals = "router.admission.refusals";
    public const string Attempts = "router.attempts";
    public const string Fallbacks = "router.fallbacks";
    public const string BreakerState = "router.breaker.state";
    public const string ProviderKeyAvailable = "router.provider_key.available";
    public const string IngressQueueDepth = "router.ingress.queue.depth";
    public const string Inflight = "router.inflight";
    public const string ClusterMembers = "router.cluster.members";
    public const string ShardEntities = "router.shard.entities";
    public const string LedgerPending = "router.ledger.pending";

    // Spans (the request span and the attempt spans are named "{operation} {model}" per the GenAI conventions).
    public const string AdmissionSpan = "router.admission";
    public const string BackoffSpan = "router.backoff";

    // Attributes: GenAI semantic conventions.
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string TokenType = "gen_ai.token.type";
    public const string ErrorType = "error.type";
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string FinishReasons = "gen_ai.response.finish_reasons";

    // Attributes: Router's own.
    public const string Ingress = "router.ingress";
    public const string Outcome = "router.outcome";
    public const string Deployment = "router.deployment";
    public const string AttemptResult = "router.result";
    public const string Reason = "router.reason";
    public const string KeyName = "router.key.name";
    public const string ProviderKey = "router.provider_key";
    public const string MemberStatus = "router.member.status";
    public const string EntityType = "router.entity.type";
    // Span attributes only (per request, so never metric labels).
    public const string RequestId = "router.request_id";
    public const string KeyId = "router.key.id";
    public const string Tier = "router.tier";
    public const string AttemptCount = "router.attempts";
    public const string Attempt = "router.attempt";
    public const string CostUsd = "router.cost_usd";
    public const string Stream = "router.stream";
    public const string Admitted = "router.admission.admitted";
    public const string Refusal = "router.admission.refusal";
    public const string BackoffMs = "router.backoff_ms";

    // Values.
    public const string Chat = "chat";
    public const string Embeddings = "embeddings";
    public const string Input = "input";
    public const string Output = "output";
    public const string IngressOpenAi = "openai";
    public const string IngressAnthropic = "anthropic";
    public const string IngressGrpc = "grpc";
    public const string IngressBatch = "batch";
    public const string Ok = "ok";
    public const string RateLimited = "rate_limited";
    public const string BudgetExceeded = "budget_exceeded";
    public const string Shed = "shed";
    public const string ClientError = "client_error";
    public const string UpstreamError = "upstream_error";
    public const string Timeout = "timeout";
    public const string Abandoned = "abandoned";
    public const string Unauthorized = "unauthorized";
    public const string PermissionDenied = "permission_denied";

    /// <summary>The response header (gRPC: trailer) carrying <see cref="OverheadDuration"/> in milliseconds.</summary>
    public const string OverheadHeader = "x-router-overhead-ms";

    /// <summary>The <see cref="Outcome"/> of a request that ended with <paramref name="code"/>.</summary>
    public static string OutcomeOf(RouterErrorCode code) => code switch
    {
        RouterErrorCode.RateLimited => RateLimited,
        RouterErrorCode.QuotaExceeded => BudgetExceeded,
        RouterErrorCode.Overloaded => Shed,
        RouterErrorCode.UpstreamError => UpstreamError,
        RouterErrorCode.UpstreamTimeout => Timeout,
        RouterErrorCode.Internal => UpstreamError,
        _ => ClientError,
    };

    /// <summary>The <see cref="Reason"/> of an admission refusal, or null when <paramref name="code"/> is not one.</summary>
    public static string? RefusalOf(RouterErrorCode code) => code switch
    {
        RouterErrorCode.RateLimited => RateLimited,
        RouterErrorCode.QuotaExceeded => BudgetExceeded,
        RouterErrorCode.Unauthorized => Unauthorized,
        RouterErrorCode.PermissionDenied => PermissionDenied,
        _ => null,
    };
}

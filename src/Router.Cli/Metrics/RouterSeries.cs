namespace Router.Cli.Metrics;

/// <summary>
/// The series a node exports on <c>/metrics</c>, as the OpenTelemetry Prometheus exporter renders the node's
/// instruments (meter "Router"): dots become underscores, the unit is appended (<c>s</c> → <c>_seconds</c>; an
/// annotation such as <c>{token}</c> or <c>{USD}</c> adds nothing), counters end in <c>_total</c>, histograms are
/// exported as <c>_bucket</c>/<c>_sum</c>/<c>_count</c>. <c>routerctl metrics</c>, the Grafana dashboard
/// (k8s/observability/router-dashboard.json) and its test all use this one list: a rename is one edit here.
/// </summary>
public static class RouterSeries
{
    // Histograms (base names; see Histograms).
    public const string TokenUsage = "gen_ai_client_token_usage";
    public const string OperationDuration = "gen_ai_client_operation_duration_seconds";
    public const string RequestDuration = "gen_ai_server_request_duration_seconds";
    public const string TimeToFirstToken = "gen_ai_server_time_to_first_token_seconds";
    public const string OverheadDuration = "router_overhead_duration_seconds";

    // Counters.
    public const string Requests = "router_requests_total";
    public const string Cost = "router_cost_total";
    public const string AdmissionRefusals = "router_admission_refusals_total";
    public const string Attempts = "router_attempts_total";
    public const string Fallbacks = "router_fallbacks_total";

    // Gauges.
    public const string BreakerState = "router_breaker_state";
    public const string ProviderKeyAvailable = "router_provider_key_available";
    public const string IngressQueueDepth = "router_ingress_queue_depth";
    public const string Inflight = "router_inflight";
    public const string ClusterMembers = "router_cluster_members";
    public const string ShardEntities = "router_shard_entities";
    public const string LedgerPending = "router_ledger_pending";

    // Labels.
    public const string RequestModel = "gen_ai_request_model";
    public const string TokenType = "gen_ai_token_type";
    public const string Outcome = "router_outcome";
    public const string Ingress = "router_ingress";
    public const string Deployment = "router_deployment";
    public const string MemberStatus = "router_member_status";
    public const string Le = "le";

    /// <summary>Values of <see cref="BreakerState"/>.</summary>
    public const double BreakerHalfOpen = 1, BreakerOpen = 2;

    public static readonly IReadOnlyList<string> Histograms = [TokenUsage, OperationDuration, RequestDuration, TimeToFirstToken, OverheadDuration];

    public static readonly IReadOnlyList<string> Counters = [Requests, Cost, AdmissionRefusals, Attempts, Fallbacks];

    public static readonly IReadOnlyList<string> Gauges =
        [BreakerState, ProviderKeyAvailable, IngressQueueDepth, Inflight, ClusterMembers, ShardEntities, LedgerPending];

    /// <summary>Every series name a scrape of a node carries (histograms as their three series).</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(
        Histograms.SelectMany(h => new[] { h + "_bucket", h + "_sum", h + "_count" }).Concat(Counters).Concat(Gauges),
        StringComparer.Ordinal);

    public static string Bucket(string histogram) => histogram + "_bucket";

    public static string Sum(string histogram) => histogram + "_sum";

    public static string Count(string histogram) => histogram + "_count";
}

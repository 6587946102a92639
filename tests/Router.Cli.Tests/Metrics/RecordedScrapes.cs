namespace Router.Cli.Tests.Metrics;

/// <summary>
/// Two scrapes of one node, as the OpenTelemetry Prometheus exporter writes them (series names per
/// <c>RouterSeries</c>), the second taken after 13 more requests. The figures the tests assert are worked out by hand
/// in the comments.
/// </summary>
public static class RecordedScrapes
{
    // requests: openai/ok 10 -> 18 (+8), anthropic/ok 4 -> 6 (+2), openai/rate_limited 1 -> 3 (+2), openai/shed new 1 (+1)
    // duration buckets (two label sets added up), interval deltas: le 0.1: 2, 0.25: 6, 0.5: 9, 1: 10, +Inf: 10
    //   p50: rank 5 in (0.1, 0.25] holding 4 after 2 -> 0.1 + 0.15 * 3/4 = 0.2125
    //   p99: rank 9.9 in (0.5, 1] holding 1 after 9 -> 0.5 + 0.5 * 0.9 = 0.95
    // overhead buckets, deltas: le 0.001: 0, 0.005: 6, 0.01: 8, +Inf: 10
    //   p50: rank 5 in (0.001, 0.005] holding 6 after 0 -> 0.001 + 0.004 * 5/6; p99: rank 9.9 in +Inf -> 0.01
    public const string First = """
        # TYPE router_requests_total counter
        # HELP router_requests_total Client requests, by ingress and outcome.
        router_requests_total{otel_scope_name="Router",router_ingress="openai",router_outcome="ok"} 10 1764924000000
        router_requests_total{otel_scope_name="Router",router_ingress="anthropic",router_outcome="ok"} 4 1764924000000
        router_requests_total{otel_scope_name="Router",router_ingress="openai",router_outcome="rate_limited"} 1 1764924000000

        # TYPE gen_ai_server_request_duration_seconds histogram
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.1"} 5 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.25"} 8 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.5"} 9 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="1"} 10 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="+Inf"} 10 1764924000000
        gen_ai_server_request_duration_seconds_sum{router_ingress="openai",router_outcome="ok"} 1.9 1764924000000
        gen_ai_server_request_duration_seconds_count{router_ingress="openai",router_outcome="ok"} 10 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.1"} 0 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.25"} 2 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.5"} 4 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="1"} 4 1764924000000
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="+Inf"} 4 1764924000000
        gen_ai_server_request_duration_seconds_sum{router_ingress="anthropic",router_outcome="ok"} 1.2 1764924000000
        gen_ai_server_request_duration_seconds_count{router_ingress="anthropic",router_outcome="ok"} 4 1764924000000

        # TYPE router_overhead_duration_seconds histogram
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.001"} 3 1764924000000
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.005"} 9 1764924000000
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.01"} 10 1764924000000
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="+Inf"} 10 1764924000000
        router_overhead_duration_seconds_sum{router_ingress="openai",router_outcome="ok"} 0.03 1764924000000
        router_overhead_duration_seconds_count{router_ingress="openai",router_outcome="ok"} 10 1764924000000

        # TYPE router_ingress_queue_depth gauge
        router_ingress_queue_depth{router_ingress="openai"} 9 1764924000000
        # TYPE router_inflight gauge
        router_inflight 2 1764924000000
        # EOF
        """;

    // tokens since start: m-small input 1000 + 200 (two response models) = 1200, output 800; m-large input 300, output 50
    // cost: m-small 0.00066 over two deployments (0.0005 + 0.00016); m-large 0.00125
    // breakers: m-large/sim half-open, broken/sim-broken open; queue 3 + 1 = 4; in flight 7
    public const string Second = """
        # TYPE router_requests_total counter
        router_requests_total{otel_scope_name="Router",router_ingress="openai",router_outcome="ok"} 18 1764924000500
        router_requests_total{otel_scope_name="Router",router_ingress="anthropic",router_outcome="ok"} 6 1764924000500
        router_requests_total{otel_scope_name="Router",router_ingress="openai",router_outcome="rate_limited"} 3 1764924000500
        router_requests_total{otel_scope_name="Router",router_ingress="openai",router_outcome="shed"} 1 1764924000500

        # TYPE gen_ai_server_request_duration_seconds histogram
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.1"} 7 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.25"} 14 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.5"} 17 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="1"} 18 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="+Inf"} 18 1764924000500
        gen_ai_server_request_duration_seconds_sum{router_ingress="openai",router_outcome="ok"} 3.3 1764924000500
        gen_ai_server_request_duration_seconds_count{router_ingress="openai",router_outcome="ok"} 18 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.1"} 0 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.25"} 2 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="0.5"} 5 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="1"} 6 1764924000500
        gen_ai_server_request_duration_seconds_bucket{router_ingress="anthropic",router_outcome="ok",le="+Inf"} 6 1764924000500
        gen_ai_server_request_duration_seconds_sum{router_ingress="anthropic",router_outcome="ok"} 2.5 1764924000500
        gen_ai_server_request_duration_seconds_count{router_ingress="anthropic",router_outcome="ok"} 6 1764924000500

        # TYPE router_overhead_duration_seconds histogram
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.001"} 3 1764924000500
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.005"} 15 1764924000500
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="0.01"} 18 1764924000500
        router_overhead_duration_seconds_bucket{router_ingress="openai",router_outcome="ok",le="+Inf"} 20 1764924000500
        router_overhead_duration_seconds_sum{router_ingress="openai",router_outcome="ok"} 0.09 1764924000500
        router_overhead_duration_seconds_count{router_ingress="openai",router_outcome="ok"} 20 1764924000500

        # TYPE gen_ai_client_token_usage histogram
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="sim",gen_ai_request_model="m-small",gen_ai_response_model="sim-small-v1",gen_ai_token_type="input"} 1000 1764924000500
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="sim",gen_ai_request_model="m-small",gen_ai_response_model="sim-small-v2",gen_ai_token_type="input"} 200 1764924000500
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="sim",gen_ai_request_model="m-small",gen_ai_response_model="sim-small-v1",gen_ai_token_type="output"} 800 1764924000500
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="sim",gen_ai_request_model="m-large",gen_ai_response_model="sim-large-v1",gen_ai_token_type="input"} 300 1764924000500
        gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name="sim",gen_ai_request_model="m-large",gen_ai_response_model="sim-large-v1",gen_ai_token_type="output"} 50 1764924000500

        # TYPE router_cost_total counter
        router_cost_total{gen_ai_request_model="m-small",router_deployment="m-small/sim"} 0.0005 1764924000500
        router_cost_total{gen_ai_request_model="m-small",router_deployment="m-small/sim-eu"} 0.00016 1764924000500
        router_cost_total{gen_ai_request_model="m-large",router_deployment="m-large/sim"} 0.00125 1764924000500

        # TYPE router_breaker_state gauge
        router_breaker_state{router_deployment="m-small/sim"} 0 1764924000500
        router_breaker_state{router_deployment="m-large/sim"} 1 1764924000500
        router_breaker_state{router_deployment="broken/sim-broken"} 2 1764924000500

        # TYPE router_ingress_queue_depth gauge
        router_ingress_queue_depth{router_ingress="openai"} 3 1764924000500
        router_ingress_queue_depth{router_ingress="anthropic"} 1 1764924000500
        # TYPE router_inflight gauge
        router_inflight 7 1764924000500
        # EOF
        """;
}

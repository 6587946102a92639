using System.Diagnostics;
using Router.Actors.Routing;
using Router.Actors.Telemetry;
using Router.Contracts.Chat;
using Router.Node.Pipeline;

namespace Router.Node.Observability;

/// <summary>
/// A request's own telemetry: names and tags its SERVER span (when spans are recorded) and writes one Information
/// line when it finishes. Never a virtual key, provider secret, prompt or completion: keys appear by id only.
/// </summary>
public sealed partial class RequestTelemetry(ILogger<RequestTelemetry> log)
{
    private readonly ILogger _log = log;

    /// <summary>The request's SERVER span, when Router's spans are recorded (null otherwise, at no cost).</summary>
    private static Activity? ServerSpan() =>
        RouterActivity.Source.HasListeners() && Activity.Current is { Kind: ActivityKind.Server, IsAllDataRequested: true } span ? span : null;

    /// <summary>Gives the SERVER span its GenAI attributes once the route is planned.</summary>
    public static void Planned(string operation, RoutePlan plan)
    {
        if (ServerSpan() is not { } span) return;
        span.SetTag(TelemetryNames.OperationName, operation);
        span.SetTag(TelemetryNames.RequestModel, plan.RequestedModel);
        if (plan.AutoTier is { } tier) span.SetTag(TelemetryNames.Tier, tier);
    }

    /// <summary>Names a model request's SERVER span <c>{gen_ai.operation.name} {gen_ai.request.model}</c>, e.g. <c>chat gpt-4o-mini</c>.</summary>
    public static void Name(Activity span)
    {
        if (span.GetTagItem(TelemetryNames.OperationName) is string operation && span.GetTagItem(TelemetryNames.RequestModel) is string model)
            span.DisplayName = $"{operation} {model}";
    }

    /// <summary>The request ended (answered, failed or abandoned): tags the span and logs the line.</summary>
    public void Finished(UsageEntry e, FinishReason? reason)
    {
        var served = e.ServedBy?.Deployment;
        if (ServerSpan() is { } span)
        {
            span.SetTag(TelemetryNames.RequestId, e.Ticket.RequestId);
            span.SetTag(TelemetryNames.KeyId, e.Ticket.Caller.KeyId);
            if (e.Ticket.Caller.KeyName is { Length: > 0 } name) span.SetTag(TelemetryNames.KeyName, name);
            span.SetTag(TelemetryNames.AttemptCount, e.Attempts);
            span.SetTag(TelemetryNames.Stream, e.Stream);
            span.SetTag(TelemetryNames.Outcome, e.Outcome.ToString());
            if (served is not null)
            {
                span.SetTag(TelemetryNames.ProviderName, served.Provider);
                span.SetTag(TelemetryNames.ResponseModel, served.UpstreamModel);
                span.SetTag(TelemetryNames.Deployment, served.Id);
                span.SetTag(TelemetryNames.UsageInputTokens, e.Usage.InputTokens);
                span.SetTag(TelemetryNames.UsageOutputTokens, e.Usage.OutputTokens);
                span.SetTag(TelemetryNames.CostUsd, (double)e.CostUsd);
            }
            if (reason is { } r) span.SetTag(TelemetryNames.FinishReasons, new[] { FinishReasonName(r) });
            if (e.Outcome != Router.Actors.Usage.UsageOutcome.Success) span.SetTag(TelemetryNames.ErrorType, e.Outcome.ToString());
        }
        if (_log.IsEnabled(LogLevel.Information))
            RequestFinished(_log, e.Ticket.RequestId, e.Outcome.ToString(), e.RequestedModel, served?.Id ?? "-", e.Ticket.Caller.KeyId,
                e.Usage.InputTokens, e.Usage.OutputTokens, e.CostUsd, (long)e.Latency.TotalMilliseconds, e.Attempts);
    }

    // The OpenAI wire's names, as the GenAI conventions use them.
    private static string FinishReasonName(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    [LoggerMessage(Level = LogLevel.Information, Message =
        "Request {RouterRequestId} {Outcome}: model {Model}, deployment {Deployment}, key {KeyId}, tokens {InputTokens} in / {OutputTokens} out, cost {CostUsd} USD, latency {LatencyMs} ms, attempts {Attempts}")]
    private static partial void RequestFinished(
        ILogger log, string routerRequestId, string outcome, string model, string deployment, string keyId,
        int inputTokens, int outputTokens, decimal costUsd, long latencyMs, int attempts);
}

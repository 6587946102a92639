using System.Diagnostics;
using Router.Actors.Routing;
using Router.Actors.Tracing;
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
        TracingNames.Source.HasListeners() && Activity.Current is { Kind: ActivityKind.Server, IsAllDataRequested: true } span ? span : null;

    /// <summary>Gives the SERVER span its GenAI attributes once the route is planned.</summary>
    public static void Planned(string operation, RoutePlan plan)
    {
        if (ServerSpan() is not { } span) return;
        span.SetTag(TracingNames.OperationName, operation);
        span.SetTag(TracingNames.RequestModel, plan.RequestedModel);
        if (plan.AutoTier is { } tier) span.SetTag(TracingNames.Tier, tier);
    }

    /// <summary>Names a model request's SERVER span <c>{gen_ai.operation.name} {gen_ai.request.model}</c>, e.g. <c>chat gpt-4o-mini</c>.</summary>
    public static void Name(Activity span)
    {
        if (span.GetTagItem(TracingNames.OperationName) is string operation && span.GetTagItem(TracingNames.RequestModel) is string model)
            span.DisplayName = $"{operation} {model}";
    }

    /// <summary>The request ended (answered, failed or abandoned): tags the span and logs the line.</summary>
    public void Finished(UsageEntry e, FinishReason? reason)
    {
        var served = e.ServedBy?.Deployment;
        if (ServerSpan() is { } span)
        {
            span.SetTag(TracingNames.RequestId, e.Ticket.RequestId);
            span.SetTag(TracingNames.KeyId, e.Ticket.Caller.KeyId);
            if (e.Ticket.Caller.KeyName is { Length: > 0 } name) span.SetTag(TracingNames.KeyName, name);
            span.SetTag(TracingNames.Attempts, e.Attempts);
            span.SetTag(TracingNames.Stream, e.Stream);
            span.SetTag(TracingNames.Outcome, e.Outcome.ToString());
            if (served is not null)
            {
                span.SetTag(TracingNames.ProviderName, served.Provider);
                span.SetTag(TracingNames.ResponseModel, served.UpstreamModel);
                span.SetTag(TracingNames.Deployment, served.Id);
                span.SetTag(TracingNames.InputTokens, e.Usage.InputTokens);
                span.SetTag(TracingNames.OutputTokens, e.Usage.OutputTokens);
                span.SetTag(TracingNames.CostUsd, (double)e.CostUsd);
            }
            if (reason is { } r) span.SetTag(TracingNames.FinishReasons, new[] { FinishReasonName(r) });
            if (e.Outcome != Router.Actors.Usage.UsageOutcome.Success) span.SetTag(TracingNames.ErrorType, e.Outcome.ToString());
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

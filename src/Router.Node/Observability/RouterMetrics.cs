using System.Diagnostics;
using Router.Actors.Telemetry;
using System.Diagnostics.Metrics;
using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Configuration;

namespace Router.Node.Observability;

/// <summary>
/// Router's instruments on one <see cref="Meter"/> named <see cref="TelemetryNames.Meter"/>. Recording is cheap and
/// allocation-free (tags go in a stack <see cref="TagList"/>); label values come only from configuration (models,
/// deployments, providers, key names) or fixed vocabularies, never from what a client sends.
/// </summary>
public sealed class RouterMetrics
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _operation;
    private readonly Histogram<double> _server;
    private readonly Histogram<double> _firstToken;
    private readonly Histogram<double> _overhead;
    private readonly Counter<long> _requests;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _fallbacks;

    public RouterMetrics(IMeterFactory factory, MetricsOptions options)
    {
        PerKey = options.PerKey;
        Meter = factory.Create(TelemetryNames.Meter);
        _tokens = Meter.CreateHistogram(TelemetryNames.TokenUsage, "{token}", "Tokens per upstream answer, by type (input, output).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _operation = Seconds(TelemetryNames.OperationDuration, "Duration of one upstream attempt.");
        _server = Seconds(TelemetryNames.ServerRequestDuration, "Duration of one client request in Router, queue wait included.");
        _firstToken = Seconds(TelemetryNames.TimeToFirstToken, "Time from a streamed request's arrival to its first byte.");
        _overhead = Seconds(TelemetryNames.OverheadDuration, "Time in Router minus the time spent waiting on the upstream.");
        _requests = Meter.CreateCounter<long>(TelemetryNames.Requests, "{request}", "Client requests, by ingress and outcome.");
        _cost = Meter.CreateCounter<double>(TelemetryNames.Cost, "{USD}", "Cost of answered requests in US dollars, by model and deployment.");
        _refusals = Meter.CreateCounter<long>(TelemetryNames.AdmissionRefusals, "{request}", "Requests refused by admission, by reason.");
        _attempts = Meter.CreateCounter<long>(TelemetryNames.Attempts, "{attempt}", "Upstream attempts, by deployment and result.");
        _fallbacks = Meter.CreateCounter<long>(TelemetryNames.Fallbacks, "{request}", "Requests answered after at least one failed attempt.");
    }

    public Meter Meter { get; }
    /// <summary>Whether request series carry the key's name (<c>Router:Metrics:PerKey</c>).</summary>
    public bool PerKey { get; }

    private Histogram<double> Seconds(string name, string description) =>
        Meter.CreateHistogram(name, "s", description, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>An upstream answer's tokens and cost (per answer, whichever way a stream ended).</summary>
    public void Answered(string operation, string model, Deployment served, TokenUsage used, decimal cost, string? keyName)
    {
        var tags = new TagList
        {
            { TelemetryNames.OperationName, operation },
            { TelemetryNames.ProviderName, served.Provider },
            { TelemetryNames.RequestModel, model },
            { TelemetryNames.ResponseModel, served.UpstreamModel },
            { TelemetryNames.TokenType, TelemetryNames.Input },
        };
        if (keyName is not null) tags.Add(TelemetryNames.KeyName, keyName);
        _tokens.Record(used.InputTokens, tags);
        tags[4] = new(TelemetryNames.TokenType, TelemetryNames.Output);
        _tokens.Record(used.OutputTokens, tags);
        if (cost != 0m)
            _cost.Add((double)cost, new TagList { { TelemetryNames.RequestModel, model }, { TelemetryNames.Deployment, served.Id } });
    }

    /// <summary>A request answered by an attempt after the first.</summary>
    public void FellBack(string model, Deployment served) =>
        _fallbacks.Add(1, new TagList { { TelemetryNames.RequestModel, model }, { TelemetryNames.Deployment, served.Id } });

    /// <summary>One upstream attempt ended; <paramref name="failure"/> is null on success.</summary>
    public void Attempted(Deployment deployment, TimeSpan latency, UpstreamFailureKind? failure)
    {
        var result = failure is { } kind ? FailureName(kind) : TelemetryNames.Ok;
        var tags = new TagList
        {
            { TelemetryNames.ProviderName, deployment.Provider },
            { TelemetryNames.RequestModel, deployment.UpstreamModel },
            { TelemetryNames.Deployment, deployment.Id },
        };
        if (failure is not null) tags.Add(TelemetryNames.ErrorType, result);
        _operation.Record(latency.TotalSeconds, tags);
        _attempts.Add(1, new TagList { { TelemetryNames.Deployment, deployment.Id }, { TelemetryNames.AttemptResult, result } });
    }

    /// <summary>A client request ended (success, error, or client gone).</summary>
    public void Finished(RequestTiming timing)
    {
        var tags = new TagList { { TelemetryNames.Ingress, timing.Ingress }, { TelemetryNames.Outcome, timing.Outcome } };
        if (timing.KeyName is { } key) tags.Add(TelemetryNames.KeyName, key);
        _requests.Add(1, tags);
        if (timing.Model is { } model) tags.Add(TelemetryNames.RequestModel, model);
        _server.Record(timing.Elapsed.TotalSeconds, tags);
        _overhead.Record(timing.OverheadMs() / 1000.0,
            new TagList { { TelemetryNames.Ingress, timing.Ingress }, { TelemetryNames.Outcome, timing.Outcome } });
        if (timing.TimeToFirstByteSeconds is { } ttft)
            _firstToken.Record(ttft, new TagList { { TelemetryNames.Ingress, timing.Ingress }, { TelemetryNames.RequestModel, timing.Model } });
        if (timing.RefusalReason is { } reason)
            _refusals.Add(1, new KeyValuePair<string, object?>(TelemetryNames.Reason, reason));
    }

    private static string FailureName(UpstreamFailureKind kind) => kind switch
    {
        UpstreamFailureKind.RateLimited => "rate_limited",
        UpstreamFailureKind.ServerError => "server_error",
        UpstreamFailureKind.Overloaded => "overloaded",
        UpstreamFailureKind.Timeout => "timeout",
        UpstreamFailureKind.ConnectFailure => "connect_failure",
        UpstreamFailureKind.Reset => "reset",
        UpstreamFailureKind.InvalidResponse => "invalid_response",
        UpstreamFailureKind.AuthFailed => "auth_failed",
        UpstreamFailureKind.BadRequest => "bad_request",
        UpstreamFailureKind.NotFound => "not_found",
        UpstreamFailureKind.ContextLengthExceeded => "context_length_exceeded",
        _ => "other",
    };
}

using System.Diagnostics;
using Router.Actors.Telemetry;
using System.Globalization;
using Router.Contracts.Errors;

namespace Router.Node.Observability;

/// <summary>
/// One client request's clock, from the ingress gate (queue wait included) to its end: how long it waited on the
/// upstream, its outcome, and the overhead figure (time in Router minus time waiting on the upstream) fixed when the
/// answer starts, so the header, the trailer and <c>router.overhead.duration</c> carry the same number.
/// Flows with the request as an ambient value: the pipeline adds its upstream wait without new parameters.
/// </summary>
public sealed class RequestTiming
{
    private static readonly AsyncLocal<RequestTiming?> Ambient = new();

    private readonly long _started;
    private long _upstreamTicks;
    private double _overheadMs = -1;
    private double _firstByteSeconds = -1;

    private RequestTiming(string ingress, long started)
    {
        Ingress = ingress;
        _started = started;
    }

    /// <summary>The request being served on this async flow, if an ingress started one.</summary>
    public static RequestTiming? Current => Ambient.Value;

    /// <summary>Starts timing a request arriving on <paramref name="ingress"/> and makes it <see cref="Current"/>.</summary>
    public static RequestTiming Start(string ingress)
    {
        var timing = new RequestTiming(ingress, Stopwatch.GetTimestamp());
        Ambient.Value = timing;
        return timing;
    }

    /// <summary>Makes <paramref name="timing"/> <see cref="Current"/> for the rest of the calling async method.</summary>
    public static void Enter(RequestTiming timing) => Ambient.Value = timing;

    public string Ingress { get; }
    /// <summary>How the request ended; <see cref="TelemetryNames.Ok"/> until told otherwise.</summary>
    public string Outcome { get; private set; } = TelemetryNames.Ok;
    public string? RefusalReason { get; private set; }
    /// <summary>The catalog model served (never the client's free text), once planned.</summary>
    public string? Model { get; set; }
    /// <summary>The key's configured name, set only when per-key series are on.</summary>
    public string? KeyName { get; set; }
    public bool Streamed { get; set; }

    /// <summary>Time spent inside the upstream dispatch (attempts and the waits between them).</summary>
    public void AddUpstreamWait(TimeSpan wait) => Interlocked.Add(ref _upstreamTicks, wait.Ticks);

    public void Fail(RouterErrorCode code)
    {
        if (Outcome != TelemetryNames.Ok) return;
        Outcome = TelemetryNames.OutcomeOf(code);
        RefusalReason = TelemetryNames.RefusalOf(code);
    }

    public void Fail(string outcome)
    {
        if (Outcome == TelemetryNames.Ok) Outcome = outcome;
    }

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Router's own time until the answer started, in milliseconds: fixed on the first call.</summary>
    public double OverheadMs()
    {
        if (_overheadMs >= 0) return _overheadMs;
        var elapsed = Elapsed;
        if (Streamed) _firstByteSeconds = elapsed.TotalSeconds;
        var overhead = elapsed.Ticks - Interlocked.Read(ref _upstreamTicks);
        _overheadMs = Math.Round(Math.Max(0, overhead) / (double)TimeSpan.TicksPerMillisecond, 3);
        return _overheadMs;
    }

    /// <summary>The header value: <see cref="OverheadMs"/> in invariant culture.</summary>
    public string OverheadHeaderValue() => OverheadMs().ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Seconds from arrival to the first byte of a streamed answer; null unless streamed and started.</summary>
    public double? TimeToFirstByteSeconds => _firstByteSeconds >= 0 ? _firstByteSeconds : null;
}

using System.CommandLine;
using System.Globalization;
using G = Router.Contracts.Grpc;

namespace Router.Cli.Metrics;

/// <summary>
/// <c>routerctl metrics</c>: scrapes <c>/metrics</c> (HTTP, no admin key) of one node, a list, or every cluster member
/// twice, <c>--interval</c> apart, and prints per node the request rate by outcome, latency and overhead percentiles,
/// tokens and cost by model, breakers that are not closed, queue depth and in-flight requests.
/// </summary>
internal sealed class MetricsCommand
{
    public const int DefaultHttpPort = 8080;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly GlobalOptions _globals;
    private readonly TextWriter _output;
    private readonly TextWriter _error;

    private readonly Option<string?> _url = new("--url") { Description = "A node's HTTP address or /metrics URL (default: --host's address on --http-port)" };
    private readonly Option<string?> _urls = new("--urls") { Description = "Comma-separated HTTP addresses or /metrics URLs of several nodes" };
    private readonly Option<bool> _all = new("--all") { Description = "Every cluster member (asks --host's Admin service; needs the admin key)" };
    private readonly Option<int> _httpPort = new("--http-port") { Description = "Nodes' HTTP port, for the default URL and --all", DefaultValueFactory = _ => DefaultHttpPort };
    private readonly Option<double> _interval = new("--interval") { Description = "Seconds between the two scrapes rates are computed from", DefaultValueFactory = _ => 2.0 };

    public MetricsCommand(GlobalOptions globals, TextWriter output, TextWriter error)
    {
        _globals = globals;
        _output = output;
        _error = error;
        Command = new Command("metrics", "Live summary from the nodes' /metrics: requests/s by outcome, p50/p99 latency and overhead, tokens and cost by model, breakers, queue, in-flight");
        Command.Options.Add(_url);
        Command.Options.Add(_urls);
        Command.Options.Add(_all);
        Command.Options.Add(_httpPort);
        Command.Options.Add(_interval);
        Command.SetAction(RunAsync);
    }

    public Command Command { get; }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken ct)
    {
        var interval = parse.GetValue(_interval);
        if (interval is <= 0 or > 3600 || double.IsNaN(interval))
        {
            _error.WriteLine("routerctl: --interval must be between 0 and 3600 seconds");
            return RouterCtl.BadUsage;
        }
        var port = parse.GetValue(_httpPort);
        if (port is < 1 or > 65535)
        {
            _error.WriteLine("routerctl: --http-port must be 1..65535");
            return RouterCtl.BadUsage;
        }
        var output = new Output(_output, parse.GetValue(_globals.Json));
        var url = parse.GetValue(_url);
        var urls = parse.GetValue(_urls);
        var all = parse.GetValue(_all);
        if ((url is not null ? 1 : 0) + (urls is not null ? 1 : 0) + (all ? 1 : 0) > 1)
        {
            _error.WriteLine("routerctl: give one of --url, --urls and --all");
            return RouterCtl.BadUsage;
        }
        if (all)
        {
            return await RouterCtl.WithSessionAsync(parse, _globals, _output, _error, ct, async (s, o) =>
            {
                var cluster = await s.Client.GetClusterAsync(new G.ClusterRequest(), s.Call());
                var targets = new List<Uri>();
                foreach (var m in cluster.Members)
                {
                    if (MetricsTargets.MemberMetricsUrl(m.Address, port) is not { } u)
                    {
                        _error.WriteLine($"routerctl: cannot tell the HTTP address of member {m.Address}");
                        return RouterCtl.Refused;
                    }
                    targets.Add(u);
                }
                return await ScrapeAndPrintAsync(targets, interval, o, ct);
            });
        }
        var texts = urls is not null
            ? urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [url ?? DefaultUrl(parse.GetValue(_globals.Host) ?? RouterCtl.DefaultHost, port)];
        var list = new List<Uri>();
        foreach (var t in texts)
        {
            if (MetricsTargets.MetricsUrl(t) is not { } u)
            {
                _error.WriteLine($"routerctl: '{t}' is not an HTTP address (host:port or http://host:port/metrics)");
                return RouterCtl.BadUsage;
            }
            list.Add(u);
        }
        if (list.Count == 0)
        {
            _error.WriteLine("routerctl: --urls names no node");
            return RouterCtl.BadUsage;
        }
        return await ScrapeAndPrintAsync(list, interval, output, ct);
    }

    /// <summary>The node of <c>--host</c> (its gRPC address) on the HTTP port.</summary>
    private static string DefaultUrl(string host, int port) =>
        AdminSession.ParseHost(host) is { } grpc ? new UriBuilder(grpc) { Port = port, Path = "/metrics" }.Uri.ToString() : host;

    private async Task<int> ScrapeAndPrintAsync(IReadOnlyList<Uri> nodes, double interval, Output o, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = Timeout, UseProxy = false }) { Timeout = Timeout };
        var first = await Task.WhenAll(nodes.Select(n => ScrapeAsync(http, n, ct)));
        await Task.Delay(TimeSpan.FromSeconds(interval), ct);
        var second = await Task.WhenAll(nodes.Select((n, i) => first[i].Error is null ? ScrapeAsync(http, n, ct) : Task.FromResult(first[i])));
        var results = nodes.Select((n, i) =>
            (Node: n, Error: first[i].Error ?? second[i].Error,
             Summary: first[i].Text is { } a && second[i].Text is { } b ? MetricsSummary.From(a, b, interval) : null)).ToList();
        Print(o, results);
        foreach (var r in results.Where(r => r.Error is not null)) _error.WriteLine($"routerctl: {Name(r.Node)}: {r.Error}");
        return results.Any(r => r.Error is not null) ? RouterCtl.Unreachable : RouterCtl.Ok;
    }

    private static async Task<(PrometheusText? Text, string? Error)> ScrapeAsync(HttpClient http, Uri url, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(url, ct);
            if (!response.IsSuccessStatusCode) return (null, $"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return (PrometheusText.Parse(await response.Content.ReadAsStringAsync(ct)), null);
        }
        catch (HttpRequestException ex)
        {
            return (null, $"cannot reach {url}: {RouterCtl.OneLine(ex.InnerException?.Message ?? ex.Message)}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"no answer from {url} within {Timeout.TotalSeconds:0} s");
        }
        catch (FormatException ex)
        {
            return (null, $"{url} is not Prometheus text: {RouterCtl.OneLine(ex.Message)}");
        }
    }

    private static string Name(Uri node) => node.Authority;

    private static void Print(Output o, List<(Uri Node, string? Error, MetricsSummary? Summary)> results)
    {
        if (o.Json)
        {
            o.WriteJson(new
            {
                nodes = results.Select(r => new
                {
                    url = r.Node.ToString(),
                    error = r.Error,
                    intervalSeconds = r.Summary?.IntervalSeconds,
                    requestsPerSecond = Round(r.Summary?.RequestsPerSecond),
                    requestsPerSecondByOutcome = r.Summary?.RequestsPerSecondByOutcome.ToDictionary(x => x.Key, x => Round(x.Value)),
                    durationSeconds = r.Summary is { } s ? new { p50 = Round(s.DurationP50), p99 = Round(s.DurationP99) } : null,
                    overheadSeconds = r.Summary is { } t ? new { p50 = Round(t.OverheadP50), p99 = Round(t.OverheadP99) } : null,
                    models = r.Summary?.Models.Select(m => new { model = m.Model, inputTokens = m.InputTokens, outputTokens = m.OutputTokens, costUsd = Output.Dec(m.CostUsd) }),
                    breakers = r.Summary?.Breakers.Select(b => new { deployment = b.Deployment, state = b.State }),
                    queueDepth = r.Summary?.QueueDepth,
                    inFlight = r.Summary?.InFlight,
                }),
            });
            return;
        }
        o.Table(["NODE", "REQ/S", "BY OUTCOME", "P50", "P99", "OVERHEAD P50", "OVERHEAD P99", "QUEUE", "IN FLIGHT", "BREAKERS NOT CLOSED", "NOTE"],
            results.Select(r => r.Summary is { } s
                ? (IReadOnlyList<string>)
                [
                    Name(r.Node), Rate(s.RequestsPerSecond),
                    Output.List(s.RequestsPerSecondByOutcome.Where(x => x.Value > 0).Select(x => $"{x.Key} {Rate(x.Value)}")),
                    Seconds(s.DurationP50), Seconds(s.DurationP99), Seconds(s.OverheadP50), Seconds(s.OverheadP99),
                    Number(s.QueueDepth), Number(s.InFlight), Output.List(s.Breakers.Select(b => $"{b.Deployment} ({b.State})")), "",
                ]
                : [Name(r.Node), "?", "?", "?", "?", "?", "?", "?", "?", "?", r.Error ?? ""]),
            "NOTE");
        var models = results.Where(r => r.Summary is not null)
            .SelectMany(r => r.Summary!.Models.Select(m => (IReadOnlyList<string>)
                [Name(r.Node), m.Model, Number(m.InputTokens), Number(m.OutputTokens), Output.Usd(m.CostUsd)]))
            .ToList();
        if (models.Count > 0) o.Table(["NODE", "MODEL", "INPUT TOK", "OUTPUT TOK", "COST"], models);
        var interval = results.FirstOrDefault(r => r.Summary is not null).Summary?.IntervalSeconds;
        if (interval is { } i) o.Line($"rates and percentiles over {i.ToString("0.###", CultureInfo.InvariantCulture)} s; tokens and cost since each node started");
    }

    /// <summary>Nine decimals in JSON (nanoseconds, nano-requests/s): no binary-fraction noise like 0.9500000000000002.</summary>
    private static double? Round(double? value) => value is { } v ? Math.Round(v, 9) : null;

    private static string Rate(double perSecond) => perSecond.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Milliseconds below a second, seconds above; "-" when the interval saw no request.</summary>
    private static string Seconds(double? seconds) => seconds switch
    {
        null => "-",
        < 1 => (seconds.Value * 1000).ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.Value.ToString("0.###", CultureInfo.InvariantCulture) + " s",
    };
}

/// <summary>Where <c>routerctl metrics</c> scrapes: URLs from the command line and from cluster members.</summary>
public static class MetricsTargets
{
    /// <summary><c>host:port</c> or an http(s) URL; a URL without a path gets <c>/metrics</c>. Null when it is neither.</summary>
    public static Uri? MetricsUrl(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var full = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (!Uri.TryCreate(full, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0) return null;
        return uri.AbsolutePath == "/" ? new UriBuilder(uri) { Path = "/metrics" }.Uri : uri;
    }

    /// <summary>A member's <c>/metrics</c> URL: the host of its Akka address (<c>akka.tcp://router@10.0.0.5:4053</c>) on the HTTP port.</summary>
    public static Uri? MemberMetricsUrl(string akkaAddress, int httpPort) =>
        Uri.TryCreate(akkaAddress, UriKind.Absolute, out var a) && a.Host.Length > 0
            ? new UriBuilder(Uri.UriSchemeHttp, a.Host, httpPort, "/metrics").Uri
            : null;
}

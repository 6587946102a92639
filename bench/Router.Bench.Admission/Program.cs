using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Router.Actors.RateLimiting;
using Router.Bench.Admission;
using Router.Contracts.RateLimiting;

// What admission costs on one node: the same HTTP request path with the ApiKey-shard admission on and replaced by
// a pass-through, then the Admit ask alone. Not a test: prints PASS/FAIL against the target and exits 0 either way.

const double TargetAddedP99Micros = 100;

var options = BenchOptions.Parse(args);
if (options is null) return 2;

var stdout = Console.Out;
// Akka's standard-out logger is chatty (cluster start-up, shutdown); keep the table readable.
if (!options.Verbose) Console.SetOut(TextWriter.Null);

stdout.WriteLine($"Router admission bench: {options.Concurrency} client loops, {options.Duration.TotalSeconds:0} s per variant " +
                 $"in {options.Rounds} alternating rounds, {options.Warmup.TotalSeconds:0} s warm-up; starting two nodes…");

var starting = new[] { BenchNode.StartAsync(admission: true), BenchNode.StartAsync(admission: false) };
var nodes = await Task.WhenAll(starting);
var (withAdmission, withoutAdmission) = (nodes[0], nodes[1]);
using var clientOn = Load.Client(withAdmission.Http, options.Concurrency);
using var clientOff = Load.Client(withoutAdmission.Http, options.Concurrency);

await Load.HttpAsync(clientOn, options.Concurrency, options.Warmup);
await Load.HttpAsync(clientOff, options.Concurrency, options.Warmup);

// Alternating rounds, so background load on a shared machine falls on both variants alike.
var on = new Result();
var off = new Result();
var round = options.Duration / options.Rounds;
for (var i = 0; i < options.Rounds; i++)
{
    on.Add(await Load.HttpAsync(clientOn, options.Concurrency, round));
    off.Add(await Load.HttpAsync(clientOff, options.Concurrency, round));
}

var region = withAdmission.Services.GetRequiredService<IRequiredActor<ApiKeyActor>>().ActorRef;
await Load.AskAsync(region, options.Concurrency, options.Warmup);
var ask = await Load.AskAsync(region, options.Concurrency, options.AskDuration);

var addedP99 = on.Percentile(0.99) - off.Percentile(0.99);
var table = new StringBuilder()
    .AppendLine()
    .AppendLine("| path                           |  requests | errors |    req/s |  p50 µs |  p99 µs |")
    .AppendLine("|--------------------------------|----------:|-------:|---------:|--------:|--------:|")
    .AppendLine(Row("HTTP, admission on (shard ask)", on))
    .AppendLine(Row("HTTP, admission off (stub)", off))
    .AppendLine(Row("Admit ask only (shard region)", ask))
    .AppendLine()
    .AppendLine(FormattableString.Invariant(
        $"throughput ratio on/off: {on.PerSecond / off.PerSecond:0.00}   p50 ratio on/off: {on.Percentile(0.5) / off.Percentile(0.5):0.00}"))
    .AppendLine(FormattableString.Invariant(
        $"added p99 by admission: {addedP99:+0;-0} µs   (Admit ask alone p99: {ask.Percentile(0.99):0} µs)"))
    .AppendLine(FormattableString.Invariant(
        $"target: admission adds <= {TargetAddedP99Micros:0} µs p99 on one node -> {(addedP99 <= TargetAddedP99Micros ? "PASS" : "FAIL")}"));
stdout.Write(table.ToString());
await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
return 0;

static string Row(string name, Result r) => string.Create(CultureInfo.InvariantCulture,
    $"| {name,-30} | {r.Count,9} | {r.Errors,6} | {r.PerSecond,8:0} | {r.Percentile(0.5),7:0} | {r.Percentile(0.99),7:0} |");

namespace Router.Bench.Admission
{
    /// <summary>Command-line flags; every run is bounded in time.</summary>
    internal sealed record BenchOptions(int Concurrency, TimeSpan Duration, int Rounds, TimeSpan Warmup, TimeSpan AskDuration, bool Verbose)
    {
        public static BenchOptions? Parse(string[] args)
        {
            var o = new BenchOptions(4, TimeSpan.FromSeconds(6), 3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), false);
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                try
                {
                    o = args[i] switch
                    {
                        "--concurrency" or "-c" => o with { Concurrency = Positive(Next()) },
                        "--duration" or "-d" => o with { Duration = TimeSpan.FromSeconds(Positive(Next())) },
                        "--rounds" => o with { Rounds = Positive(Next()) },
                        "--warmup" => o with { Warmup = TimeSpan.FromSeconds(int.Parse(Next(), CultureInfo.InvariantCulture)) },
                        "--ask-duration" => o with { AskDuration = TimeSpan.FromSeconds(Positive(Next())) },
                        "--verbose" or "-v" => o with { Verbose = true },
                        "--help" or "-h" => throw new ArgumentException(""),
                        var other => throw new ArgumentException($"unknown flag {other}"),
                    };
                }
                catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
                {
                    if (ex.Message.Length > 0) Console.Error.WriteLine($"bench: {ex.Message}");
                    Console.Error.WriteLine(
                        "usage: Router.Bench.Admission [--concurrency N=4] [--duration SECONDS=6 per variant] [--rounds N=3] " +
                        "[--warmup SECONDS=1] [--ask-duration SECONDS=3] [--verbose]");
                    return null;
                }
            }
            return o;
        }

        private static int Positive(string s) =>
            int.Parse(s, CultureInfo.InvariantCulture) is > 0 and var n ? n : throw new ArgumentException($"{s} must be positive");
    }

    /// <summary>Latencies (µs) and counts of one variant, merged over rounds and loops.</summary>
    internal sealed class Result
    {
        private readonly List<double> _micros = [];
        private double[]? _sorted;

        public long Count => _micros.Count;
        public long Errors { get; private set; }
        public TimeSpan Elapsed { get; private set; }
        public double PerSecond => Count / Elapsed.TotalSeconds;

        public void Add(Result other)
        {
            _micros.AddRange(other._micros);
            Errors += other.Errors;
            Elapsed += other.Elapsed;
            _sorted = null;
        }

        public void Record(double micros) => _micros.Add(micros);

        public void Fail() => Errors++;

        public void Finish(TimeSpan elapsed) => Elapsed = elapsed;

        public double Percentile(double q)
        {
            _sorted ??= [.. _micros.Order()];
            return _sorted.Length == 0 ? double.NaN : _sorted[Math.Clamp((int)Math.Ceiling(q * _sorted.Length) - 1, 0, _sorted.Length - 1)];
        }
    }

    /// <summary>Closed-loop load: each of N loops sends its next request when the previous one has answered.</summary>
    internal static class Load
    {
        private static readonly byte[] Body = Encoding.UTF8.GetBytes(
            $$"""{"model":"{{BenchNode.Model}}","max_tokens":16,"messages":[{"role":"user","content":"How fast is admission?"}]}""");

        public static HttpClient Client(Uri baseAddress, int concurrency) => new(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = concurrency,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

        public static Task<Result> HttpAsync(HttpClient client, int concurrency, TimeSpan duration) =>
            RunAsync(concurrency, duration, async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new ByteArrayContent(Body) };
                request.Content.Headers.ContentType = new("application/json");
                request.Headers.Authorization = new("Bearer", BenchNode.Key);
                using var response = await client.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                return response.StatusCode == HttpStatusCode.OK;
            });

        /// <summary>
        /// The Admit ask through the shard region as ingress makes it, then the Complete that ends each request
        /// (a tell, inside the timing; it costs an enqueue).
        /// </summary>
        public static Task<Result> AskAsync(IActorRef region, int concurrency, TimeSpan duration)
        {
            var hash = ApiKeyHash.Compute(BenchNode.Key);
            var id = ApiKeyId.FromKeyHash(hash);
            string[] names = [BenchNode.Model];
            return RunAsync(concurrency, duration, async () =>
            {
                var requestId = Guid.NewGuid().ToString("N");
                var result = await region.Ask<ApiKeyCommands.AdmitResult>(
                    new ApiKeyCommands.Admit(id, requestId, 40, BenchNode.Model, hash, names), TimeSpan.FromSeconds(2));
                if (result.Admitted) region.Tell(new ApiKeyCommands.Complete(id, requestId, 40, 40, 0m));
                return result.Admitted;
            });
        }

        private static async Task<Result> RunAsync(int concurrency, TimeSpan duration, Func<Task<bool>> once)
        {
            var total = new Result();
            var started = Stopwatch.GetTimestamp();
            var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var loops = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                var mine = new Result();
                while (Stopwatch.GetTimestamp() < stopAt)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    bool ok;
                    try
                    {
                        ok = await once();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or AskTimeoutException)
                    {
                        ok = false;
                    }
                    if (ok) mine.Record(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    else mine.Fail();
                }
                return mine;
            })));
            foreach (var loop in loops) total.Add(loop);
            total.Finish(Stopwatch.GetElapsedTime(started));
            return total;
        }
    }
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Router.Actors.Usage;

namespace Router.Node.Hosting;

/// <summary>
/// Kubernetes probes. <c>/healthz/live</c>: the process answers. <c>/healthz/ready</c>: this node is a cluster
/// member that is Up, its shard regions are registered, the database answers, and it is not draining — the first
/// thing SIGTERM turns off, so endpoints stop routing here before in-flight requests are drained.
/// </summary>
public sealed class NodeHealth(IServiceProvider services, IHostApplicationLifetime lifetime, IUsageStore store, TimeProvider clock)
{
    private static readonly TimeSpan DatabaseCheckEvery = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _dbGate = new(1, 1);
    private long _dbCheckedAt = long.MinValue;
    private string? _dbProblem = "not checked yet";

    public bool Draining => lifetime.ApplicationStopping.IsCancellationRequested;

    public async Task<(bool Ready, IReadOnlyDictionary<string, string> Checks)> CheckAsync(CancellationToken cancellationToken)
    {
        var checks = new Dictionary<string, string>();
        checks["draining"] = Draining ? "yes" : "no";

        var system = services.GetService<ActorSystem>();
        if (system is null || system.WhenTerminated.IsCompleted)
        {
            checks["cluster"] = "actor system not running";
        }
        else
        {
            var self = Cluster.Get(system).SelfMember;
            checks["cluster"] = self.Status.ToString();
            var regions = ClusterSharding.Get(system).ShardTypeNames;
            checks["shard-regions"] = regions.Count == 0 ? "none" : string.Join(",", regions.Order());
        }
        checks["database"] = await DatabaseAsync(cancellationToken) ?? "ok";

        var ready = !Draining && checks["cluster"] == nameof(MemberStatus.Up) && checks["shard-regions"] != "none" && checks["database"] == "ok";
        return (ready, checks);
    }

    /// <summary>Pings the database at most every few seconds so a probe storm does not become a query storm.</summary>
    private async Task<string?> DatabaseAsync(CancellationToken cancellationToken)
    {
        if (clock.GetElapsedTime(Interlocked.Read(ref _dbCheckedAt)) < DatabaseCheckEvery && _dbCheckedAt != long.MinValue) return _dbProblem;
        if (!await _dbGate.WaitAsync(0, cancellationToken)) return _dbProblem;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await store.CountAsync(new UsageQuery { From = DateTimeOffset.MaxValue.AddDays(-1) }, timeout.Token);
            _dbProblem = null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _dbProblem = "unreachable: " + ex.GetType().Name;
        }
        finally
        {
            Interlocked.Exchange(ref _dbCheckedAt, clock.GetTimestamp());
            _dbGate.Release();
        }
        return _dbProblem;
    }

    public static void MapHealth(WebApplication app)
    {
        app.MapGet("/healthz/live", () => Results.Text("ok"));
        app.MapGet("/healthz/ready", async (NodeHealth health, CancellationToken ct) =>
        {
            var (ready, checks) = await health.CheckAsync(ct);
            return Results.Json(new { ready, checks }, statusCode: ready ? 200 : 503);
        });
    }
}

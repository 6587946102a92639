using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Router.Actors.Usage;
using Router.Contracts.Errors;
using Router.Node.Ingress;

namespace Router.Node.Hosting;

/// <summary>
/// Kubernetes probes. <c>/healthz/live</c>: the process answers. <c>/healthz/ready</c>: this node is a cluster
/// member that is Up, on the majority side of the cluster, its shard regions are registered, the database answers,
/// and it is not draining — the first thing SIGTERM turns off, so endpoints stop routing here before in-flight
/// requests are drained. The same quorum and draining checks gate chat requests (<see cref="UseClusterGate"/>):
/// a node cut off from the majority refuses with 503 and Retry-After instead of admitting against key entities
/// that the majority is about to start elsewhere, until the split-brain resolver downs it and it exits.
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
            var cluster = Cluster.Get(system);
            checks["cluster"] = cluster.SelfMember.Status.ToString();
            var quorum = Quorum.Of(cluster.State);
            checks["quorum"] = quorum.ToString();
            if (quorum.Oldest is { } oldest) checks["oldest"] = oldest.ToString();
            var regions = ClusterSharding.Get(system).ShardTypeNames;
            checks["shard-regions"] = regions.Count == 0 ? "none" : string.Join(",", regions.Order());
        }
        checks["database"] = await DatabaseAsync(cancellationToken) ?? "ok";

        var ready = !Draining && checks["cluster"] == nameof(MemberStatus.Up) && checks.TryGetValue("quorum", out var q) && q.StartsWith("yes", StringComparison.Ordinal)
            && checks["shard-regions"] != "none" && checks["database"] == "ok";
        return (ready, checks);
    }

    /// <summary>
    /// Why this node must not start new chat requests now, or null when it may: draining after SIGTERM, the actor
    /// system gone (downed), or cut off from the majority. Before the node has joined (no members known yet) it
    /// does not refuse: admission then waits for the shard region as it always did.
    /// </summary>
    public string? RefusalReason()
    {
        if (Draining) return "draining";
        var system = services.GetService<ActorSystem>();
        if (system is null) return null;
        if (system.WhenTerminated.IsCompleted) return "removed from the cluster";
        return Quorum.Of(Cluster.Get(system).State) is { Known: true, Majority: false } q ? "cut off from the cluster majority (" + q + ")" : null;
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

    /// <summary>
    /// Refuses chat requests (OpenAI, Anthropic, <c>router.v1.Router</c> gRPC) with 503 and Retry-After while
    /// <see cref="RefusalReason"/> says so. Put it before the ingress queue so refusals take no slot.
    /// </summary>
    public static void UseClusterGate(WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var path = http.Request.Path;
            var kind = IngressPaths.Classify(path);
            var grpc = path.StartsWithSegments("/router.v1.Router");
            if (!(kind != IngressKind.None || grpc) || !HttpMethods.IsPost(http.Request.Method)
                || http.RequestServices.GetRequiredService<NodeHealth>().RefusalReason() is not { } reason)
            {
                await next(http);
                return;
            }
            var refused = new RouterException(RouterErrorCode.Overloaded,
                $"This Router node cannot take requests now ({reason}); retry on another node after the delay in Retry-After.",
                retryAfter: RefusalRetryAfter);
            if (kind == IngressKind.OpenAi) await OpenAiIngress.WriteErrorAsync(http.Response, refused);
            else if (kind == IngressKind.Anthropic) await AnthropicIngress.WriteErrorAsync(http.Response, refused);
            else WriteGrpcUnavailable(http.Response, refused.Message);
        });
    }

    /// <summary>Another node can usually serve at once; the delay only keeps a client from spinning on this one.</summary>
    public static readonly TimeSpan RefusalRetryAfter = TimeSpan.FromSeconds(1);

    // A gRPC "trailers-only" answer: status in the headers, no body (what Grpc.AspNetCore sends for an early error).
    private static void WriteGrpcUnavailable(HttpResponse response, string message)
    {
        var seconds = ((long)RefusalRetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)global::Grpc.Core.StatusCode.Unavailable).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        response.Headers["retry-after"] = seconds;
        response.Headers["x-router-error"] = nameof(RouterErrorCode.Overloaded);
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

/// <summary>
/// Whether this node sees a majority of the cluster, judged like the split-brain resolver's keep-majority: more than
/// half of the Up/Leaving members reachable, or exactly half including the member with the lowest address.
/// <see cref="Known"/> is false before this node knows any member (still joining).
/// </summary>
public readonly record struct Quorum(bool Known, bool Majority, int Reachable, int Members, Address? Oldest)
{
    public static Quorum Of(ClusterEvent.CurrentClusterState state)
    {
        var members = 0;
        var reachable = 0;
        Member? lowest = null;
        Member? oldest = null;
        var lowestReachable = false;
        foreach (var m in state.Members)
        {
            if (m.Status is not (MemberStatus.Up or MemberStatus.Leaving)) continue;
            members++;
            var isReachable = !state.Unreachable.Contains(m);
            if (isReachable) reachable++;
            if (lowest is null || Member.AddressOrdering.Compare(m.Address, lowest.Address) < 0)
            {
                lowest = m;
                lowestReachable = isReachable;
            }
            if (oldest is null || m.IsOlderThan(oldest)) oldest = m;
        }
        if (members == 0) return new Quorum(false, false, 0, 0, null);
        var majority = reachable * 2 > members || (reachable * 2 == members && lowestReachable);
        return new Quorum(true, majority, reachable, members, oldest?.Address);
    }

    public override string ToString() =>
        !Known ? "unknown (not joined yet)" : $"{(Majority ? "yes" : "no")} ({Reachable}/{Members} reachable)";
}

/// <summary>Registration of the probes (<see cref="NodeHealth"/>) and gRPC health checking.</summary>
public static class HealthHosting
{
    public static IServiceCollection AddRouterHealth(this IServiceCollection services)
    {
        services.AddSingleton<NodeHealth>();
        services.AddGrpcHealthChecks().AddCheck("router", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        return services;
    }

    public static WebApplication MapRouterHealth(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        NodeHealth.MapHealth(app);
        return app;
    }
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Grpc.Core;
using Router.Actors.Breakers;
using Router.Actors.Routing;
using Router.Actors.Usage;
using Router.Contracts.Breakers;
using G = Router.Contracts.Grpc;

namespace Router.Node.Admin;

/// <summary>
/// <c>router.v1.Admin</c>, the service behind <c>routerctl</c>: answers from the live cluster as this node sees it
/// (membership, shard regions, breakers' owners, key entities, the ledger). Authentication and the mapping of
/// refusals to status codes live in <see cref="AdminInterceptor"/>; this class throws <see cref="AdminException"/>.
/// </summary>
public sealed class AdminGrpcService(
    ActorSystem system,
    KeyAdmin keys,
    BreakerView breakerView,
    IRequiredActor<ModelBreakerActor> breakers,
    RoutePlanner planner,
    IUsageStore usage,
    MemberUpTimes upTimes,
    TimeProvider clock) : G.Admin.AdminBase
{
    // Under routerctl's 5 s deadline (the sharding stats may take two rounds), so a slow region or breaker shows up
    // as an error in the reply rather than as a dead call.
    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    public override Task<G.ClusterReply> GetCluster(G.ClusterRequest request, ServerCallContext context)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.UniqueAddress).ToHashSet();
        var reply = new G.ClusterReply { SelfAddress = cluster.SelfAddress.ToString(), Leader = state.Leader?.ToString() ?? "" };
        foreach (var m in state.Members)
        {
            var member = new G.ClusterMember
            {
                Address = m.Address.ToString(),
                Status = m.Status.ToString(),
                Reachable = !unreachable.Contains(m.UniqueAddress),
                IsLeader = m.Address.Equals(state.Leader),
                IsSelf = m.UniqueAddress.Equals(cluster.SelfUniqueAddress),
            };
            member.Roles.AddRange(m.Roles.OrderBy(r => r, StringComparer.Ordinal));
            if (upTimes.UpSince(m.UniqueAddress) is { } since) member.UpSinceUnixMs = since.ToUnixTimeMilliseconds();
            reply.Members.Add(member);
        }
        reply.Unreachable.AddRange(state.Unreachable.Select(m => m.Address.ToString()).Order(StringComparer.Ordinal));
        return Task.FromResult(reply);
    }

    public override Task<G.LeaderReply> GetLeader(G.ClusterRequest request, ServerCallContext context)
    {
        var cluster = Cluster.Get(system);
        return Task.FromResult(new G.LeaderReply { Leader = cluster.State.Leader?.ToString() ?? "", SelfAddress = cluster.SelfAddress.ToString() });
    }

    public override Task<G.ClusterOperationReply> Leave(G.AddressRequest request, ServerCallContext context)
    {
        var (cluster, address) = Member(request.Address);
        cluster.Leave(address);
        return Task.FromResult(Done([address], $"{address} is leaving the cluster"));
    }

    public override Task<G.ClusterOperationReply> Down(G.AddressRequest request, ServerCallContext context)
    {
        var (cluster, address) = Member(request.Address);
        cluster.Down(address);
        return Task.FromResult(Done([address], $"{address} marked down"));
    }

    public override Task<G.ClusterOperationReply> DownUnreachable(G.ClusterRequest request, ServerCallContext context)
    {
        var cluster = Cluster.Get(system);
        var addresses = cluster.State.Unreachable.Select(m => m.Address).OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
        foreach (var a in addresses) cluster.Down(a);
        return Task.FromResult(Done(addresses, addresses.Count == 0 ? "no unreachable members" : $"marked down: {string.Join(", ", addresses)}"));
    }

    public override async Task<G.ShardRegionsReply> GetShardRegions(G.ShardRegionsRequest request, ServerCallContext context)
    {
        var sharding = ClusterSharding.Get(system);
        var regions = await Task.WhenAll(sharding.ShardTypeNames.Order(StringComparer.Ordinal).Select(async typeName =>
        {
            var region = new G.ShardRegion { TypeName = typeName };
            var stats = ClusterStatsAsync(typeName, context.CancellationToken);
            var local = LocalStateAsync(sharding.ShardRegion(typeName), context.CancellationToken);
            var errors = new List<string>();
            if (await local is { } l)
            {
                region.LocalShards = l.Shards.Count;
                region.LocalEntities = l.Shards.Sum(s => s.EntityIds.Count);
            }
            else errors.Add("the local region did not answer in time");
            var (nodes, silent) = await stats;
            region.Nodes = nodes.Count;
            region.Shards = nodes.Values.Sum(r => r.Stats.Count);
            region.Entities = nodes.Values.Sum(r => r.Stats.Values.Sum());
            if (silent.Count > 0) errors.Add($"no answer from {string.Join(", ", silent)}");
            region.Error = string.Join("; ", errors);
            return region;
        }));
        var reply = new G.ShardRegionsReply();
        reply.Regions.AddRange(regions);
        return reply;
    }

    public override async Task<G.ShardingStatsReply> GetShardingStats(G.ShardingStatsRequest request, ServerCallContext context)
    {
        var names = ClusterSharding.Get(system).ShardTypeNames.Order(StringComparer.Ordinal).ToList();
        if (request.TypeName.Length > 0)
        {
            if (!names.Contains(request.TypeName, StringComparer.Ordinal))
                throw new AdminException(404, $"no shard region '{request.TypeName}' (known: {string.Join(", ", names)})", "type");
            names = [request.TypeName];
        }
        var types = await Task.WhenAll(names.Select(async typeName =>
        {
            var t = new G.ShardTypeStats { TypeName = typeName };
            var (nodes, silent) = await ClusterStatsAsync(typeName, context.CancellationToken);
            foreach (var (address, region) in nodes.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal))
            {
                var node = new G.NodeShardStats { Address = address.ToString(), Shards = region.Stats.Count, Entities = region.Stats.Values.Sum() };
                node.ShardDetails.AddRange(region.Stats
                    .OrderBy(s => s.Key.Length).ThenBy(s => s.Key, StringComparer.Ordinal)
                    .Select(s => new G.ShardStats { ShardId = s.Key, Entities = s.Value }));
                node.FailedShards.AddRange(region.Failed.Order(StringComparer.Ordinal));
                t.Nodes.Add(node);
            }
            t.Nodes.AddRange(silent.Select(a => new G.NodeShardStats { Address = a.ToString(), Error = "did not answer in time" }));
            if (silent.Count > 0) t.Error = $"no answer from {string.Join(", ", silent)}";
            return t;
        }));
        var reply = new G.ShardingStatsReply();
        reply.Types_.AddRange(types);
        return reply;
    }

    public override async Task<G.ListKeysReply> ListKeys(G.ListKeysRequest request, ServerCallContext context)
    {
        var reply = new G.ListKeysReply();
        reply.Keys.AddRange((await keys.ListAsync(context.CancellationToken)).Select(AdminGrpcMapping.ToSummary));
        return reply;
    }

    public override async Task<G.KeySummary> GetKey(G.KeyIdRequest request, ServerCallContext context) =>
        AdminGrpcMapping.ToSummary(await keys.GetAsync(request.Id, context.CancellationToken));

    public override async Task<G.CreateKeyReply> CreateKey(G.CreateKeyRequest request, ServerCallContext context)
    {
        var change = new KeyChange(
            request.Name,
            request.HasRpm ? request.Rpm : null,
            request.HasTpm ? request.Tpm : null,
            request.HasMaxConcurrent ? request.MaxConcurrent : null,
            request.HasBudgetUsd ? (decimal)request.BudgetUsd : null,
            request.BudgetPeriod.Length == 0 ? null : request.BudgetPeriod,
            request.Models.Count == 0 ? null : request.Models.ToList());
        var (key, state) = await keys.CreateAsync(change, context.CancellationToken);
        return new G.CreateKeyReply { Key = key, Summary = AdminGrpcMapping.ToSummary(state) };
    }

    public override async Task<G.KeySummary> RevokeKey(G.KeyIdRequest request, ServerCallContext context) =>
        AdminGrpcMapping.ToSummary(await keys.RevokeAsync(request.Id, context.CancellationToken));

    public override async Task<G.BreakersReply> GetBreakers(G.BreakersRequest request, ServerCallContext context)
    {
        var now = clock.GetElapsedTime(0).Ticks;
        var local = breakerView.All().ToDictionary(b => b.DeploymentId, StringComparer.Ordinal);
        var configured = planner.Models.SelectMany(m => m.Deployments).DistinctBy(d => d.Id).ToDictionary(d => d.Id, StringComparer.Ordinal);
        var ids = configured.Keys.Concat(local.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rows = await Task.WhenAll(ids.Select(async id =>
        {
            var info = new G.BreakerInfo
            {
                Deployment = id,
                Model = configured.TryGetValue(id, out var d) ? d.ModelId : "",
                Provider = d?.Provider ?? "",
                LocalState = local.TryGetValue(id, out var snapshot) ? snapshot.State.ToString() : nameof(BreakerStatus.Closed),
            };
            try
            {
                // The owner's answer is the truth; the local view may lag by a publication.
                var owner = await breakers.ActorRef.Ask<BreakerEvents.StateChanged>(
                    new BreakerCommands.GetState(new DeploymentId(id)), AskTimeout, context.CancellationToken);
                info.State = owner.Status;
                info.ConsecutiveFailures = owner.ConsecutiveFailures;
                if (owner.RemainingOpenMs is { } ms) info.HalfOpenInMs = ms;
                if (owner.LastFailureUnixMs is { } at) info.LastFailureUnixMs = at;
            }
            catch (AskTimeoutException)
            {
                info.Error = "the breaker's owner did not answer in time";
                if (snapshot?.RemainingOpen(now) is { } r) info.HalfOpenInMs = (long)Math.Ceiling(r.TotalMilliseconds);
            }
            return info;
        }));
        var reply = new G.BreakersReply();
        reply.Breakers.AddRange(rows);
        return reply;
    }

    public override Task<G.RoutesReply> GetRoutes(G.RoutesRequest request, ServerCallContext context)
    {
        var reply = new G.RoutesReply();
        reply.Routes.AddRange(planner.Models.Select(AdminGrpcMapping.ToRoute));
        return Task.FromResult(reply);
    }

    public override async Task<G.UsageQueryReply> GetUsage(G.UsageQueryRequest request, ServerCallContext context)
    {
        var query = UsageQueries.Parse(request.Key, request.Model, request.From, request.To, request.GroupBy, clock.GetUtcNow());
        return AdminGrpcMapping.ToUsageReply(query, await usage.QueryAsync(query, context.CancellationToken));
    }

    private (Cluster Cluster, Address Address) Member(string text)
    {
        Address address;
        try
        {
            address = Address.Parse(text.Trim());
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or FormatException)
        {
            throw new AdminException(400, $"'{text}' is not a member address (like akka.tcp://router@host:4053)", "address");
        }
        if (address.Host is null || address.Port is null)
            throw new AdminException(400, $"'{text}' is not a member address (like akka.tcp://router@host:4053)", "address");
        var cluster = Cluster.Get(system);
        if (!cluster.State.Members.Any(m => m.Address.Equals(address)))
            throw new AdminException(409, $"{address} is not a member of this cluster");
        return (cluster, address);
    }

    private static G.ClusterOperationReply Done(IEnumerable<Address> addresses, string message)
    {
        var reply = new G.ClusterOperationReply { Message = message };
        reply.Addresses.AddRange(addresses.Select(a => a.ToString()));
        return reply;
    }

    /// <summary>
    /// Shard and entity counts per member for one region type, and the members whose region did not answer. Asks the
    /// coordinator first (<see cref="GetClusterShardingStats"/>); it answers with nothing at all when a single region
    /// fails to answer (one on a member just downed, say; documented for GetClusterShardingStats: "the reply will
    /// contain an empty map of regions"), so then each current member's region is asked directly.
    /// </summary>
    private async Task<(IReadOnlyDictionary<Address, ShardRegionStats> Nodes, IReadOnlyList<Address> Silent)> ClusterStatsAsync(
        string typeName, CancellationToken ct)
    {
        try
        {
            var stats = await ClusterSharding.Get(system).ShardRegion(typeName)
                .Ask<ClusterShardingStats>(new GetClusterShardingStats(StatsTimeout), AskTimeout, ct);
            if (stats.Regions.Count > 0) return (stats.Regions, []);
        }
        catch (AskTimeoutException)
        {
            // The coordinator is away (moving, or on an unreachable member): ask the members.
        }
        var members = Cluster.Get(system).State.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving)
            .Select(m => m.Address)
            .ToList();
        var answers = await Task.WhenAll(members.Select(async address =>
        {
            var path = new RootActorPath(address) / "system" / "sharding" / typeName;
            try
            {
                return (Address: address, Stats: (ShardRegionStats?)await system.ActorSelection(path)
                    .Ask<ShardRegionStats>(GetShardRegionStats.Instance, StatsTimeout, ct));
            }
            catch (AskTimeoutException)
            {
                return (Address: address, Stats: null);
            }
        }));
        return (answers.Where(a => a.Stats is not null).ToDictionary(a => a.Address, a => a.Stats!),
            answers.Where(a => a.Stats is null).Select(a => a.Address).ToList());
    }

    private static async Task<CurrentShardRegionState?> LocalStateAsync(IActorRef region, CancellationToken ct)
    {
        try
        {
            return await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }
}

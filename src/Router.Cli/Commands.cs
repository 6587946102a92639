using System.CommandLine;
using System.Globalization;
using G = Router.Contracts.Grpc;

namespace Router.Cli;

/// <summary>The command tree and what each command prints. JSON field names are part of the contract: add, never rename.</summary>
internal sealed class Commands
{
    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly GlobalOptions _globals = new();

    public Commands(TextWriter output, TextWriter error)
    {
        _output = output;
        _error = error;
        Root = new RootCommand("routerctl: inspect and administer a Router cluster through any node's Admin gRPC service.");
        Root.Options.Add(_globals.Host);
        Root.Options.Add(_globals.AdminKey);
        Root.Options.Add(_globals.Json);
        Root.Subcommands.Add(Cluster());
        Root.Subcommands.Add(Sharding());
        Root.Subcommands.Add(Keys());
        Root.Subcommands.Add(Breakers());
        Root.Subcommands.Add(Routes());
        Root.Subcommands.Add(Usage());
        Root.Subcommands.Add(new Metrics.MetricsCommand(_globals, output, error).Command);
    }

    public RootCommand Root { get; }

    private void Action(Command command, Func<ParseResult, AdminSession, Output, Task<int>> action) =>
        command.SetAction((parse, ct) => RouterCtl.WithSessionAsync(parse, _globals, _output, _error, ct, (s, o) => action(parse, s, o)));

    private static Argument<string> AddressArgument() => new("ADDRESS") { Description = "Member address, e.g. akka.tcp://router@10.0.0.5:4053" };

    // ---- cluster -------------------------------------------------------------------------------------------------

    private Command Cluster()
    {
        var cluster = new Command("cluster", "Cluster membership and operations");

        var show = new Command("show", "Members as the node sees them: status, roles, up-since, reachability, leader");
        Action(show, async (_, s, o) =>
        {
            var r = await s.Client.GetClusterAsync(new G.ClusterRequest(), s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    self = r.SelfAddress,
                    leader = NullIfEmpty(r.Leader),
                    members = r.Members.Select(m => new
                    {
                        address = m.Address,
                        status = m.Status,
                        roles = m.Roles.ToArray(),
                        upSince = m.HasUpSinceUnixMs ? Output.JsonTime(m.UpSinceUnixMs) : null,
                        reachable = m.Reachable,
                        leader = m.IsLeader,
                        self = m.IsSelf,
                    }),
                    unreachable = r.Unreachable.ToArray(),
                });
                return RouterCtl.Ok;
            }
            o.Table(["ADDRESS", "STATUS", "ROLES", "UP SINCE", "REACHABLE", "LEADER"], r.Members.Select(m => (IReadOnlyList<string>)
            [
                m.Address + (m.IsSelf ? " (self)" : ""), m.Status, Output.List(m.Roles),
                m.HasUpSinceUnixMs ? Output.Time(m.UpSinceUnixMs) : "-", m.Reachable ? "yes" : "NO", m.IsLeader ? "*" : "",
            ]));
            o.Line($"{r.Members.Count} member(s), {r.Unreachable.Count} unreachable; leader: {(r.Leader.Length == 0 ? "none" : r.Leader)}");
            return RouterCtl.Ok;
        });
        cluster.Subcommands.Add(show);

        var leave = new Command("leave", "Ask a member to leave gracefully (hands off its shards, then stops)");
        var leaveAddress = AddressArgument();
        leave.Arguments.Add(leaveAddress);
        Action(leave, async (p, s, o) => Operation(o, await s.Client.LeaveAsync(new G.AddressRequest { Address = p.GetValue(leaveAddress)! }, s.Call())));
        cluster.Subcommands.Add(leave);

        var down = new Command("down", "Mark a member down (it is gone and will not come back by itself)");
        var downAddress = AddressArgument();
        down.Arguments.Add(downAddress);
        Action(down, async (p, s, o) => Operation(o, await s.Client.DownAsync(new G.AddressRequest { Address = p.GetValue(downAddress)! }, s.Call())));
        cluster.Subcommands.Add(down);

        var downUnreachable = new Command("down-unreachable", "Mark down every member the node sees as unreachable");
        Action(downUnreachable, async (_, s, o) => Operation(o, await s.Client.DownUnreachableAsync(new G.ClusterRequest(), s.Call())));
        cluster.Subcommands.Add(downUnreachable);

        var leader = new Command("leader", "The cluster leader as the node sees it");
        Action(leader, async (_, s, o) =>
        {
            var r = await s.Client.GetLeaderAsync(new G.ClusterRequest(), s.Call());
            if (o.Json) o.WriteJson(new { leader = NullIfEmpty(r.Leader), self = r.SelfAddress });
            else if (r.Leader.Length > 0) o.Line(r.Leader);
            if (r.Leader.Length > 0) return RouterCtl.Ok;
            _error.WriteLine("routerctl: the cluster has no leader right now");
            return RouterCtl.Refused;
        });
        cluster.Subcommands.Add(leader);
        return cluster;
    }

    private static int Operation(Output o, G.ClusterOperationReply r)
    {
        if (o.Json) o.WriteJson(new { addresses = r.Addresses.ToArray(), message = r.Message });
        else o.Line(r.Message);
        return RouterCtl.Ok;
    }

    // ---- sharding ------------------------------------------------------------------------------------------------

    private Command Sharding()
    {
        var sharding = new Command("sharding", "Shard regions and their shards and entities");

        var regions = new Command("regions", "Every shard region type: nodes, shards and entities cluster-wide and on this node");
        Action(regions, async (_, s, o) =>
        {
            var r = await s.Client.GetShardRegionsAsync(new G.ShardRegionsRequest(), s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    regions = r.Regions.Select(x => new
                    {
                        typeName = x.TypeName, nodes = x.Nodes, shards = x.Shards, entities = x.Entities,
                        localShards = x.LocalShards, localEntities = x.LocalEntities, error = NullIfEmpty(x.Error),
                    }),
                });
                return RouterCtl.Ok;
            }
            o.Table(["TYPE", "NODES", "SHARDS", "ENTITIES", "LOCAL SHARDS", "LOCAL ENTITIES", "NOTE"], r.Regions.Select(x => (IReadOnlyList<string>)
            [
                x.TypeName, Output.Num(x.Nodes), Output.Num(x.Shards), Output.Num(x.Entities),
                Output.Num(x.LocalShards), Output.Num(x.LocalEntities), x.Error,
            ]), "NOTE");
            return RouterCtl.Ok;
        });
        sharding.Subcommands.Add(regions);

        var stats = new Command("stats", "Shards and entities per node, for one region type or all");
        var type = new Argument<string?>("TYPE") { Description = "Region type name (e.g. apikey); all when left out", Arity = ArgumentArity.ZeroOrOne };
        stats.Arguments.Add(type);
        Action(stats, async (p, s, o) =>
        {
            var r = await s.Client.GetShardingStatsAsync(new G.ShardingStatsRequest { TypeName = p.GetValue(type) ?? "" }, s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    types = r.Types_.Select(t => new
                    {
                        typeName = t.TypeName,
                        error = NullIfEmpty(t.Error),
                        nodes = t.Nodes.Select(n => new
                        {
                            address = n.Address, shards = n.Shards, entities = n.Entities,
                            shardDetails = n.ShardDetails.Select(d => new { shardId = d.ShardId, entities = d.Entities }),
                            failedShards = n.FailedShards.ToArray(),
                            error = NullIfEmpty(n.Error),
                        }),
                    }),
                });
                return RouterCtl.Ok;
            }
            var rows = new List<IReadOnlyList<string>>();
            foreach (var t in r.Types_)
            {
                foreach (var n in t.Nodes)
                    rows.Add(n.Error.Length > 0
                        ? [t.TypeName, n.Address, "?", "?", "-", n.Error]
                        : [t.TypeName, n.Address, Output.Num(n.Shards), Output.Num(n.Entities), Output.List(n.FailedShards), ""]);
            }
            o.Table(["TYPE", "NODE", "SHARDS", "ENTITIES", "FAILED SHARDS", "NOTE"], rows, "NOTE");
            return RouterCtl.Ok;
        });
        sharding.Subcommands.Add(stats);
        return sharding;
    }

    // ---- keys ----------------------------------------------------------------------------------------------------

    private Command Keys()
    {
        var keys = new Command("keys", "Virtual keys: limits, live bucket levels, spend");

        var list = new Command("list", "Every key, configured and created");
        Action(list, async (_, s, o) =>
        {
            var r = await s.Client.ListKeysAsync(new G.ListKeysRequest(), s.Call());
            if (o.Json)
            {
                o.WriteJson(new { keys = r.Keys.Select(k => KeyJson(k)) });
                return RouterCtl.Ok;
            }
            o.Table(["ID", "NAME", "SOURCE", "RPM", "TPM", "CONC", "REQ LEFT", "TOK LEFT", "BUDGET", "SPENT", "MODELS", "STATUS"],
                r.Keys.Select(k => (IReadOnlyList<string>)
                [
                    k.Id, k.Name, k.Source, Output.Num(k.HasRpm ? k.Rpm : null), Output.Num(k.HasTpm ? k.Tpm : null),
                    Output.Num(k.HasMaxConcurrent ? k.MaxConcurrent : null),
                    Output.Num(k.HasRequestsRemaining ? k.RequestsRemaining : null), Output.Num(k.HasTokensRemaining ? k.TokensRemaining : null),
                    k.HasBudgetUsd ? $"{Output.Usd(k.BudgetUsd)}/{k.BudgetPeriod}" : "-", Output.Usd(k.SpentUsd), Output.List(k.Models),
                    k.Revoked ? "revoked" : "active",
                ]));
            return RouterCtl.Ok;
        });
        keys.Subcommands.Add(list);

        var show = new Command("show", "One key in detail");
        var showId = new Argument<string>("ID") { Description = "Key id (16 hex digits)" };
        show.Arguments.Add(showId);
        Action(show, async (p, s, o) =>
        {
            KeyDetail(o, await s.Client.GetKeyAsync(new G.KeyIdRequest { Id = p.GetValue(showId)! }, s.Call()), null);
            return RouterCtl.Ok;
        });
        keys.Subcommands.Add(show);

        var create = new Command("create", "Create a key; its secret is printed once");
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var rpm = new Option<int>("--rpm") { Description = "Requests per minute", Required = true };
        var tpm = new Option<int>("--tpm") { Description = "Tokens per minute", Required = true };
        var concurrent = new Option<int?>("--max-concurrent") { Description = "Requests in flight at once" };
        var budget = new Option<double?>("--budget") { Description = "Spend cap in USD per period" };
        var period = new Option<string>("--period") { Description = "Budget period", DefaultValueFactory = _ => "month" };
        period.AcceptOnlyFromAmong("day", "month", "total");
        var models = new Option<string?>("--models") { Description = "Comma-separated model ids or aliases (default: every model)" };
        create.Options.Add(name);
        create.Options.Add(rpm);
        create.Options.Add(tpm);
        create.Options.Add(concurrent);
        create.Options.Add(budget);
        create.Options.Add(period);
        create.Options.Add(models);
        Action(create, async (p, s, o) =>
        {
            var request = new G.CreateKeyRequest { Name = p.GetValue(name)!, Rpm = p.GetValue(rpm), Tpm = p.GetValue(tpm), BudgetPeriod = p.GetValue(period)! };
            if (p.GetValue(concurrent) is { } c) request.MaxConcurrent = c;
            if (p.GetValue(budget) is { } b) request.BudgetUsd = b;
            request.Models.AddRange((p.GetValue(models) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var r = await s.Client.CreateKeyAsync(request, s.Call());
            KeyDetail(o, r.Summary, r.Key);
            return RouterCtl.Ok;
        });
        keys.Subcommands.Add(create);

        var revoke = new Command("revoke", "Revoke a key: it is refused from now on, cluster-wide");
        var revokeId = new Argument<string>("ID") { Description = "Key id (16 hex digits)" };
        revoke.Arguments.Add(revokeId);
        Action(revoke, async (p, s, o) =>
        {
            var k = await s.Client.RevokeKeyAsync(new G.KeyIdRequest { Id = p.GetValue(revokeId)! }, s.Call());
            if (o.Json) o.WriteJson(KeyJson(k));
            else o.Line($"revoked key {k.Id} ({k.Name})");
            return RouterCtl.Ok;
        });
        keys.Subcommands.Add(revoke);
        return keys;
    }

    private static void KeyDetail(Output o, G.KeySummary k, string? plaintext)
    {
        if (o.Json)
        {
            o.WriteJson(KeyJson(k, plaintext));
            return;
        }
        var fields = new List<(string, string)>();
        if (plaintext is not null) fields.Add(("key", plaintext + "   (shown once: store it now)"));
        fields.AddRange(
        [
            ("id", k.Id), ("name", k.Name), ("source", k.Source), ("status", k.Revoked ? $"revoked {Output.Time(k.HasRevokedAtUnixMs ? k.RevokedAtUnixMs : null)}" : "active"),
            ("rpm", Output.Num(k.HasRpm ? k.Rpm : null)), ("tpm", Output.Num(k.HasTpm ? k.Tpm : null)),
            ("max concurrent", Output.Num(k.HasMaxConcurrent ? k.MaxConcurrent : null)),
            ("requests left", Output.Num(k.HasRequestsRemaining ? k.RequestsRemaining : null)),
            ("tokens left", Output.Num(k.HasTokensRemaining ? k.TokensRemaining : null)),
            ("in flight", Output.Num(k.InFlight)),
            ("budget", k.HasBudgetUsd ? $"{Output.Usd(k.BudgetUsd)} per {k.BudgetPeriod}" : "none"),
            ("spent (period)", Output.Usd(k.SpentUsd)), ("spent (total)", Output.Usd(k.TotalSpentUsd)),
            ("budget resets", Output.Time(k.HasBudgetResetsAtUnixMs ? k.BudgetResetsAtUnixMs : null)),
            ("models", Output.List(k.Models)),
            ("created", Output.Time(k.HasCreatedAtUnixMs ? k.CreatedAtUnixMs : null)),
            ("updated", Output.Time(k.HasUpdatedAtUnixMs ? k.UpdatedAtUnixMs : null)),
        ]);
        o.Fields(fields);
    }

    /// <summary>The same shape as the admin HTTP API's key objects.</summary>
    private static object KeyJson(G.KeySummary k, string? plaintext = null) => new
    {
        id = k.Id,
        key = plaintext,
        name = k.Name,
        source = k.Source,
        limits = new { rpm = k.HasRpm ? k.Rpm : (int?)null, tpm = k.HasTpm ? k.Tpm : (int?)null, maxConcurrent = k.HasMaxConcurrent ? k.MaxConcurrent : (int?)null },
        live = new
        {
            requestsRemaining = k.HasRequestsRemaining ? k.RequestsRemaining : (long?)null,
            tokensRemaining = k.HasTokensRemaining ? k.TokensRemaining : (long?)null,
            inFlight = k.InFlight,
        },
        budget = new
        {
            usd = k.HasBudgetUsd ? Output.Dec(k.BudgetUsd) : (decimal?)null,
            period = k.BudgetPeriod,
            spentUsd = Output.Dec(k.SpentUsd),
            totalSpentUsd = Output.Dec(k.TotalSpentUsd),
            resetsAt = k.HasBudgetResetsAtUnixMs ? Output.JsonTime(k.BudgetResetsAtUnixMs) : null,
        },
        models = k.Models.ToArray(),
        revoked = k.Revoked,
        revokedAt = k.HasRevokedAtUnixMs ? Output.JsonTime(k.RevokedAtUnixMs) : null,
        createdAt = k.HasCreatedAtUnixMs ? Output.JsonTime(k.CreatedAtUnixMs) : null,
        updatedAt = k.HasUpdatedAtUnixMs ? Output.JsonTime(k.UpdatedAtUnixMs) : null,
    };

    // ---- breakers, routes, usage ---------------------------------------------------------------------------------

    private Command Breakers()
    {
        var breakers = new Command("breakers", "Circuit breaker of every deployment: owner's state, this node's view, last failure, time to half-open");
        Action(breakers, async (_, s, o) =>
        {
            var r = await s.Client.GetBreakersAsync(new G.BreakersRequest(), s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    breakers = r.Breakers.Select(b => new
                    {
                        deployment = b.Deployment, model = NullIfEmpty(b.Model), provider = NullIfEmpty(b.Provider),
                        state = NullIfEmpty(b.State), localState = b.LocalState,
                        halfOpenInMs = b.HasHalfOpenInMs ? b.HalfOpenInMs : (long?)null,
                        lastFailure = b.HasLastFailureUnixMs ? Output.JsonTime(b.LastFailureUnixMs) : null,
                        consecutiveFailures = b.ConsecutiveFailures, error = NullIfEmpty(b.Error),
                    }),
                });
                return RouterCtl.Ok;
            }
            o.Table(["DEPLOYMENT", "MODEL", "PROVIDER", "STATE", "LOCAL VIEW", "FAILURES", "LAST FAILURE", "HALF-OPEN IN", "NOTE"],
                r.Breakers.Select(b => (IReadOnlyList<string>)
                [
                    b.Deployment, b.Model, b.Provider, b.State.Length == 0 ? "?" : b.State, b.LocalState, Output.Num(b.ConsecutiveFailures),
                    Output.Time(b.HasLastFailureUnixMs ? b.LastFailureUnixMs : null), Output.Ms(b.HasHalfOpenInMs ? b.HalfOpenInMs : null), b.Error,
                ]), "NOTE");
            return RouterCtl.Ok;
        });
        return breakers;
    }

    private Command Routes()
    {
        var routes = new Command("routes", "Models: aliases, deployments (provider, upstream model, prices, context window), fallbacks");
        Action(routes, async (_, s, o) =>
        {
            var r = await s.Client.GetRoutesAsync(new G.RoutesRequest(), s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    routes = r.Routes.Select(m => new
                    {
                        model = m.Model, aliases = m.Aliases.ToArray(), contextWindow = m.ContextWindow, tier = NullIfEmpty(m.Tier),
                        deployments = m.Deployments.Select(d => new
                        {
                            id = d.Id, provider = d.Provider, upstreamModel = d.UpstreamModel,
                            inputPerMTok = Output.Dec(d.InputPerMtok), outputPerMTok = Output.Dec(d.OutputPerMtok), contextWindow = d.ContextWindow,
                            maxConcurrent = d.HasMaxConcurrent ? d.MaxConcurrent : (int?)null,
                        }),
                        fallbacks = m.Fallbacks.ToArray(),
                    }),
                });
                return RouterCtl.Ok;
            }
            var rows = new List<IReadOnlyList<string>>();
            foreach (var m in r.Routes)
            {
                var first = true;
                foreach (var d in m.Deployments)
                {
                    rows.Add(first
                        ? [m.Model, Output.List(m.Aliases), m.Tier.Length == 0 ? "-" : m.Tier, Output.List(m.Fallbacks), d.Id, d.Provider, d.UpstreamModel, Price(d.InputPerMtok), Price(d.OutputPerMtok), Output.Num(d.ContextWindow)]
                        : ["", "", "", "", d.Id, d.Provider, d.UpstreamModel, Price(d.InputPerMtok), Price(d.OutputPerMtok), Output.Num(d.ContextWindow)]);
                    first = false;
                }
            }
            o.Table(["MODEL", "ALIASES", "TIER", "FALLBACKS", "DEPLOYMENT", "PROVIDER", "UPSTREAM MODEL", "IN $/MTOK", "OUT $/MTOK", "CONTEXT"], rows);
            return RouterCtl.Ok;
        });
        return routes;
    }

    private static string Price(double perMTok) => perMTok.ToString("0.00##", CultureInfo.InvariantCulture);

    private Command Usage()
    {
        var usage = new Command("usage", "Requests, tokens, cost and latency from the usage ledger");
        var key = new Option<string?>("--key") { Description = "Only this key id" };
        var model = new Option<string?>("--model") { Description = "Only this requested model" };
        var since = new Option<string?>("--since") { Description = "Look-back (30m, 1h, 7d) or ISO-8601 start" };
        var until = new Option<string?>("--until") { Description = "Look-back or ISO-8601 end (exclusive)" };
        var groupBy = new Option<string>("--group-by") { Description = "Grouping", DefaultValueFactory = _ => "none" };
        groupBy.AcceptOnlyFromAmong("none", "key", "model", "deployment", "day", "hour");
        usage.Options.Add(key);
        usage.Options.Add(model);
        usage.Options.Add(since);
        usage.Options.Add(until);
        usage.Options.Add(groupBy);
        Action(usage, async (p, s, o) =>
        {
            var r = await s.Client.GetUsageAsync(new G.UsageQueryRequest
            {
                Key = p.GetValue(key) ?? "", Model = p.GetValue(model) ?? "", From = p.GetValue(since) ?? "", To = p.GetValue(until) ?? "",
                GroupBy = p.GetValue(groupBy)!,
            }, s.Call());
            if (o.Json)
            {
                o.WriteJson(new
                {
                    groupBy = r.GroupBy,
                    from = r.HasFromUnixMs ? Output.JsonTime(r.FromUnixMs) : null,
                    to = r.HasToUnixMs ? Output.JsonTime(r.ToUnixMs) : null,
                    data = r.Rows.Select(x => new
                    {
                        group = NullIfEmpty(x.Group),
                        bucketStart = x.HasBucketStartUnixMs ? Output.JsonTime(x.BucketStartUnixMs) : null,
                        requests = x.Requests, inputTokens = x.InputTokens, outputTokens = x.OutputTokens,
                        costUsd = Output.Dec(x.CostUsd), avgLatencyMs = x.AvgLatencyMs, errors = x.Errors,
                    }),
                });
                return RouterCtl.Ok;
            }
            var label = r.GroupBy switch { "day" or "hour" => "BUCKET", "none" => "", var g => g.ToUpperInvariant() };
            o.Table([label.Length == 0 ? "ALL" : label, "REQUESTS", "INPUT TOK", "OUTPUT TOK", "COST", "AVG LATENCY", "ERRORS"], r.Rows.Select(x => (IReadOnlyList<string>)
            [
                x.HasBucketStartUnixMs ? Output.Time(x.BucketStartUnixMs) : x.Group.Length == 0 ? "-" : x.Group,
                Output.Num(x.Requests), Output.Num(x.InputTokens), Output.Num(x.OutputTokens), Output.Usd(x.CostUsd),
                x.AvgLatencyMs.ToString("0.0", CultureInfo.InvariantCulture) + " ms", Output.Num(x.Errors),
            ]));
            o.Line($"from {(r.HasFromUnixMs ? Output.Time(r.FromUnixMs) : "the start")} to {(r.HasToUnixMs ? Output.Time(r.ToUnixMs) : "now")}");
            return RouterCtl.Ok;
        });
        return usage;
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}

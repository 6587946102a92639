using Router.Actors.Routing;
using Router.Actors.Usage;
using Router.Contracts.RateLimiting;
using G = Router.Contracts.Grpc;

namespace Router.Node.Admin;

/// <summary>Domain records to <c>router.v1.Admin</c> messages; decimals become doubles, times Unix milliseconds.</summary>
internal static class AdminGrpcMapping
{
    public static G.KeySummary ToSummary(ApiKeyCommands.KeyState s)
    {
        var k = new G.KeySummary
        {
            Id = s.KeyId.Value,
            Name = s.Name,
            Source = s.Source.ToString().ToLowerInvariant(),
            InFlight = s.InFlight,
            BudgetPeriod = s.BudgetPeriod.ToString().ToLowerInvariant(),
            SpentUsd = (double)s.SpentUsd,
            TotalSpentUsd = (double)s.TotalSpentUsd,
            Revoked = s.Revoked,
        };
        if (s.Rpm is { } rpm) k.Rpm = rpm;
        if (s.Tpm is { } tpm) k.Tpm = tpm;
        if (s.MaxConcurrent is { } mc) k.MaxConcurrent = mc;
        if (s.RequestsRemaining is { } rr) k.RequestsRemaining = rr;
        if (s.TokensRemaining is { } tr) k.TokensRemaining = tr;
        if (s.BudgetUsd is { } b) k.BudgetUsd = (double)b;
        if (s.BudgetResetsAt is { } reset) k.BudgetResetsAtUnixMs = reset.ToUnixTimeMilliseconds();
        if (s.RevokedAt is { } revoked) k.RevokedAtUnixMs = revoked.ToUnixTimeMilliseconds();
        if (s.CreatedAt is { } created) k.CreatedAtUnixMs = created.ToUnixTimeMilliseconds();
        if (s.UpdatedAt is { } updated) k.UpdatedAtUnixMs = updated.ToUnixTimeMilliseconds();
        k.Models.AddRange(s.Models);
        return k;
    }

    public static G.Route ToRoute(ModelEntry m)
    {
        var r = new G.Route { Model = m.Id, ContextWindow = m.ContextWindow, Tier = m.Tier ?? "" };
        r.Aliases.AddRange(m.Aliases);
        r.Fallbacks.AddRange(m.Fallbacks);
        foreach (var d in m.Deployments)
        {
            var rd = new G.RouteDeployment
            {
                Id = d.Id,
                Provider = d.Provider,
                UpstreamModel = d.UpstreamModel,
                InputPerMtok = (double)d.InputPerMTok,
                OutputPerMtok = (double)d.OutputPerMTok,
                ContextWindow = d.ContextWindow,
            };
            if (d.MaxConcurrent is { } mc) rd.MaxConcurrent = mc;
            r.Deployments.Add(rd);
        }
        return r;
    }

    public static G.UsageQueryReply ToUsageReply(UsageQuery query, IReadOnlyList<UsageAggregate> rows)
    {
        var reply = new G.UsageQueryReply { GroupBy = query.GroupBy.ToString().ToLowerInvariant() };
        if (query.From is { } from) reply.FromUnixMs = from.ToUnixTimeMilliseconds();
        if (query.To is { } to) reply.ToUnixMs = to.ToUnixTimeMilliseconds();
        foreach (var a in rows)
        {
            var row = new G.UsageRow
            {
                Group = a.Group ?? "",
                Requests = a.Requests,
                InputTokens = a.InputTokens,
                OutputTokens = a.OutputTokens,
                CostUsd = (double)a.CostUsd,
                AvgLatencyMs = Math.Round(a.AvgLatencyMs, 1),
                Errors = a.Errors,
            };
            if (a.BucketStart is { } start) row.BucketStartUnixMs = start.ToUnixTimeMilliseconds();
            reply.Rows.Add(row);
        }
        return reply;
    }
}

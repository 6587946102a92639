using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Router.Actors.Breakers;
using Router.Actors.Dispatch;
using Router.Actors.Usage;
using Router.Contracts.RateLimiting;
using Router.Node.Configuration;
using Router.Node.Ingress;

namespace Router.Node.Admin;

/// <summary>
/// The admin HTTP API under <c>/admin</c>, authenticated by <c>Authorization: Bearer {Router:AdminKey}</c>:
/// keys (create, list, show, update, revoke), usage aggregates from the ledger, and node stats.
/// </summary>
public static class AdminHttpApi
{
    public static void MapAdmin(this WebApplication app, string? adminKey)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter(async (ctx, next) =>
        {
            if (!Authorized(ctx.HttpContext.Request, adminKey))
                return Error(adminKey is null ? 403 : 401,
                    adminKey is null ? "the admin API is disabled: set Router:AdminKey" : "missing or wrong admin key", null);
            try
            {
                return await next(ctx);
            }
            catch (AdminException ex)
            {
                return Error(ex.Status, ex.Message, ex.Field);
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                return Error(503, "the cluster did not answer in time; retry", null);
            }
        });

        admin.MapPost("/keys", async (HttpContext http, KeyAdmin keys) =>
        {
            var change = await ReadChangeAsync(http);
            var (key, state) = await keys.CreateAsync(change, http.RequestAborted);
            return Results.Json(KeyJson(state, key), statusCode: 201);
        });
        admin.MapGet("/keys", async (KeyAdmin keys, CancellationToken ct) =>
            Results.Json(new { data = (await keys.ListAsync(ct)).Select(s => KeyJson(s)) }));
        admin.MapGet("/keys/{id}", async (string id, KeyAdmin keys, CancellationToken ct) => Results.Json(KeyJson(await keys.GetAsync(id, ct))));
        admin.MapMethods("/keys/{id}", ["PATCH"], async (string id, HttpContext http, KeyAdmin keys) =>
            Results.Json(KeyJson(await keys.UpdateAsync(id, await ReadChangeAsync(http), http.RequestAborted))));
        admin.MapDelete("/keys/{id}", async (string id, KeyAdmin keys, CancellationToken ct) => Results.Json(KeyJson(await keys.RevokeAsync(id, ct))));

        admin.MapGet("/usage", async (HttpRequest request, IUsageStore store, TimeProvider clock, CancellationToken ct) =>
        {
            var query = ParseUsageQuery(request, clock.GetUtcNow());
            var rows = await store.QueryAsync(query, ct);
            return Results.Json(new
            {
                groupBy = query.GroupBy.ToString().ToLowerInvariant(),
                from = query.From,
                to = query.To,
                data = rows.Select(r => new
                {
                    group = r.Group,
                    bucketStart = r.BucketStart,
                    requests = r.Requests,
                    inputTokens = r.InputTokens,
                    outputTokens = r.OutputTokens,
                    costUsd = r.CostUsd,
                    avgLatencyMs = Math.Round(r.AvgLatencyMs, 1),
                    errors = r.Errors,
                }),
            });
        });

        admin.MapGet("/stats", (IServiceProvider sp, BreakerView breakers, TimeProvider clock) =>
        {
            var queue = sp.GetService<IngressQueue>();
            var limiter = sp.GetService<DeploymentLimiter>();
            var now = clock.GetElapsedTime(0).Ticks;
            return Results.Json(new
            {
                ingress = queue is null ? null : new
                {
                    queueSize = queue.Settings.QueueSize,
                    parallelism = queue.Settings.Parallelism,
                    waiting = queue.Waiting,
                    running = queue.Running,
                    shed = queue.Shed,
                    completed = queue.Completed,
                },
                batches = sp.GetService<Router.Node.Batches.BatchMetrics>()?.Snapshot(),
                deployments = limiter?.Snapshot().Select(d => new { id = d.DeploymentId, inFlight = d.InFlight, maxConcurrent = d.MaxConcurrent, refused = d.Refused }),
                breakers = breakers.All().Select(b => new
                {
                    deployment = b.DeploymentId,
                    state = b.State.ToString(),
                    halfOpenInMs = b.RemainingOpen(now) is { } r ? (long?)r.TotalMilliseconds : null,
                }),
            });
        });
    }

    private static bool Authorized(HttpRequest request, string? adminKey)
    {
        if (adminKey is null) return false;
        var auth = request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(auth[7..].Trim()), Encoding.UTF8.GetBytes(adminKey));
    }

    private static IResult Error(int status, string message, string? field) =>
        Results.Json(new { error = new { message, field } }, statusCode: status);

    private static async Task<KeyChange> ReadChangeAsync(HttpContext http)
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new AdminException(400, "the body is not valid JSON: " + ex.Message.Split(" Path:")[0]);
        }
        using (doc)
        {
            var o = doc.RootElement;
            if (o.ValueKind != JsonValueKind.Object) throw new AdminException(400, "the body must be a JSON object");
            return new KeyChange(
                Str(o, "name"), Int(o, "rpm"), Int(o, "tpm"), Int(o, "maxConcurrent"), Dec(o, "budgetUsd"), Str(o, "budgetPeriod"),
                o.TryGetProperty("models", out var m) && m.ValueKind != JsonValueKind.Null
                    ? m.ValueKind == JsonValueKind.Array ? m.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new AdminException(400, "models must be strings", "models")).ToList()
                      : throw new AdminException(400, "models must be an array of strings", "models")
                    : null,
                ClearRpm: IsNull(o, "rpm"), ClearTpm: IsNull(o, "tpm"), ClearMaxConcurrent: IsNull(o, "maxConcurrent"), ClearBudget: IsNull(o, "budgetUsd"));
        }
    }

    private static bool IsNull(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Null;

    private static string? Str(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new AdminException(400, $"{name} must be a string", name);

    private static int? Int(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new AdminException(400, $"{name} must be an integer", name);

    private static decimal? Dec(JsonElement o, string name) =>
        !o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : throw new AdminException(400, $"{name} must be a number", name);

    /// <summary><c>from</c>/<c>to</c> take ISO-8601 times or a look-back like <c>1h</c>, <c>7d</c>, <c>30m</c>.</summary>
    public static UsageQuery ParseUsageQuery(HttpRequest request, DateTimeOffset now)
    {
        var q = request.Query;
        return UsageQueries.Parse(q["key"].ToString(), q["model"].ToString(), q["from"].ToString(), q["to"].ToString(), q["groupBy"].ToString(), now);
    }

    /// <summary>Parses <c>30s</c>, <c>15m</c>, <c>1h</c>, <c>7d</c>.</summary>
    public static TimeSpan? LookBack(string value) => UsageQueries.LookBack(value);

    public static object KeyJson(ApiKeyCommands.KeyState s, string? plaintext = null) => new
    {
        id = s.KeyId.Value,
        key = plaintext,
        name = s.Name,
        source = s.Source.ToString().ToLowerInvariant(),
        limits = new { rpm = s.Rpm, tpm = s.Tpm, maxConcurrent = s.MaxConcurrent },
        live = new { requestsRemaining = s.RequestsRemaining, tokensRemaining = s.TokensRemaining, inFlight = s.InFlight },
        budget = new
        {
            usd = s.BudgetUsd,
            period = s.BudgetPeriod.ToString().ToLowerInvariant(),
            spentUsd = s.SpentUsd,
            totalSpentUsd = s.TotalSpentUsd,
            resetsAt = s.BudgetResetsAt,
        },
        models = s.Models,
        revoked = s.Revoked,
        revokedAt = s.RevokedAt,
        createdAt = s.CreatedAt,
        updatedAt = s.UpdatedAt,
    };
}

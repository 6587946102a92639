using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;

namespace Router.Node.Admin;

/// <summary>A failed admin operation: the HTTP status, and the field at fault when there is one.</summary>
public sealed class AdminException(int status, string message, string? field = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;
}

/// <summary>What an admin may set on a key (create or update); null leaves a field as it is on update.</summary>
public sealed record KeyChange(
    string? Name, int? Rpm, int? Tpm, int? MaxConcurrent, decimal? BudgetUsd, string? BudgetPeriod, IReadOnlyList<string>? Models,
    bool ClearRpm = false, bool ClearTpm = false, bool ClearMaxConcurrent = false, bool ClearBudget = false);

/// <summary>
/// Key administration over the ApiKey shard, shared by the admin HTTP API and the Admin gRPC service.
/// New keys are random 256-bit secrets shown once; only their SHA-256 is stored.
/// </summary>
public sealed class KeyAdmin(IRequiredActor<ApiKeyActor> keys, ActorSystem system)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const string Prefix = "apikey-";

    public async Task<(string Key, ApiKeyCommands.KeyState State)> CreateAsync(KeyChange change, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(change.Name)) throw new AdminException(400, "name is required", "name");
        Validate(change);
        var plaintext = "sk-router-" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var hash = ApiKeyHash.Compute(plaintext);
        var upsert = new ApiKeyCommands.Upsert(ApiKeyId.FromKeyHash(hash), change.Name!.Trim(), hash, change.Rpm, change.Tpm,
            change.MaxConcurrent, change.BudgetUsd, Period(change.BudgetPeriod), change.Models?.ToArray() ?? ["*"], KeySource.Admin);
        return (plaintext, await UpsertAsync(upsert, cancellationToken));
    }

    public async Task<ApiKeyCommands.KeyState> UpdateAsync(string id, KeyChange change, CancellationToken cancellationToken)
    {
        Validate(change);
        var current = await GetAsync(id, cancellationToken);
        if (current.Revoked) throw new AdminException(409, $"key {id} is revoked; revoked keys cannot be changed");
        var upsert = new ApiKeyCommands.Upsert(current.KeyId,
            string.IsNullOrWhiteSpace(change.Name) ? current.Name : change.Name.Trim(), "",
            change.ClearRpm ? null : change.Rpm ?? current.Rpm,
            change.ClearTpm ? null : change.Tpm ?? current.Tpm,
            change.ClearMaxConcurrent ? null : change.MaxConcurrent ?? current.MaxConcurrent,
            change.ClearBudget ? null : change.BudgetUsd ?? current.BudgetUsd,
            change.BudgetPeriod is null ? current.BudgetPeriod : Period(change.BudgetPeriod),
            change.Models?.ToArray() ?? current.Models.ToArray(), current.Source);
        return await UpsertAsync(upsert, cancellationToken);
    }

    public async Task<ApiKeyCommands.KeyState> GetAsync(string id, CancellationToken cancellationToken)
    {
        var keyId = ParseId(id);
        var state = await keys.ActorRef.Ask<ApiKeyCommands.KeyState>(new ApiKeyCommands.GetState(keyId), Timeout, cancellationToken);
        return state.Exists ? state : throw new AdminException(404, $"no key with id {keyId.Value}", "id");
    }

    public async Task<ApiKeyCommands.KeyState> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        var current = await GetAsync(id, cancellationToken);
        return await keys.ActorRef.Ask<ApiKeyCommands.KeyState>(new ApiKeyCommands.Revoke(current.KeyId), Timeout, cancellationToken);
    }

    /// <summary>Every key in the journal (configured and created ones), read from the persistence ids.</summary>
    public async Task<IReadOnlyList<ApiKeyCommands.KeyState>> ListAsync(CancellationToken cancellationToken)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql");
        var ids = await journal.CurrentPersistenceIds()
            .Where(p => p.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(p => p[Prefix.Length..])
            .RunWith(Sink.Seq<string>(), system.Materializer());
        var states = await Task.WhenAll(ids.Distinct().Select(id =>
            keys.ActorRef.Ask<ApiKeyCommands.KeyState>(new ApiKeyCommands.GetState(new ApiKeyId(id)), Timeout, cancellationToken)));
        return states.Where(s => s.Exists).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    private async Task<ApiKeyCommands.KeyState> UpsertAsync(ApiKeyCommands.Upsert upsert, CancellationToken cancellationToken)
    {
        var reply = await keys.ActorRef.Ask<object>(upsert, Timeout, cancellationToken);
        return reply switch
        {
            ApiKeyCommands.KeyState s => s,
            Status.Failure f => throw new AdminException(400, f.Cause.Message),
            _ => throw new AdminException(500, "unexpected reply from the key's owner"),
        };
    }

    private static ApiKeyId ParseId(string id) =>
        id.Length == ApiKeyId.Length && id.All(Uri.IsHexDigit) ? new ApiKeyId(id.ToLowerInvariant())
            : throw new AdminException(400, $"'{id}' is not a key id (16 hex digits)", "id");

    private static void Validate(KeyChange c)
    {
        if (c.Rpm is <= 0) throw new AdminException(400, "rpm must be a positive integer (leave it out for no limit)", "rpm");
        if (c.Tpm is <= 0) throw new AdminException(400, "tpm must be a positive integer (leave it out for no limit)", "tpm");
        if (c.MaxConcurrent is <= 0) throw new AdminException(400, "maxConcurrent must be a positive integer", "maxConcurrent");
        if (c.BudgetUsd is < 0) throw new AdminException(400, "budgetUsd must not be negative", "budgetUsd");
        if (c.BudgetPeriod is not (null or "day" or "month" or "total"))
            throw new AdminException(400, "budgetPeriod must be day, month or total", "budgetPeriod");
        if (c.Models is { Count: 0 }) throw new AdminException(400, "models must not be empty; use [\"*\"] for every model", "models");
        if (c.Models?.Any(string.IsNullOrWhiteSpace) == true) throw new AdminException(400, "models must not contain empty names", "models");
    }

    private static BudgetPeriod Period(string? p) => p switch
    {
        "day" => BudgetPeriod.Day,
        "total" => BudgetPeriod.Total,
        _ => BudgetPeriod.Month,
    };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

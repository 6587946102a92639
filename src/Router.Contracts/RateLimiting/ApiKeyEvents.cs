using System.Text;
using Router.Contracts.Serialization;

namespace Router.Contracts.RateLimiting;

/// <summary>
/// What a key's entity persists. Admissions are never persisted (buckets live in memory); only decisions
/// (create, update, revoke) and spend, in batches. Field names are the stored format: add fields, don't rename.
/// </summary>
public static class ApiKeyEvents
{
    /// <summary>A key was created or its definition changed.</summary>
    public sealed record KeyUpserted(
        ApiKeyId KeyId,
        string Name,
        string KeyHash,
        int? Rpm,
        int? Tpm,
        int? MaxConcurrent,
        decimal? BudgetUsd,
        BudgetPeriod BudgetPeriod,
        IReadOnlyList<string> Models,
        KeySource Source,
        DateTimeOffset At) : IRouterMessage
    {
        private bool PrintMembers(StringBuilder builder)
        {
            builder.Append($"KeyId = {KeyId}, Name = {Name}, Rpm = {Rpm}, Tpm = {Tpm}, MaxConcurrent = {MaxConcurrent}, ");
            builder.Append($"BudgetUsd = {BudgetUsd}, BudgetPeriod = {BudgetPeriod}, Models = [{string.Join(", ", Models)}], ");
            builder.Append($"Source = {Source}, At = {At:O}");
            return true;
        }
    }

    /// <summary>A key was revoked; persisted before the revocation is acknowledged, so it is never lost.</summary>
    public sealed record KeyRevoked(ApiKeyId KeyId, DateTimeOffset At) : IRouterMessage;

    /// <summary>
    /// Spend of a batch of completed requests (at most one budget period per batch), dated by the last of them.
    /// Batched because persisting per request would put a journal write on every completion.
    /// </summary>
    public sealed record SpendRecorded(ApiKeyId KeyId, decimal CostUsd, int Requests, long Tokens, DateTimeOffset At)
        : IRouterMessage;

    /// <summary>A bucket's level; <paramref name="RefillOffsetTicks"/> is the partial refill towards the next unit.</summary>
    public sealed record BucketLevel(long Level, long RefillOffsetTicks);

    /// <summary>A request holding a concurrency slot, so a moved entity keeps counting it.</summary>
    public sealed record InFlightRequest(string RequestId, int EstimatedTokens, DateTimeOffset AdmittedAt);

    /// <summary>
    /// Whole entity state. Bucket levels and in-flight requests are included so that an entity moved to
    /// another node (hand-off, passivation) does not start with full buckets: on restore the buckets refill
    /// only by the wall-clock time elapsed since <paramref name="TakenAt"/>.
    /// </summary>
    public sealed record ApiKeySnapshot(
        KeyUpserted Key,
        DateTimeOffset CreatedAt,
        DateTimeOffset? RevokedAt,
        decimal SpentUsd,
        DateTimeOffset BudgetPeriodStart,
        decimal TotalSpentUsd,
        BucketLevel? Requests,
        BucketLevel? Tokens,
        IReadOnlyList<InFlightRequest> InFlight,
        DateTimeOffset TakenAt) : IRouterMessage;
}

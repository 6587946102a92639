using System.Text;
using Router.Contracts.Serialization;

namespace Router.Contracts.RateLimiting;

/// <summary>Which calendar window a budget covers (UTC boundaries); <see cref="Total"/> never resets.</summary>
public enum BudgetPeriod
{
    Total = 0,
    Day = 1,
    Month = 2,
}

/// <summary>Where a key's definition came from: configuration (re-applied at every start) or the Admin API.</summary>
public enum KeySource
{
    Config = 0,
    Admin = 1,
}

/// <summary>Why an admission was refused; each ingress maps it to its status code and error shape.</summary>
public enum AdmitRefusal
{
    None = 0,
    /// <summary>No key with this id was ever created (401).</summary>
    UnknownKey = 1,
    /// <summary>The key was revoked (401); revocation is permanent.</summary>
    Revoked = 2,
    /// <summary>The key may not use the requested model (403).</summary>
    ModelNotAllowed = 3,
    /// <summary>The key's budget for the current period is spent (429 insufficient_quota).</summary>
    BudgetExhausted = 4,
    /// <summary>Requests per minute (429).</summary>
    Requests = 5,
    /// <summary>Tokens per minute (429).</summary>
    Tokens = 6,
    /// <summary>Too many requests in flight (429).</summary>
    Concurrency = 7,
    /// <summary>
    /// The request's token estimate alone exceeds the key's tokens-per-minute limit: no retry can succeed,
    /// so no Retry-After is given (OpenAI answers 429 "Request too large").
    /// </summary>
    NeverFits = 8,
}

/// <summary>
/// Commands to a key's entity (sharded by <see cref="ApiKeyId"/>) and its replies. Admit is asked by ingress
/// (the one cluster hop per request); Complete and Abort are told.
/// </summary>
public static class ApiKeyCommands
{
    /// <summary>
    /// Creates or updates a key; replies <see cref="KeyState"/> once persisted, or <c>Status.Failure</c> when
    /// invalid. Re-sending an identical definition persists nothing (config keys are upserted at every start).
    /// A revoked key stays revoked.
    /// </summary>
    /// <param name="KeyHash">Lowercase hex SHA-256 of the plaintext key; <see cref="KeyId"/> must be its prefix. Empty on an
    /// update of an existing key keeps the stored hash.</param>
    /// <param name="Models">Allowed models: exact names, <c>prefix*</c>, or <c>*</c>; empty allows all.</param>
    public sealed record Upsert(
        ApiKeyId KeyId,
        string Name,
        string KeyHash,
        int? Rpm,
        int? Tpm,
        int? MaxConcurrent,
        decimal? BudgetUsd,
        BudgetPeriod BudgetPeriod,
        IReadOnlyList<string> Models,
        KeySource Source) : IWithApiKeyId, IRouterMessage
    {
        // The hash of a weak key can be brute-forced offline, so it stays out of logs.
        private bool PrintMembers(StringBuilder builder)
        {
            builder.Append($"KeyId = {KeyId}, Name = {Name}, Rpm = {Rpm}, Tpm = {Tpm}, MaxConcurrent = {MaxConcurrent}, ");
            builder.Append($"BudgetUsd = {BudgetUsd}, BudgetPeriod = {BudgetPeriod}, Models = [{string.Join(", ", Models)}], Source = {Source}");
            return true;
        }
    }

    /// <summary>Revokes a key for good; replies <see cref="KeyState"/> once the revocation is persisted.</summary>
    public sealed record Revoke(ApiKeyId KeyId) : IWithApiKeyId, IRouterMessage;

    /// <summary>Asks to admit one request; replies <see cref="AdmitResult"/>. Never persists anything.</summary>
    /// <param name="RequestId">Unique per request; Complete/Abort name it to free its concurrency slot.</param>
    /// <param name="EstimatedTokens">Prompt tokens plus expected completion tokens, taken from TPM up front.</param>
    /// <param name="Model">The model as the client named it, checked against the key's allowed models.</param>
    /// <param name="KeyHash">The presented key's full SHA-256: the entity admits only if it matches the stored hash
    /// (the id is just a 64-bit prefix).</param>
    /// <param name="ModelNames">Other names of the model the request resolved to (its id and aliases); the key may
    /// allow any of them.</param>
    /// <param name="TraceParent">The request span's W3C <c>traceparent</c> when tracing is on: the owner's admission span
    /// continues the request's trace on whichever node it runs. Absent in messages from older nodes.</param>
    public sealed record Admit(
        ApiKeyId KeyId, string RequestId, int EstimatedTokens, string Model,
        string? KeyHash = null, IReadOnlyList<string>? ModelNames = null, string? TraceParent = null)
        : IWithApiKeyId, IRouterMessage
    {
        private bool PrintMembers(StringBuilder builder)
        {
            builder.Append($"KeyId = {KeyId}, RequestId = {RequestId}, EstimatedTokens = {EstimatedTokens}, Model = {Model}");
            return true;
        }
    }

    /// <summary>
    /// Told when an admitted request finished: TPM is reconciled with <paramref name="ActualTokens"/>, the slot
    /// freed, and <paramref name="CostUsd"/> counted against the budget. No reply.
    /// </summary>
    public sealed record Complete(ApiKeyId KeyId, string RequestId, int EstimatedTokens, int ActualTokens, decimal CostUsd)
        : IWithApiKeyId, IRouterMessage;

    /// <summary>
    /// Told when an admitted request failed before using tokens or the client went away: frees the slot and
    /// refunds the estimate. Send it on an Admit ask timeout too, or the slot is held until its lease expires.
    /// </summary>
    public sealed record Abort(ApiKeyId KeyId, string RequestId, int EstimatedTokens) : IWithApiKeyId, IRouterMessage;

    /// <summary>Replies <see cref="KeyState"/> (with <c>Exists = false</c> for an unknown key).</summary>
    public sealed record GetState(ApiKeyId KeyId) : IWithApiKeyId, IRouterMessage;

    /// <summary>Answer to <see cref="Admit"/>.</summary>
    /// <param name="RetryAfterMs">
    /// On refusal, milliseconds (rounded up) after which a retry can succeed; null when retrying cannot help
    /// (unknown, revoked, model not allowed, never fits, a lifetime budget spent).
    /// </param>
    /// <param name="Requests">RPM figures after the decision; null when the key has no RPM limit (or is unknown).</param>
    /// <param name="Tokens">TPM figures after the decision; null when the key has no TPM limit (or is unknown).</param>
    public sealed record AdmitResult(
        ApiKeyId KeyId,
        string RequestId,
        bool Admitted,
        AdmitRefusal Refusal,
        long? RetryAfterMs,
        RateLimitStatus? Requests,
        RateLimitStatus? Tokens) : IRouterMessage;

    /// <summary>A key as the Admin API shows it: definition, live limit levels, spend. Never the hash.</summary>
    /// <param name="Exists">False when no key with this id was ever created; the other fields are then defaults.</param>
    /// <param name="RequestsRemaining">Whole requests in the RPM bucket now; negative never (null = unlimited).</param>
    /// <param name="TokensRemaining">Tokens in the TPM bucket now; negative while in debt (null = unlimited).</param>
    /// <param name="SpentUsd">Spend in the current budget period.</param>
    /// <param name="BudgetResetsAt">End of the current budget period; null for <see cref="BudgetPeriod.Total"/>.</param>
    public sealed record KeyState(
        ApiKeyId KeyId,
        bool Exists,
        string Name,
        KeySource Source,
        int? Rpm,
        int? Tpm,
        int? MaxConcurrent,
        long? RequestsRemaining,
        long? TokensRemaining,
        int InFlight,
        decimal? BudgetUsd,
        BudgetPeriod BudgetPeriod,
        decimal SpentUsd,
        decimal TotalSpentUsd,
        DateTimeOffset? BudgetResetsAt,
        bool Revoked,
        DateTimeOffset? RevokedAt,
        IReadOnlyList<string> Models,
        DateTimeOffset? CreatedAt,
        DateTimeOffset? UpdatedAt) : IRouterMessage
    {
        public static KeyState NotFound(ApiKeyId keyId) => new(
            keyId, false, "", KeySource.Config, null, null, null, null, null, 0, null, BudgetPeriod.Total, 0m, 0m,
            null, false, null, [], null, null);
    }
}

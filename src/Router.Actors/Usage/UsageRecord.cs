namespace Router.Actors.Usage;

/// <summary>How a request ended, as the ledger records it (stored as the snake_case text of <see cref="UsageOutcomes.ToText"/>).</summary>
public enum UsageOutcome
{
    /// <summary>Read back from a row written by a newer node with an outcome this build does not know.</summary>
    Unknown = 0,
    Success,
    UpstreamError,
    RateLimited,
    BudgetExceeded,
    Timeout,
    Cancelled,
    Rejected,
    Overloaded,
}

/// <summary>Stable text names for <see cref="UsageOutcome"/>: the database and the admin API speak these, never the enum numbers.</summary>
public static class UsageOutcomes
{
    public static string ToText(UsageOutcome outcome) => outcome switch
    {
        UsageOutcome.Success => "success",
        UsageOutcome.UpstreamError => "upstream_error",
        UsageOutcome.RateLimited => "rate_limited",
        UsageOutcome.BudgetExceeded => "budget_exceeded",
        UsageOutcome.Timeout => "timeout",
        UsageOutcome.Cancelled => "cancelled",
        UsageOutcome.Rejected => "rejected",
        UsageOutcome.Overloaded => "overloaded",
        _ => "unknown",
    };

    /// <summary>Unknown text maps to <see cref="UsageOutcome.Unknown"/> so a rolling upgrade never breaks reads.</summary>
    public static UsageOutcome Parse(string text) => text switch
    {
        "success" => UsageOutcome.Success,
        "upstream_error" => UsageOutcome.UpstreamError,
        "rate_limited" => UsageOutcome.RateLimited,
        "budget_exceeded" => UsageOutcome.BudgetExceeded,
        "timeout" => UsageOutcome.Timeout,
        "cancelled" => UsageOutcome.Cancelled,
        "rejected" => UsageOutcome.Rejected,
        "overloaded" => UsageOutcome.Overloaded,
        _ => UsageOutcome.Unknown,
    };
}

/// <summary>
/// One row of the usage ledger: one per request, written once the request is finished. <see cref="RequestId"/> is the
/// primary key, so a batch written twice (after a retry whose first commit did land) never duplicates a row.
/// </summary>
/// <param name="RequestId">The request's id (e.g. the <c>chatcmpl-…</c> id); unique per request.</param>
/// <param name="Timestamp">When the request finished; stored in UTC with millisecond precision.</param>
/// <param name="KeyId">The virtual key's id (never the key itself).</param>
/// <param name="Model">The model the client asked for (alias or <c>auto</c> as sent).</param>
/// <param name="ServedModel">The model that answered, after aliases and fallbacks; null when nothing answered.</param>
/// <param name="CostUsd">Cost in USD, rounded by the store to <see cref="Pricing.CostDecimals"/> places.</param>
/// <param name="Attempts">Upstream attempts made, including retries and fallbacks.</param>
public sealed record UsageRecord(
    string RequestId,
    DateTimeOffset Timestamp,
    string KeyId,
    string? KeyName,
    string Model,
    string? ServedModel,
    string? DeploymentId,
    string? ProviderKeyId,
    int InputTokens,
    int OutputTokens,
    decimal CostUsd,
    int LatencyMs,
    int Attempts,
    UsageOutcome Outcome,
    bool Stream);

/// <summary>How <see cref="IUsageStore.QueryAsync"/> groups rows.</summary>
public enum UsageGroupBy { None, Key, Model, Deployment, Day, Hour }

/// <summary>Filters for ledger queries; every filter is optional and they combine with AND.</summary>
public sealed record UsageQuery
{
    /// <summary>Only rows of this key id.</summary>
    public string? KeyId { get; init; }

    /// <summary>Only rows whose requested model (<see cref="UsageRecord.Model"/>) is this.</summary>
    public string? Model { get; init; }

    /// <summary>Inclusive lower bound on <see cref="UsageRecord.Timestamp"/>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive upper bound on <see cref="UsageRecord.Timestamp"/>, so consecutive windows never overlap.</summary>
    public DateTimeOffset? To { get; init; }

    public UsageGroupBy GroupBy { get; init; }
}

/// <summary>
/// Totals for one group of ledger rows.
/// </summary>
/// <param name="Group">
/// The key id, model or deployment id of the group; for <see cref="UsageGroupBy.Day"/> <c>yyyy-MM-dd</c>, for
/// <see cref="UsageGroupBy.Hour"/> <c>yyyy-MM-ddTHH:00Z</c> (UTC); null for <see cref="UsageGroupBy.None"/> and for
/// rows without a deployment.
/// </param>
/// <param name="BucketStart">Start (UTC) of the day or hour for time groupings; null otherwise.</param>
/// <param name="Errors">Rows whose outcome is neither success nor cancelled: a client hanging up is not a failure of ours.</param>
public sealed record UsageAggregate(
    string? Group,
    DateTimeOffset? BucketStart,
    long Requests,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    double AvgLatencyMs,
    long Errors);

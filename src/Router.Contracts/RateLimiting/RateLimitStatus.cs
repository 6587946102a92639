using System.Text.Json.Serialization;

namespace Router.Contracts.RateLimiting;

/// <summary>
/// One of a key's limits as OpenAI's <c>x-ratelimit-limit-*</c>, <c>-remaining-*</c>, <c>-reset-*</c> headers show
/// it: what the limiter reports, what <see cref="ApiKeyCommands.AdmitResult"/> carries across nodes, and what the
/// ingresses write.
/// </summary>
/// <param name="ResetMs">Milliseconds until the limit is fully replenished (rounded up).</param>
public sealed record RateLimitStatus(long Limit, long Remaining, long ResetMs)
{
    /// <summary>Time until the limit is fully replenished.</summary>
    [JsonIgnore]
    public TimeSpan ResetAfter => TimeSpan.FromMilliseconds(ResetMs);

    /// <summary>
    /// The status with <paramref name="resetAfter"/> rounded up to the millisecond: a client that waits the
    /// reported time finds the limit replenished.
    /// </summary>
    public static RateLimitStatus Of(long limit, long remaining, TimeSpan resetAfter) =>
        new(limit, remaining, (resetAfter.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
}

/// <summary>A key's request and token limits at one moment; a limit the key does not have is null.</summary>
public sealed record RateLimits(RateLimitStatus? Requests, RateLimitStatus? Tokens);

using Router.Contracts.RateLimiting;

namespace Router.Contracts.Errors;

/// <summary>What went wrong, independent of the protocol; each ingress maps it to its own shape and status.</summary>
public enum RouterErrorCode
{
    InvalidRequest,
    ContextLengthExceeded,
    PayloadTooLarge,
    Unauthorized,
    PermissionDenied,
    ModelNotFound,
    RateLimited,
    QuotaExceeded,
    Overloaded,
    UpstreamError,
    UpstreamTimeout,
    Internal,
}

/// <summary>A request-level failure that an ingress turns into a protocol-shaped error response.</summary>
public sealed class RouterException(
    RouterErrorCode code, string message, string? param = null, TimeSpan? retryAfter = null, RateLimits? limits = null)
    : Exception(message)
{
    /// <summary>The key's limits at refusal, for the <c>x-ratelimit-*</c> headers of a 429.</summary>
    public RateLimits? Limits { get; } = limits;

    public RouterErrorCode Code { get; } = code;
    /// <summary>Upstream attempts made before giving up (for the ledger), when dispatch got that far.</summary>
    public int Attempts { get; init; }
    /// <summary>The request field at fault, when there is one (OpenAI's <c>param</c>).</summary>
    public string? Param { get; } = param;
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

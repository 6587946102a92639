namespace Router.Actors.Upstreams;

/// <summary>How an upstream attempt failed; dispatch decides from this whether to retry, fall back or give up.</summary>
public enum UpstreamFailureKind
{
    /// <summary>429 from the provider: this provider key is throttled.</summary>
    RateLimited,
    /// <summary>500, 502, 503, 504.</summary>
    ServerError,
    /// <summary>529 (Anthropic overloaded).</summary>
    Overloaded,
    /// <summary>No answer within the attempt timeout.</summary>
    Timeout,
    /// <summary>Could not connect.</summary>
    ConnectFailure,
    /// <summary>The connection broke or the body ended early.</summary>
    Reset,
    /// <summary>400 other than context length: the request itself is bad.</summary>
    BadRequest,
    /// <summary>400 because the prompt does not fit the model's context window.</summary>
    ContextLengthExceeded,
    /// <summary>401/403: the provider key is wrong or lacks access.</summary>
    AuthFailed,
    /// <summary>404: the provider does not know the model.</summary>
    NotFound,
    /// <summary>The body could not be understood (garbage, wrong shape).</summary>
    InvalidResponse,
}

public sealed class UpstreamException(
    UpstreamFailureKind kind, string message, int? statusCode = null, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public UpstreamFailureKind Kind { get; } = kind;
    public int? StatusCode { get; } = statusCode;
    /// <summary>What the upstream asked for in Retry-After / retry-after-ms / x-ratelimit-reset-*, if anything.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>Worth another attempt, on another key or deployment.</summary>
    public bool IsRetryable => Kind is UpstreamFailureKind.RateLimited or UpstreamFailureKind.ServerError
        or UpstreamFailureKind.Overloaded or UpstreamFailureKind.Timeout or UpstreamFailureKind.ConnectFailure
        or UpstreamFailureKind.Reset or UpstreamFailureKind.InvalidResponse;
}

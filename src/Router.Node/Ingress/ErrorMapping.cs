using Grpc.Core;
using Router.Contracts.Errors;

namespace Router.Node.Ingress;

/// <summary>One table from <see cref="RouterErrorCode"/> to each protocol's status and error vocabulary.</summary>
public static class ErrorMapping
{
    public static int HttpStatus(RouterErrorCode code) => code switch
    {
        RouterErrorCode.InvalidRequest or RouterErrorCode.ContextLengthExceeded => 400,
        RouterErrorCode.Unauthorized => 401,
        RouterErrorCode.PermissionDenied => 403,
        RouterErrorCode.ModelNotFound => 404,
        RouterErrorCode.PayloadTooLarge => 413,
        RouterErrorCode.RateLimited or RouterErrorCode.QuotaExceeded => 429,
        RouterErrorCode.UpstreamError => 502,
        RouterErrorCode.Overloaded => 503,
        RouterErrorCode.UpstreamTimeout => 504,
        _ => 500,
    };

    /// <summary>OpenAI's <c>error.type</c> and <c>error.code</c>.</summary>
    public static (string Type, string? Code) OpenAi(RouterErrorCode code) => code switch
    {
        RouterErrorCode.InvalidRequest => ("invalid_request_error", null),
        RouterErrorCode.ContextLengthExceeded => ("invalid_request_error", "context_length_exceeded"),
        RouterErrorCode.Unauthorized => ("invalid_request_error", "invalid_api_key"),
        RouterErrorCode.PermissionDenied => ("invalid_request_error", "model_not_allowed"),
        RouterErrorCode.ModelNotFound => ("invalid_request_error", "model_not_found"),
        RouterErrorCode.PayloadTooLarge => ("invalid_request_error", "request_too_large"),
        RouterErrorCode.RateLimited => ("requests", "rate_limit_exceeded"),
        RouterErrorCode.QuotaExceeded => ("insufficient_quota", "insufficient_quota"),
        RouterErrorCode.UpstreamError => ("upstream_error", "upstream_error"),
        RouterErrorCode.Overloaded => ("server_error", "overloaded"),
        RouterErrorCode.UpstreamTimeout => ("timeout", "upstream_timeout"),
        _ => ("server_error", null),
    };

    /// <summary>Anthropic's <c>error.type</c>.</summary>
    public static string Anthropic(RouterErrorCode code) => code switch
    {
        RouterErrorCode.InvalidRequest or RouterErrorCode.ContextLengthExceeded => "invalid_request_error",
        RouterErrorCode.Unauthorized => "authentication_error",
        RouterErrorCode.PermissionDenied => "permission_error",
        RouterErrorCode.ModelNotFound => "not_found_error",
        RouterErrorCode.PayloadTooLarge => "request_too_large",
        RouterErrorCode.RateLimited or RouterErrorCode.QuotaExceeded => "rate_limit_error",
        RouterErrorCode.Overloaded => "overloaded_error",
        RouterErrorCode.UpstreamTimeout => "timeout_error",
        _ => "api_error",
    };

    public static StatusCode Grpc(RouterErrorCode code) => code switch
    {
        RouterErrorCode.InvalidRequest or RouterErrorCode.ContextLengthExceeded => StatusCode.InvalidArgument,
        RouterErrorCode.Unauthorized => StatusCode.Unauthenticated,
        RouterErrorCode.PermissionDenied => StatusCode.PermissionDenied,
        RouterErrorCode.ModelNotFound => StatusCode.NotFound,
        RouterErrorCode.PayloadTooLarge => StatusCode.ResourceExhausted,
        RouterErrorCode.RateLimited or RouterErrorCode.QuotaExceeded => StatusCode.ResourceExhausted,
        RouterErrorCode.Overloaded or RouterErrorCode.UpstreamError => StatusCode.Unavailable,
        RouterErrorCode.UpstreamTimeout => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };
}

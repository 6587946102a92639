using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;

namespace Router.Contracts.Tests.Errors;

public sealed class RouterExceptionTests
{
    [Fact]
    public void Carries_code_message_param_retry_after_and_limits_as_given()
    {
        var limits = new RateLimits(new RateLimitStatus(60, 0, 12_000), new RateLimitStatus(10_000, 250, 1_500));

        var ex = new RouterException(RouterErrorCode.RateLimited, "Rate limit reached for requests", "model", TimeSpan.FromSeconds(12), limits)
        {
            Attempts = 3,
        };

        Assert.Equal(RouterErrorCode.RateLimited, ex.Code);
        Assert.Equal("Rate limit reached for requests", ex.Message);
        Assert.Equal("model", ex.Param);
        Assert.Equal(TimeSpan.FromSeconds(12), ex.RetryAfter);
        Assert.Equal(3, ex.Attempts);
        Assert.Equal(new RateLimits(new RateLimitStatus(60, 0, 12_000), new RateLimitStatus(10_000, 250, 1_500)), ex.Limits);
    }

    [Fact]
    public void Defaults_to_no_param_no_retry_after_no_limits_and_no_attempts()
    {
        var ex = new RouterException(RouterErrorCode.Internal, "boom");

        Assert.Null(ex.Param);
        Assert.Null(ex.RetryAfter);
        Assert.Null(ex.Limits);
        Assert.Equal(0, ex.Attempts);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void Error_codes_keep_their_names_and_order()
    {
        // Ingresses map codes by name to statuses and error types; logs and metrics carry the names.
        Assert.Equal(
            [
                "InvalidRequest", "ContextLengthExceeded", "PayloadTooLarge", "Unauthorized", "PermissionDenied", "ModelNotFound",
                "RateLimited", "QuotaExceeded", "Overloaded", "UpstreamError", "UpstreamTimeout", "Internal",
            ],
            Enum.GetNames<RouterErrorCode>());
    }

    [Fact]
    public void A_limit_the_key_does_not_have_is_null_in_the_limits()
    {
        var requestsOnly = new RateLimits(new RateLimitStatus(60, 59, 1_000), null);

        Assert.Equal(60, requestsOnly.Requests!.Limit);
        Assert.Equal(59, requestsOnly.Requests.Remaining);
        Assert.Equal(1_000, requestsOnly.Requests.ResetMs);
        Assert.Null(requestsOnly.Tokens);
    }
}

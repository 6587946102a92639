using Router.Contracts.Errors;

namespace Router.Contracts.Tests.Errors;

public sealed class RouterExceptionTests
{
    [Fact]
    public void Carries_code_message_param_retry_after_and_limits_as_given()
    {
        var limits = new RateLimitSnapshot(60, 0, TimeSpan.FromSeconds(12), 10_000, 250, TimeSpan.FromMilliseconds(1500));

        var ex = new RouterException(RouterErrorCode.RateLimited, "Rate limit reached for requests", "model", TimeSpan.FromSeconds(12), limits)
        {
            Attempts = 3,
        };

        Assert.Equal(RouterErrorCode.RateLimited, ex.Code);
        Assert.Equal("Rate limit reached for requests", ex.Message);
        Assert.Equal("model", ex.Param);
        Assert.Equal(TimeSpan.FromSeconds(12), ex.RetryAfter);
        Assert.Equal(3, ex.Attempts);
        Assert.Equal(new RateLimitSnapshot(60, 0, TimeSpan.FromSeconds(12), 10_000, 250, TimeSpan.FromMilliseconds(1500)), ex.Limits);
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
    public void A_limit_the_key_does_not_have_is_null_in_the_snapshot()
    {
        var requestsOnly = new RateLimitSnapshot(60, 59, TimeSpan.FromSeconds(1), null, null, null);

        Assert.Equal(60, requestsOnly.LimitRequests);
        Assert.Equal(59, requestsOnly.RemainingRequests);
        Assert.Null(requestsOnly.LimitTokens);
        Assert.Null(requestsOnly.RemainingTokens);
        Assert.Null(requestsOnly.ResetTokens);
    }
}

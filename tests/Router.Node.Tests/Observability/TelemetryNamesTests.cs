using Router.Contracts.Errors;
using Router.Actors.Telemetry;
using Router.Node.Observability;

namespace Router.Node.Tests.Observability;

/// <summary>Every error a client can get is counted under one of the outcomes the dashboards query.</summary>
public sealed class TelemetryNamesTests
{
    [Theory]
    [InlineData(RouterErrorCode.RateLimited, "rate_limited", "rate_limited")]
    [InlineData(RouterErrorCode.QuotaExceeded, "budget_exceeded", "budget_exceeded")]
    [InlineData(RouterErrorCode.Overloaded, "shed", null)]
    [InlineData(RouterErrorCode.UpstreamError, "upstream_error", null)]
    [InlineData(RouterErrorCode.UpstreamTimeout, "timeout", null)]
    [InlineData(RouterErrorCode.Unauthorized, "client_error", "unauthorized")]
    [InlineData(RouterErrorCode.PermissionDenied, "client_error", "permission_denied")]
    [InlineData(RouterErrorCode.InvalidRequest, "client_error", null)]
    [InlineData(RouterErrorCode.ModelNotFound, "client_error", null)]
    public void Error_codes_map_to_outcomes_and_refusal_reasons(RouterErrorCode code, string outcome, string? refusal)
    {
        Assert.Equal(outcome, TelemetryNames.OutcomeOf(code));
        Assert.Equal(refusal, TelemetryNames.RefusalOf(code));
    }

    [Fact]
    public void Every_error_code_has_an_outcome_from_the_documented_set()
    {
        string[] documented = ["ok", "rate_limited", "budget_exceeded", "shed", "client_error", "upstream_error", "timeout", "abandoned"];
        foreach (var code in Enum.GetValues<RouterErrorCode>())
            Assert.Contains(TelemetryNames.OutcomeOf(code), documented);
    }
}

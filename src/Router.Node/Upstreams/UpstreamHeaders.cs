using System.Globalization;
using Router.Actors.Upstreams;

namespace Router.Node.Upstreams;

/// <summary>How long an upstream asked us to wait, read by the key pool's <see cref="RetryAfterParser"/>.</summary>
internal static class UpstreamHeaders
{
    /// <summary>
    /// Every header a provider uses for it (retry-after-ms, Retry-After, x-ratelimit-reset-*,
    /// anthropic-ratelimit-requests-reset), the longest wins. Absolute times are measured against the upstream's
    /// own Date header when it sent one, so clock skew between us and the provider does not shorten a cooldown.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var headers = response.Headers.NonValidated;
        var now = headers.TryGetValues("Date", out var date)
                  && DateTimeOffset.TryParse(date.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var upstreamNow)
            ? upstreamNow
            : DateTimeOffset.UtcNow;
        return RetryAfterParser.Parse(response.Headers, now);
    }
}

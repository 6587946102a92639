using System.Globalization;

namespace Router.Node.Upstreams;

/// <summary>
/// The small part of header parsing the clients need to report how long an upstream asked us to wait.
/// The richer parser (x-ratelimit-reset-* and friends) lives with the key pool; this one only reads
/// what a 429/503 carries directly.
/// </summary>
internal static class UpstreamHeaders
{
    // A buggy or hostile upstream must not make a key cool down for ever.
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

    public static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var headers = response.Headers.NonValidated;
        // retry-after-ms (OpenAI, Azure OpenAI) is the more precise one, so it wins.
        if (headers.TryGetValues("retry-after-ms", out var ms) && TryParseNumber(ms.ToString(), out var millis))
            return Clamp(millis / 1000.0);
        if (!headers.TryGetValues("Retry-After", out var raw)) return null;
        var value = raw.ToString();
        if (TryParseNumber(value, out var seconds)) return Clamp(seconds);
        // An HTTP-date is measured against the upstream's own Date header, never our clock.
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            && headers.TryGetValues("Date", out var dateRaw)
            && DateTimeOffset.TryParse(dateRaw.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var now))
        {
            return Clamp(Math.Max(0, (at - now).TotalSeconds));
        }
        return null;
    }

    private static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out number)
        && double.IsFinite(number) && number >= 0;

    private static TimeSpan Clamp(double seconds) =>
        seconds >= MaxRetryAfter.TotalSeconds ? MaxRetryAfter : TimeSpan.FromSeconds(seconds);
}

using System.Globalization;
using System.Net.Http.Headers;

namespace Router.Actors.Upstreams;

/// <summary>
/// Reads how long a provider asked us to wait from whichever rate-limit headers it sends, so a throttled key
/// rests exactly as long as needed: not so short that it is refused again, not so long that capacity idles.
/// </summary>
/// <remarks>
/// Understood (names case-insensitive): <c>retry-after-ms</c> (milliseconds, may be fractional);
/// <c>Retry-After</c> (delta seconds or an HTTP-date); OpenAI's <c>x-ratelimit-reset-requests</c> and
/// <c>x-ratelimit-reset-tokens</c> (Go durations such as <c>1s</c>, <c>6m0s</c>, <c>20ms</c>, <c>1m30.5s</c>);
/// Anthropic's <c>anthropic-ratelimit-requests-reset</c> (RFC 3339 time). The largest sensible value wins.
/// Values that do not parse, are negative, or exceed <see cref="MaxSensible"/> are ignored; a time already
/// past counts as zero ("retry now").
/// </remarks>
public static class RetryAfterParser
{
    /// <summary>Anything longer is taken for a broken header rather than a real instruction.</summary>
    public static readonly TimeSpan MaxSensible = TimeSpan.FromDays(1);

    public const string RetryAfterMs = "retry-after-ms";
    public const string RetryAfter = "retry-after";
    public const string OpenAiResetRequests = "x-ratelimit-reset-requests";
    public const string OpenAiResetTokens = "x-ratelimit-reset-tokens";
    public const string AnthropicRequestsReset = "anthropic-ratelimit-requests-reset";

    private static readonly string[] HttpDateFormats =
    [
        "r",                                // RFC 1123: Wed, 21 Oct 2015 07:28:00 GMT
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'",   // RFC 850 (obsolete, still allowed by RFC 9110)
        "ddd MMM d HH:mm:ss yyyy",          // asctime
    ];

    private static readonly string[] Rfc3339Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Parses from any header source.</summary>
    /// <param name="header">Returns a header's value by name, case-insensitively, or null when absent.</param>
    /// <param name="now">The current wall-clock time, to turn absolute times into waits.</param>
    public static TimeSpan? Parse(Func<string, string?> header, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(header);
        TimeSpan? best = null;
        // retry-after-ms and Retry-After say the same thing; the first is the precise one (Retry-After is rounded up).
        Consider(ref best, ParseMilliseconds(header(RetryAfterMs)) ?? ParseRetryAfter(header(RetryAfter), now));
        Consider(ref best, ParseGoDuration(header(OpenAiResetRequests)));
        Consider(ref best, ParseGoDuration(header(OpenAiResetTokens)));
        Consider(ref best, ParseRfc3339(header(AnthropicRequestsReset), now));
        return best;
    }

    /// <summary>Parses from an <see cref="HttpClient"/> response, without the validation that rejects odd values.</summary>
    public static TimeSpan? Parse(HttpResponseHeaders headers, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return Parse(
            name => headers.NonValidated.TryGetValues(name, out var values) ? values.FirstOrDefault() : null,
            now);
    }

    /// <summary><c>retry-after-ms</c>: a non-negative number of milliseconds.</summary>
    public static TimeSpan? ParseMilliseconds(string? value) =>
        TryParseNonNegative(value, out var ms) ? Sensible(ms * TimeSpan.TicksPerMillisecond) : null;

    /// <summary><c>Retry-After</c>: delta seconds, or an HTTP-date taken relative to <paramref name="now"/>.</summary>
    public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (TryParseNonNegative(text, out var seconds))
        {
            return Sensible(seconds * TimeSpan.TicksPerSecond);
        }

        return DateTimeOffset.TryParseExact(text, HttpDateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var at)
            ? Until(at, now)
            : null;
    }

    /// <summary>A Go duration as OpenAI sends it (<c>1h2m3.5s</c>, <c>20ms</c>, <c>500us</c>); a bare number is seconds.</summary>
    public static TimeSpan? ParseGoDuration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.AsSpan().Trim();
        if (TryParseNonNegative(text.ToString(), out var bare))
        {
            return Sensible(bare * TimeSpan.TicksPerSecond);
        }

        double ticks = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(text[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            var unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.')
            {
                i++;
            }

            double? perUnit = text[unitStart..i] switch
            {
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" or "μs" => TimeSpan.TicksPerMicrosecond,
                "ns" => 0.01,
                _ => null,
            };
            if (perUnit is null)
            {
                return null;
            }

            ticks += number * perUnit.Value;
        }

        return Sensible(ticks);
    }

    /// <summary>An RFC 3339 time (Anthropic's resets) taken relative to <paramref name="now"/>.</summary>
    public static TimeSpan? ParseRfc3339(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return DateTimeOffset.TryParseExact(value.Trim(), Rfc3339Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var at)
            ? Until(at, now)
            : null;
    }

    private static void Consider(ref TimeSpan? best, TimeSpan? candidate)
    {
        if (candidate is { } c && (best is not { } b || c > b))
        {
            best = c;
        }
    }

    private static bool TryParseNonNegative(string? value, out double number)
    {
        number = 0;
        return !string.IsNullOrWhiteSpace(value)
            && double.TryParse(value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number)
            && double.IsFinite(number);
    }

    private static TimeSpan? Until(DateTimeOffset at, DateTimeOffset now)
    {
        var wait = at - now;
        return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait <= MaxSensible ? wait : null;
    }

    private static TimeSpan? Sensible(double ticks) =>
        double.IsFinite(ticks) && ticks >= 0 && ticks <= MaxSensible.Ticks ? TimeSpan.FromTicks((long)Math.Round(ticks)) : null;
}

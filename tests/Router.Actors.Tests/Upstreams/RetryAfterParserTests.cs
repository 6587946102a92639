using System.Net;
using System.Net.Http.Headers;
using Router.Actors.Upstreams;

namespace Router.Actors.Tests.Upstreams;

public sealed class RetryAfterParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 12, 0, 0, TimeSpan.Zero);

    private static TimeSpan? ParseHeaders(params (string Name, string Value)[] headers)
    {
        var map = headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return RetryAfterParser.Parse(name => map.GetValueOrDefault(name), Now);
    }

    [Fact]
    public void No_headers_means_no_instruction() => Assert.Null(ParseHeaders());

    [Theory]
    [InlineData("1500", 1500)]
    [InlineData("20.5", 20.5)]
    [InlineData(" 0 ", 0)]
    public void Reads_retry_after_ms(string value, double ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ParseHeaders(("retry-after-ms", value)));

    [Theory]
    [InlineData("7", 7)]
    [InlineData("0", 0)]
    [InlineData("1.5", 1.5)]
    public void Reads_retry_after_delta_seconds(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ParseHeaders(("Retry-After", value)));

    [Fact]
    public void Reads_retry_after_http_date_relative_to_now() =>
        Assert.Equal(TimeSpan.FromSeconds(90), ParseHeaders(("Retry-After", "Wed, 04 Mar 2026 12:01:30 GMT")));

    [Fact]
    public void Reads_obsolete_http_date_forms()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfterParser.ParseRetryAfter("Wednesday, 04-Mar-26 12:00:30 GMT", Now));
        Assert.Equal(TimeSpan.FromSeconds(45), RetryAfterParser.ParseRetryAfter("Wed Mar  4 12:00:45 2026", Now));
    }

    [Fact]
    public void A_date_already_past_means_retry_now() =>
        Assert.Equal(TimeSpan.Zero, ParseHeaders(("Retry-After", "Wed, 04 Mar 2026 11:00:00 GMT")));

    [Theory]
    [InlineData("1s", 1_000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("20ms", 20)]
    [InlineData("1m30.5s", 90_500)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("0.5s", 500)]
    [InlineData("250us", 0.25)]
    [InlineData("250µs", 0.25)]
    [InlineData("3", 3_000)]
    public void Reads_openai_durations(string value, double ms)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ParseHeaders(("x-ratelimit-reset-requests", value)));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), ParseHeaders(("x-ratelimit-reset-tokens", value)));
    }

    [Fact]
    public void Reads_nanoseconds_to_the_nearest_tick() =>
        Assert.Equal(TimeSpan.FromTicks(15), RetryAfterParser.ParseGoDuration("1500ns"));

    [Theory]
    [InlineData("2026-03-04T12:00:12Z", 12)]
    [InlineData("2026-03-04T12:00:12.500Z", 12.5)]
    [InlineData("2026-03-04T14:00:20+02:00", 20)]
    public void Reads_anthropic_rfc3339_reset(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ParseHeaders(("anthropic-ratelimit-requests-reset", value)));

    [Fact]
    public void Retry_after_ms_is_the_precise_form_of_retry_after_and_replaces_it() =>
        Assert.Equal(TimeSpan.FromMilliseconds(1200), ParseHeaders(("retry-after-ms", "1200"), ("Retry-After", "2")));

    [Fact]
    public void Takes_the_largest_of_several_headers()
    {
        var wait = ParseHeaders(
            ("retry-after-ms", "1200"),
            ("Retry-After", "2"),
            ("x-ratelimit-reset-requests", "20ms"),
            ("x-ratelimit-reset-tokens", "6s"),
            ("anthropic-ratelimit-requests-reset", "2026-03-04T12:00:03Z"));

        Assert.Equal(TimeSpan.FromSeconds(6), wait);
    }

    [Theory]
    [InlineData("retry-after-ms", "soon")]
    [InlineData("retry-after-ms", "-5")]
    [InlineData("retry-after-ms", "NaN")]
    [InlineData("retry-after-ms", "Infinity")]
    [InlineData("retry-after-ms", "1e400")]
    [InlineData("retry-after-ms", "")]
    [InlineData("Retry-After", "tomorrow")]
    [InlineData("Retry-After", "-1")]
    [InlineData("Retry-After", "1, 2")]
    [InlineData("Retry-After", "Wed, 32 Mar 2026 12:00:00 GMT")]
    [InlineData("Retry-After", "999999999999")]
    [InlineData("x-ratelimit-reset-requests", "1x")]
    [InlineData("x-ratelimit-reset-requests", "s")]
    [InlineData("x-ratelimit-reset-requests", "1.2.3s")]
    [InlineData("x-ratelimit-reset-requests", "-1s")]
    [InlineData("x-ratelimit-reset-requests", "1s garbage")]
    [InlineData("x-ratelimit-reset-tokens", "48h")]
    [InlineData("anthropic-ratelimit-requests-reset", "12:00:30")]
    [InlineData("anthropic-ratelimit-requests-reset", "2026-13-04T12:00:12Z")]
    [InlineData("anthropic-ratelimit-requests-reset", "30")]
    public void Ignores_garbage(string name, string value) => Assert.Null(ParseHeaders((name, value)));

    [Fact]
    public void Garbage_in_one_header_does_not_hide_a_good_one() =>
        Assert.Equal(TimeSpan.FromSeconds(4), ParseHeaders(("retry-after-ms", "banana"), ("Retry-After", "4")));

    [Fact]
    public void Reads_http_response_headers_including_values_the_typed_parser_would_reject()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", "2.5");
        response.Headers.TryAddWithoutValidation("x-ratelimit-reset-tokens", "1m30.5s");

        Assert.Equal(TimeSpan.FromSeconds(90.5), RetryAfterParser.Parse(response.Headers, Now));
    }

    [Fact]
    public void Reads_a_typed_retry_after_date_from_http_response_headers()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(42));

        Assert.Equal(TimeSpan.FromSeconds(42), RetryAfterParser.Parse(response.Headers, Now));
    }

    [Fact]
    public void Http_response_without_rate_limit_headers_gives_nothing()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);

        Assert.Null(RetryAfterParser.Parse(response.Headers, Now));
    }
}

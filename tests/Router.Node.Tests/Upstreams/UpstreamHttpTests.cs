using System.Net;
using Router.Node.Configuration;
using Router.Node.Upstreams;

namespace Router.Node.Tests.Upstreams;

public sealed class UpstreamHttpTests
{
    [Fact]
    public void Handler_is_configured_as_a_proxy_from_provider_options()
    {
        using var handler = UpstreamHttp.CreateHandler(new ProviderOptions { ConnectTimeoutMs = 1234, MaxConnections = 42 });

        Assert.False(handler.UseProxy);
        Assert.False(handler.AllowAutoRedirect);
        Assert.False(handler.UseCookies);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
        Assert.True(handler.EnableMultipleHttp2Connections);
        Assert.Equal(TimeSpan.FromMilliseconds(1234), handler.ConnectTimeout);
        Assert.Equal(42, handler.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromMinutes(2), handler.PooledConnectionLifetime);
        Assert.Equal(0, handler.MaxResponseDrainSize);
    }

    [Fact]
    public void Client_leaves_the_timeout_to_the_callers_token()
    {
        using var http = UpstreamHttp.CreateHttpClient(new ProviderOptions());

        Assert.Equal(Timeout.InfiniteTimeSpan, http.Timeout);
    }

    [Theory]
    [InlineData("openai", "OpenAiUpstreamClient")]
    [InlineData("OpenAI", "OpenAiUpstreamClient")]
    [InlineData("anthropic", "AnthropicUpstreamClient")]
    [InlineData("simulated", "SimulatedUpstreamClient")]
    public void Factory_makes_the_client_of_each_known_kind(string kind, string client)
    {
        var made = UpstreamClients.Create(new ProviderOptions { Name = "p", Kind = kind, BaseUrl = "http://127.0.0.1:9/v1" }, TimeProvider.System);

        Assert.Equal(client, made.GetType().Name);
    }

    [Fact]
    public void Factory_names_the_field_of_an_unknown_kind()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            UpstreamClients.Create(new ProviderOptions { Name = "p", Kind = "gemini" }, TimeProvider.System));

        Assert.Contains("Router:Providers", ex.Message);
        Assert.Contains("gemini", ex.Message);
    }

    [Theory]
    [InlineData(null, "30", null, 30_000.0)]
    [InlineData("1500", "2", null, 1_500.0)]
    [InlineData("250.5", null, null, 250.5)]
    [InlineData(null, "Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 30_000.0)]
    [InlineData(null, "soon", null, null)]
    [InlineData(null, "-5", null, null)]
    [InlineData(null, null, null, null)]
    public void Reads_retry_after_from_headers(string? retryAfterMs, string? retryAfter, string? date, double? expectedMs)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        if (retryAfterMs is not null) response.Headers.TryAddWithoutValidation("retry-after-ms", retryAfterMs);
        if (retryAfter is not null) response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
        if (date is not null) response.Headers.TryAddWithoutValidation("Date", date);

        var parsed = UpstreamHeaders.RetryAfter(response);

        Assert.Equal(expectedMs, parsed?.TotalMilliseconds);
    }

    [Fact]
    public void Reads_openai_reset_headers_when_a_429_has_no_retry_after()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("x-ratelimit-reset-requests", "1m30s");
        response.Headers.TryAddWithoutValidation("x-ratelimit-reset-tokens", "20ms");

        Assert.Equal(TimeSpan.FromSeconds(90), UpstreamHeaders.RetryAfter(response));
    }
}

using System.Net;
using Router.Node.Configuration;

namespace Router.Node.Upstreams;

/// <summary>
/// Builds the one pooled <see cref="SocketsHttpHandler"/> each provider shares, configured as a proxy
/// (like YARP's forwarder) rather than as a browser: no proxy discovery, redirects, cookies or decompression,
/// and connections recycled so DNS changes at the provider are picked up.
/// </summary>
public static class UpstreamHttp
{
    /// <summary>Connections are recycled after this long so a provider's DNS or load-balancer changes reach us.</summary>
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(2);

    public static SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, int maxConnectionsPerServer) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = PooledConnectionLifetime,
        MaxConnectionsPerServer = maxConnectionsPerServer,
        // An abandoned answer (client gone, attempt timed out) must close the connection at once so the
        // provider stops generating tokens we pay for, instead of draining it in the background to reuse it.
        MaxResponseDrainSize = 0,
    };

    public static SocketsHttpHandler CreateHandler(ProviderOptions provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return CreateHandler(TimeSpan.FromMilliseconds(provider.ConnectTimeoutMs), provider.MaxConnections);
    }

    /// <summary>
    /// An <see cref="HttpClient"/> without its own timeout: the attempt timeout is the caller's cancellation
    /// token, and a streamed answer may legitimately run for minutes.
    /// </summary>
    public static HttpClient CreateHttpClient(SocketsHttpHandler handler) =>
        new(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    public static HttpClient CreateHttpClient(ProviderOptions provider) => CreateHttpClient(CreateHandler(provider));
}

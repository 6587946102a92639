using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using G = Router.Contracts.Grpc;

namespace Router.Cli;

/// <summary>
/// One connection to a node's <c>router.v1.Admin</c>: h2c to <c>--host</c>, the admin key as a bearer token, and a
/// 5 s deadline on every call so an unreachable node fails fast instead of hanging a script.
/// </summary>
internal sealed class AdminSession : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private readonly GrpcChannel _channel;
    private readonly Metadata _headers;
    private readonly CancellationToken _cancellationToken;

    private AdminSession(string host, Uri address, string adminKey, CancellationToken cancellationToken)
    {
        Host = host;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = Deadline,
                UseProxy = false,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,
        });
        Client = new G.Admin.AdminClient(_channel);
        _headers = new Metadata { { "authorization", "Bearer " + adminKey } };
        _cancellationToken = cancellationToken;
    }

    public string Host { get; }

    public G.Admin.AdminClient Client { get; }

    /// <summary>Options for one call: a fresh deadline each time.</summary>
    public CallOptions Call() => new(_headers, DateTime.UtcNow + Deadline, _cancellationToken);

    /// <summary><c>host:port</c>, <c>host</c> (port 8081) or an <c>http://</c> URL; null when it is none of these.</summary>
    public static Uri? ParseHost(string host)
    {
        if (string.IsNullOrWhiteSpace(host)) return null;
        var text = host.Contains("://", StringComparison.Ordinal) ? host : "http://" + host;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/"
            || uri.Host.Length == 0 || !string.IsNullOrEmpty(uri.Query))
            return null;
        // No port given: the default gRPC port, not HTTP's 80.
        var explicitPort = host.Contains("://", StringComparison.Ordinal) ? !uri.IsDefaultPort : HasPort(host);
        return new UriBuilder(uri) { Port = explicitPort ? uri.Port : 8081 }.Uri;
    }

    private static bool HasPort(string host)
    {
        var colon = host.LastIndexOf(':');
        return colon > 0 && colon > host.LastIndexOf(']');
    }

    public static AdminSession Open(string host, Uri address, string adminKey, CancellationToken cancellationToken) =>
        new(host, address, adminKey, cancellationToken);

    /// <summary>True when the call never reached the node's service (connection refused, reset, no answer in time).</summary>
    public static bool IsConnectFailure(RpcException ex) =>
        ex.StatusCode == StatusCode.DeadlineExceeded
        || ex.Status.DebugException is HttpRequestException or IOException or SocketException
        || ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is not null;

    /// <summary>The innermost useful reason of a connect failure, on one line.</summary>
    public static string ConnectFailureReason(RpcException ex)
    {
        if (ex.StatusCode == StatusCode.DeadlineExceeded) return $"no answer within {Deadline.TotalSeconds:0} s";
        var inner = ex.Status.DebugException;
        while (inner?.InnerException is not null) inner = inner.InnerException;
        return inner?.Message ?? ex.Status.Detail;
    }

    public void Dispose() => _channel.Dispose();
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>How one HTTP attempt against one node ended.</summary>
public enum AttemptKind
{
    /// <summary>200 with a completion.</summary>
    Completed,
    /// <summary>429: the key's own limit (with Retry-After).</summary>
    RateLimited,
    /// <summary>503 with Retry-After: the node cannot serve now (overloaded, draining, cut off, rebalancing).</summary>
    Unavailable,
    /// <summary>The TCP connection was refused: nothing reached the node.</summary>
    Refused,
    /// <summary>The connection failed after it was opened and before any response arrived (reset, closed, timeout).</summary>
    NoResponse,
    /// <summary>Any other status (500, 502, 504, 503 without Retry-After, ...).</summary>
    Error,
}

/// <summary>One HTTP attempt: which node, when (since the client's clock started), what happened.</summary>
public sealed record Attempt(int Node, TimeSpan At, AttemptKind Kind, int Status, TimeSpan? RetryAfter, string Detail);

/// <summary>A logical request and every attempt it took.</summary>
public sealed record RequestResult(string KeyId, IReadOnlyList<Attempt> Attempts)
{
    public Attempt Last => Attempts[^1];

    /// <summary>Ended with a completion or with the key's own limit: the two answers a client accepts as final.</summary>
    public bool Settled => Last.Kind is AttemptKind.Completed or AttemptKind.RateLimited;

    public override string ToString() =>
        $"key {KeyId}: " + string.Join(" -> ", Attempts.Select(a => $"n{a.Node + 1}@{a.At.TotalSeconds:0.00}s {a.Kind} {a.Status} {a.Detail}"));
}

/// <summary>
/// The client the cluster tests (and the bench) use: OpenAI-compatible chat requests, with the retry behaviour we
/// ask of real clients. A 503 with Retry-After is retried after the delay on the next node; a refused or broken
/// connection is retried at once on the next node; a 429 is final (or, with <c>retryRateLimited</c>, waited out).
/// </summary>
public sealed class ChatClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Stopwatch _clock;

    public ChatClient(IReadOnlyList<Uri> nodes, Stopwatch? clock = null, TimeSpan? timeout = null)
    {
        Nodes = nodes;
        _clock = clock ?? Stopwatch.StartNew();
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 256,
        })
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
    }

    public IReadOnlyList<Uri> Nodes { get; }

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>One attempt against node <paramref name="node"/>; never throws for network failures.</summary>
    public async Task<Attempt> SendOnceAsync(int node, string secret, string model = "fast", CancellationToken ct = default)
    {
        var at = Now;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Nodes[node], "v1/chat/completions"))
        {
            Content = new StringContent(
                $$"""{"model":"{{model}}","max_tokens":16,"messages":[{"role":"user","content":"ping"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        try
        {
            using var response = await _http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            var retryAfter = RetryAfter(response);
            var status = (int)response.StatusCode;
            var kind = response.StatusCode switch
            {
                HttpStatusCode.OK => AttemptKind.Completed,
                HttpStatusCode.TooManyRequests when retryAfter is not null => AttemptKind.RateLimited,
                HttpStatusCode.ServiceUnavailable when retryAfter is not null => AttemptKind.Unavailable,
                _ => AttemptKind.Error,
            };
            return new Attempt(node, at, kind, status, retryAfter, kind == AttemptKind.Completed ? "" : Trim(body));
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
                                              || ex.HttpRequestError == HttpRequestError.ConnectionError && IsRefused(ex))
        {
            return new Attempt(node, at, AttemptKind.Refused, 0, null, "connection refused");
        }
        catch (HttpRequestException ex)
        {
            return new Attempt(node, at, AttemptKind.NoResponse, 0, null, $"{ex.HttpRequestError}: {ex.GetBaseException().Message}");
        }
        catch (IOException ex)
        {
            // HttpIOException: the connection broke while the response body was read.
            return new Attempt(node, at, AttemptKind.NoResponse, 0, null, $"{ex.GetType().Name}: {ex.GetBaseException().Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Attempt(node, at, AttemptKind.NoResponse, 0, null, "client timeout");
        }
    }

    private static bool IsRefused(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused }) return true;
        return false;
    }

    /// <summary>
    /// A logical request: starts on <paramref name="startNode"/>, follows the retry rules, gives up (unsettled) after
    /// <paramref name="maxAttempts"/> attempts or on any other error.
    /// </summary>
    public async Task<RequestResult> SendAsync(CreatedKey key, int startNode, string model = "fast", bool retryRateLimited = false,
        int maxAttempts = 40, CancellationToken ct = default)
    {
        var attempts = new List<Attempt>();
        var node = startNode % Nodes.Count;
        while (attempts.Count < maxAttempts)
        {
            var a = await SendOnceAsync(node, key.Secret, model, ct);
            attempts.Add(a);
            switch (a.Kind)
            {
                case AttemptKind.Completed:
                    return new RequestResult(key.Id, attempts);
                case AttemptKind.RateLimited when !retryRateLimited:
                    return new RequestResult(key.Id, attempts);
                case AttemptKind.RateLimited:
                    await Task.Delay(Cap(a.RetryAfter!.Value), ct);
                    break;
                case AttemptKind.Unavailable:
                    await Task.Delay(Cap(a.RetryAfter!.Value), ct);
                    node = (node + 1) % Nodes.Count;
                    break;
                case AttemptKind.Refused:
                case AttemptKind.NoResponse:
                    await Task.Delay(50, ct);
                    node = (node + 1) % Nodes.Count;
                    break;
                default:
                    return new RequestResult(key.Id, attempts);
            }
        }
        return new RequestResult(key.Id, attempts);
    }

    // The tests' clients wait what the node says, up to a few seconds: long enough to be honest, short enough to finish.
    private static TimeSpan Cap(TimeSpan t) => t > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : t;

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is { Delta: { } delta }) return delta;
        if (response.Headers.RetryAfter is { Date: { } date }) return date - DateTimeOffset.UtcNow;
        return null;
    }

    private static string Trim(string body) => body.Length <= 300 ? body : body[..300];

    public void Dispose() => _http.Dispose();
}

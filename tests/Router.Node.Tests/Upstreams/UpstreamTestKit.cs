using System.Net;
using System.Net.Sockets;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Node.Upstreams;

namespace Router.Node.Tests.Upstreams;

/// <summary>Builders shared by the upstream client tests.</summary>
internal static class UpstreamTestKit
{
    /// <summary>A safety net so a broken test fails instead of hanging; never an assertion about speed.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public static HttpClient NewHttpClient() =>
        UpstreamHttp.CreateHttpClient(UpstreamHttp.CreateHandler(TimeSpan.FromSeconds(5), maxConnectionsPerServer: 16));

    public static UpstreamCall Call(string prompt = "hello world", string key = "sk-test-key", int? maxTokens = null,
        string upstreamModel = "upstream-model-x", IReadOnlyList<ChatMessage>? messages = null, bool stream = false) =>
        new(new ChatRequest
        {
            Model = "client-alias",
            Messages = messages ?? [new ChatMessage(ChatRole.User, prompt)],
            MaxTokens = maxTokens,
            Stream = stream,
        }, upstreamModel, key, "test-deployment");

    public static async Task<List<ChatStreamEvent>> CollectAsync(IAsyncEnumerable<ChatStreamEvent> events, CancellationToken ct = default)
    {
        var list = new List<ChatStreamEvent>();
        await foreach (var e in events.WithCancellation(ct)) list.Add(e);
        return list;
    }

    /// <summary>Streams until it fails, returning the deltas seen before the failure and the failure itself.</summary>
    public static async Task<(List<string> Deltas, UpstreamException Failure)> StreamUntilFailureAsync(IAsyncEnumerable<ChatStreamEvent> events)
    {
        var deltas = new List<string>();
        try
        {
            await foreach (var e in events)
            {
                if (e is ContentDelta d) deltas.Add(d.Text);
            }
        }
        catch (UpstreamException ex)
        {
            return (deltas, ex);
        }
        throw new Xunit.Sdk.XunitException($"The stream ended without failing after {deltas.Count} deltas.");
    }

    /// <summary>A port nothing listens on: bound, read back, released.</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

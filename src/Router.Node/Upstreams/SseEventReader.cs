using System.Net.ServerSentEvents;

namespace Router.Node.Upstreams;

/// <summary>
/// Reads a provider's SSE body event by event as it arrives (never the whole body), parsing each event's
/// data straight from the bytes, and maps transport and parse failures like the rest of the call.
/// </summary>
internal sealed class SseEventReader<T> : IAsyncDisposable
{
    // After the provider's terminal event only the end of the body should follow; reading it lets an
    // HTTP/1.1 connection go back to the pool. A provider that keeps the body open gets this long.
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _reading;
    private readonly IAsyncEnumerator<SseItem<T>> _items;
    private readonly string _label;
    private readonly CancellationToken _callerToken;

    private SseEventReader(CancellationTokenSource reading, IAsyncEnumerator<SseItem<T>> items, string label, CancellationToken callerToken)
    {
        _reading = reading;
        _items = items;
        _label = label;
        _callerToken = callerToken;
    }

    public static async Task<SseEventReader<T>> OpenAsync(
        HttpResponseMessage response, SseItemParser<T> parse, string label, CancellationToken ct)
    {
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamFailures.TryTranslate(ex, label, ct, out var mapped))
        {
            throw mapped;
        }
        // Our own source, linked to the caller's, so the final drain can be bounded without touching the caller's token.
        var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var items = SseParser.Create(body, parse).EnumerateAsync(reading.Token).GetAsyncEnumerator(reading.Token);
        return new SseEventReader<T>(reading, items, label, ct);
    }

    public SseItem<T> Current => _items.Current;

    public async ValueTask<bool> MoveNextAsync()
    {
        try
        {
            return await _items.MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamFailures.TryTranslate(ex, _label, _callerToken, out var mapped))
        {
            throw mapped;
        }
    }

    /// <summary>Reads past the terminal event to the end of the body, briefly, so the connection can be reused.</summary>
    public async ValueTask DrainAsync()
    {
        if (_callerToken.IsCancellationRequested) return;
        _reading.CancelAfter(DrainLimit);
        try
        {
            while (await _items.MoveNextAsync().ConfigureAwait(false))
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException
                                       or System.Text.Json.JsonException)
        {
            // The answer is already complete; at worst the connection is closed instead of reused.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _items.DisposeAsync().ConfigureAwait(false);
        _reading.Dispose();
    }
}

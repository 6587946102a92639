using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;

namespace Router.Actors.Dispatch;

/// <summary>Where a request was served from, for response headers and the ledger.</summary>
public sealed record ServedBy(Deployment Deployment, string? ProviderKeyId, int Attempts);

/// <summary>A finished non-streamed answer.</summary>
public sealed record DispatchedCompletion(ChatCompletion Completion, ServedBy ServedBy);

/// <summary>
/// A stream that has produced its first event, so it is committed to one deployment: from here on a failure
/// ends the stream with an error instead of falling back (the client may already have bytes). Reading it to the
/// end, failing, or disposing it early settles the attempt (key lease, breaker outcome) exactly once.
/// </summary>
public sealed class DispatchedStream(
    ServedBy servedBy,
    ChatStreamEvent first,
    IAsyncEnumerator<ChatStreamEvent> rest,
    Action<TokenUsage?> succeeded,
    Action<UpstreamException> failed,
    string? upstreamId = null) : IAsyncDisposable
{
    private bool _finished;

    public ServedBy ServedBy { get; } = servedBy;

    /// <summary>The upstream's id for this answer, when its first event named one.</summary>
    public string? UpstreamId { get; } = upstreamId;

    /// <summary>All events, starting with the one already read. Enumerate once.</summary>
    public async IAsyncEnumerable<ChatStreamEvent> ReadAllAsync()
    {
        yield return first;
        if (first is StreamFinished f0) { Finish(f0); yield break; }
        while (true)
        {
            ChatStreamEvent current;
            try
            {
                if (!await rest.MoveNextAsync().ConfigureAwait(false))
                {
                    // Ended without a finish event: the upstream cut the stream.
                    var cut = new UpstreamException(UpstreamFailureKind.Reset, "The upstream ended the stream before it finished.");
                    _finished = true;
                    failed(cut);
                    throw cut;
                }
                current = rest.Current;
            }
            catch (UpstreamException ex) when (!_finished)
            {
                _finished = true;
                failed(ex);
                throw;
            }
            yield return current;
            if (current is StreamFinished f) { Finish(f); yield break; }
        }
    }

    private void Finish(StreamFinished f)
    {
        _finished = true;
        succeeded(f.Usage);
    }

    public async ValueTask DisposeAsync()
    {
        await rest.DisposeAsync().ConfigureAwait(false);
        // Disposed before the end: the client left. Settle without blaming the upstream.
        if (!_finished) succeeded(null);
    }
}

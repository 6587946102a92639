using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;

namespace Router.Actors.Dispatch;

/// <summary>Where a request was served from, for response headers and the ledger.</summary>
/// <param name="Passthrough">The upstream spoke the client's own wire: the answer is relayed as the upstream wrote it.</param>
public sealed record ServedBy(Deployment Deployment, string? ProviderKeyId, int Attempts, bool Passthrough = false);

/// <summary>A finished non-streamed answer.</summary>
public sealed record DispatchedCompletion(ChatCompletion Completion, ServedBy ServedBy);

/// <summary>Finished embeddings.</summary>
public sealed record DispatchedEmbeddings(EmbeddingResult Embeddings, ServedBy ServedBy);

/// <summary>
/// A stream that has produced its first committing event, so it is committed to one deployment: from here on a failure
/// ends the stream with an error instead of falling back (the client may already have bytes). Reading it to the
/// end, failing, or disposing it early settles the attempt (key lease, breaker outcome) exactly once; a client that
/// leaves early settles it as abandoned, which neither blames nor credits the deployment.
/// </summary>
public sealed class DispatchedStream(
    ServedBy servedBy,
    IReadOnlyList<ChatStreamEvent> head,
    IAsyncEnumerator<ChatStreamEvent> rest,
    Action<TokenUsage?> succeeded,
    Action<UpstreamException> failed,
    Action abandoned,
    string? upstreamId = null) : IAsyncDisposable
{
    private bool _finished;

    public ServedBy ServedBy { get; } = servedBy;

    /// <summary>The upstream's id for this answer, when its first event named one.</summary>
    public string? UpstreamId { get; } = upstreamId;

    /// <summary>All events, starting with those already read (a preamble, then the first committing event). Enumerate once.</summary>
    public async IAsyncEnumerable<ChatStreamEvent> ReadAllAsync()
    {
        foreach (var e in head)
        {
            yield return e;
            if (e is StreamFinished f0) { Finish(f0); yield break; }
        }
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
        // Disposed before the end: the client left. Neither a success nor the upstream's fault.
        if (!_finished)
        {
            _finished = true;
            abandoned();
        }
    }
}

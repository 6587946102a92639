using Router.Actors.Routing;
using Router.Contracts.Chat;

namespace Router.Actors.Dispatch;

/// <summary>Where a request was served from, for response headers and the ledger.</summary>
public sealed record ServedBy(Deployment Deployment, string? ProviderKeyId, int Attempts);

/// <summary>A finished non-streamed answer.</summary>
public sealed record DispatchedCompletion(ChatCompletion Completion, ServedBy ServedBy);

/// <summary>
/// A stream that has produced its first event, so it is committed to one deployment: from here on a failure
/// ends the stream with an error instead of falling back (the client may already have bytes).
/// </summary>
public sealed class DispatchedStream(ServedBy servedBy, ChatStreamEvent first, IAsyncEnumerator<ChatStreamEvent> rest) : IAsyncDisposable
{
    public ServedBy ServedBy { get; } = servedBy;

    /// <summary>All events, starting with the one already read. Enumerate once.</summary>
    public async IAsyncEnumerable<ChatStreamEvent> ReadAllAsync()
    {
        yield return first;
        while (await rest.MoveNextAsync()) yield return rest.Current;
    }

    public ValueTask DisposeAsync() => rest.DisposeAsync();
}

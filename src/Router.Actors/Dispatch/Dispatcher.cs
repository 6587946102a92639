using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Actors.Dispatch;

public sealed record DispatchSettings(int MaxAttempts, TimeSpan AttemptTimeout, TimeSpan Deadline);

/// <summary>
/// The per-request attempt loop: tries the plan's deployments in order with the provider's keys, moves on when
/// an attempt fails in a retryable way, and gives up with one clean error. A stream is committed once its first
/// event is read; before that, any failure may still fall back.
/// </summary>
public sealed class Dispatcher(IReadOnlyDictionary<string, ProviderRuntime> providers, DispatchSettings settings, TimeProvider clock)
{
    private int _roundRobin;

    public Task<DispatchedCompletion> CompleteAsync(ChatRequest request, RoutePlan plan, CancellationToken cancellationToken) =>
        RunAsync(plan, request, async (provider, call, served, attemptCts) =>
        {
            var completion = await provider.Client.CompleteAsync(call, attemptCts.Token).ConfigureAwait(false);
            attemptCts.Dispose();
            return new DispatchedCompletion(completion, served);
        }, cancellationToken);

    public Task<DispatchedStream> StreamAsync(ChatRequest request, RoutePlan plan, CancellationToken cancellationToken) =>
        RunAsync(plan, request, async (provider, call, served, attemptCts) =>
        {
            var events = provider.Client.StreamAsync(call, attemptCts.Token).GetAsyncEnumerator(attemptCts.Token);
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false))
                    throw new UpstreamException(UpstreamFailureKind.Reset, "The upstream closed the stream without sending anything.");
            }
            catch
            {
                await events.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            // Committed: the attempt timeout bounded time to first token; the rest of the stream may take longer.
            attemptCts.CancelAfter(Timeout.InfiniteTimeSpan);
            return new DispatchedStream(served, events.Current, new OwningEnumerator(events, attemptCts));
        }, cancellationToken);

    private async Task<T> RunAsync<T>(
        RoutePlan plan, ChatRequest request,
        Func<ProviderRuntime, UpstreamCall, ServedBy, CancellationTokenSource, Task<T>> attempt,
        CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        UpstreamException? last = null;
        var attempts = 0;
        foreach (var deployment in plan.Candidates)
        {
            if (!providers.TryGetValue(deployment.Provider, out var provider)) continue;
            var keys = provider.Keys.Count == 0 ? [null] : RotatedKeys(provider.Keys);
            foreach (var key in keys)
            {
                if (attempts >= settings.MaxAttempts || clock.GetElapsedTime(started) >= settings.Deadline)
                    throw GiveUp(last, attempts);
                attempts++;
                var call = new UpstreamCall(request, deployment.UpstreamModel, key?.Secret, deployment.Id);
                var served = new ServedBy(deployment, key?.Id, attempts);
                var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attemptCts.CancelAfter(settings.AttemptTimeout);
                try
                {
                    return await attempt(provider, call, served, attemptCts).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    attemptCts.Dispose();
                    last = new UpstreamException(UpstreamFailureKind.Timeout,
                        $"The upstream did not answer within {settings.AttemptTimeout.TotalSeconds:0.#} s.");
                }
                catch (UpstreamException ex)
                {
                    attemptCts.Dispose();
                    last = ex;
                    if (!ex.IsRetryable && ex.Kind is not (UpstreamFailureKind.AuthFailed or UpstreamFailureKind.ContextLengthExceeded))
                        throw GiveUp(ex, attempts);
                    // A bad key or a too-small window is about this key or deployment: the next may do.
                    if (ex.Kind is UpstreamFailureKind.ContextLengthExceeded or UpstreamFailureKind.ServerError
                        or UpstreamFailureKind.Overloaded or UpstreamFailureKind.Timeout or UpstreamFailureKind.ConnectFailure)
                        break;
                }
                catch
                {
                    attemptCts.Dispose();
                    throw;
                }
            }
        }
        throw GiveUp(last, attempts);
    }

    private IEnumerable<ProviderKey?> RotatedKeys(IReadOnlyList<ProviderKey> keys)
    {
        var start = (int)((uint)Interlocked.Increment(ref _roundRobin) % (uint)keys.Count);
        for (var i = 0; i < keys.Count; i++) yield return keys[(start + i) % keys.Count];
    }

    /// <summary>The one error the client sees when no attempt succeeded, carrying the last upstream's reason.</summary>
    public static RouterException GiveUp(UpstreamException? last, int attempts)
    {
        if (last is null)
            return new RouterException(RouterErrorCode.UpstreamError, "No deployment of this model is available.");
        var suffix = attempts > 1 ? $" (after {attempts} attempts)" : "";
        return last.Kind switch
        {
            UpstreamFailureKind.Timeout => new RouterException(RouterErrorCode.UpstreamTimeout, last.Message + suffix),
            UpstreamFailureKind.BadRequest => new RouterException(RouterErrorCode.InvalidRequest, last.Message),
            UpstreamFailureKind.ContextLengthExceeded => new RouterException(RouterErrorCode.ContextLengthExceeded, last.Message, "messages"),
            UpstreamFailureKind.RateLimited => new RouterException(RouterErrorCode.Overloaded,
                "Every upstream key for this model is rate limited: " + last.Message + suffix, retryAfter: last.RetryAfter ?? TimeSpan.FromSeconds(1)),
            _ => new RouterException(RouterErrorCode.UpstreamError, "Upstream failed: " + last.Message + suffix),
        };
    }

    /// <summary>Keeps the attempt's token source alive as long as the committed stream is read.</summary>
    private sealed class OwningEnumerator(IAsyncEnumerator<ChatStreamEvent> inner, CancellationTokenSource cts) : IAsyncEnumerator<ChatStreamEvent>
    {
        public ChatStreamEvent Current => inner.Current;
        public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();
        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            cts.Dispose();
        }
    }
}

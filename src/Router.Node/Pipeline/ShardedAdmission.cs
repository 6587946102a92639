using System.Collections.Concurrent;
using Router.Actors.Telemetry;
using Akka.Actor;
using Akka.Hosting;
using Router.Actors.RateLimiting;
using Router.Actors.Routing;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;

namespace Router.Node.Pipeline;

/// <summary>
/// Admission through the key's single owner: one ask to the ApiKey shard per request (limits, budget, allow-list
/// and the key check in one hop); completion and abort are told. Keys are held only as SHA-256.
/// </summary>
public sealed class ShardedAdmission(IRequiredActor<ApiKeyActor> keys, TimeProvider clock) : IAdmission
{
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan UnknownKeyMemory = TimeSpan.FromSeconds(10);
    private const int UnknownKeyMemorySize = 10_000;

    // Keys the owner said it does not know, remembered briefly so a flood of bad keys does not become a flood
    // of entity start-ups and journal reads.
    private readonly ConcurrentDictionary<string, long> _unknown = new(StringComparer.Ordinal);

    public ValueTask<Caller> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken) =>
        AuthenticateAsync(KeyHash.Of(presentedKey), cancellationToken);

    public async ValueTask<Caller> AuthenticateAsync(KeyHash key, CancellationToken cancellationToken)
    {
        var state = await StateAsync(key.Value, cancellationToken).ConfigureAwait(false);
        return new Caller(state.KeyId.Value, state.Name);
    }

    public async ValueTask<Func<ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var state = await StateAsync(ApiKeyHash.Compute(presentedKey), cancellationToken).ConfigureAwait(false);
        return m => m.Aliases.Prepend(m.Id).Any(n => ModelAllowList.Allows(state.Models, n));
    }

    private async Task<ApiKeyCommands.KeyState> StateAsync(string hash, CancellationToken cancellationToken)
    {
        ThrowIfRememberedUnknown(hash);
        var state = await AskAsync<ApiKeyCommands.KeyState>(new ApiKeyCommands.GetState(ApiKeyId.FromKeyHash(hash)), cancellationToken).ConfigureAwait(false);
        if (!state.Exists) throw Unknown(hash);
        if (state.Revoked) throw Revoked();
        return state;
    }

    public async ValueTask<AdmissionTicket> AdmitAsync(KeyHash key, string requestedModel, ModelEntry model, int estimatedTokens, CancellationToken cancellationToken)
    {
        var hash = key.Value;
        ThrowIfRememberedUnknown(hash);
        var id = ApiKeyId.FromKeyHash(hash);
        var requestId = Guid.NewGuid().ToString("N");
        var admit = new ApiKeyCommands.Admit(id, requestId, estimatedTokens, requestedModel, hash, [.. model.Aliases.Prepend(model.Id)],
            RouterActivity.CurrentTraceParent());
        ApiKeyCommands.AdmitResult result;
        try
        {
            result = await AskAsync<ApiKeyCommands.AdmitResult>(admit, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The owner may have admitted before the ask gave up: release whatever it took.
            keys.ActorRef.Tell(new ApiKeyCommands.Abort(id, requestId, estimatedTokens));
            throw;
        }
        var limits = Limits(result);
        if (result.Admitted) return new AdmissionTicket(new Caller(id.Value, ""), requestId, estimatedTokens, limits);

        var retryAfter = result.RetryAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
        throw result.Refusal switch
        {
            AdmitRefusal.UnknownKey => Unknown(hash),
            AdmitRefusal.Revoked => Revoked(),
            AdmitRefusal.ModelNotAllowed => new RouterException(RouterErrorCode.PermissionDenied,
                $"This key may not use the model '{requestedModel}'.", "model"),
            AdmitRefusal.BudgetExhausted => new RouterException(RouterErrorCode.QuotaExceeded,
                "You exceeded your current quota: this key's budget is spent" + (retryAfter is null ? "." : " until the period resets."),
                retryAfter: retryAfter, limits: limits),
            AdmitRefusal.NeverFits => new RouterException(RouterErrorCode.RateLimited,
                $"This request needs about {estimatedTokens} tokens, more than the key's whole tokens-per-minute limit "
                + $"({limits?.Tokens?.Limit}); it can never fit. Shorten the prompt or lower max_tokens.", "messages", limits: limits),
            AdmitRefusal.Tokens => new RouterException(RouterErrorCode.RateLimited,
                $"Rate limit reached for tokens per minute (limit {limits?.Tokens?.Limit}). Retry after the delay in Retry-After.",
                retryAfter: retryAfter ?? TimeSpan.FromSeconds(1), limits: limits),
            AdmitRefusal.Concurrency => new RouterException(RouterErrorCode.RateLimited,
                "Too many concurrent requests for this key. Retry after the delay in Retry-After.",
                retryAfter: retryAfter ?? TimeSpan.FromSeconds(1), limits: limits),
            _ => new RouterException(RouterErrorCode.RateLimited,
                $"Rate limit reached for requests per minute (limit {limits?.Requests?.Limit}). Retry after the delay in Retry-After.",
                retryAfter: retryAfter ?? TimeSpan.FromSeconds(1), limits: limits),
        };
    }

    public void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd) =>
        keys.ActorRef.Tell(new ApiKeyCommands.Complete(new ApiKeyId(ticket.Caller.KeyId), ticket.RequestId, ticket.EstimatedTokens, usage.TotalTokens, costUsd));

    public void Abort(AdmissionTicket ticket) =>
        keys.ActorRef.Tell(new ApiKeyCommands.Abort(new ApiKeyId(ticket.Caller.KeyId), ticket.RequestId, ticket.EstimatedTokens));

    private async Task<T> AskAsync<T>(object message, CancellationToken cancellationToken)
    {
        try
        {
            return await keys.ActorRef.Ask<T>(message, AskTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            throw new RouterException(RouterErrorCode.Overloaded,
                "The key's limits could not be checked in time (the cluster may be rebalancing). Retry shortly.",
                retryAfter: TimeSpan.FromSeconds(1));
        }
    }

    private static RateLimits? Limits(ApiKeyCommands.AdmitResult r) =>
        r.Requests is null && r.Tokens is null ? null : new RateLimits(r.Requests, r.Tokens);

    private void ThrowIfRememberedUnknown(string hash)
    {
        if (_unknown.TryGetValue(hash, out var at) && clock.GetElapsedTime(at) < UnknownKeyMemory)
            throw new RouterException(RouterErrorCode.Unauthorized, "Incorrect API key provided.");
    }

    private RouterException Unknown(string hash)
    {
        if (_unknown.Count >= UnknownKeyMemorySize) _unknown.Clear();
        _unknown[hash] = clock.GetTimestamp();
        return new RouterException(RouterErrorCode.Unauthorized, "Incorrect API key provided.");
    }

    private static RouterException Revoked() => new(RouterErrorCode.Unauthorized, "This API key has been revoked.");
}

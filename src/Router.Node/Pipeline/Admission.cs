using Router.Actors.Routing;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;

namespace Router.Node.Pipeline;

/// <summary>Who is calling: the virtual key's id (a hash prefix, never the key) and name.</summary>
public sealed record Caller(string KeyId, string KeyName);

/// <summary>An admitted request: what must be reconciled or released when it ends.</summary>
public sealed record AdmissionTicket(Caller Caller, string RequestId, int EstimatedTokens, RateLimits? Limits);

/// <summary>
/// Authenticates the virtual key and admits the request against its limits and budget in one step (one cluster
/// hop at most). Refusals throw <see cref="Router.Contracts.Errors.RouterException"/>. Completion and abort are
/// told, never awaited.
/// </summary>
public interface IAdmission
{
    /// <summary>Checks only that the key is valid (for errors that come before admission, like an unknown model).</summary>
    ValueTask<Caller> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken);

    /// <summary>Whether the key may use this model, for <c>/v1/models</c>.</summary>
    ValueTask<Func<ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken);

    ValueTask<AdmissionTicket> AdmitAsync(string presentedKey, string requestedModel, ModelEntry model, int estimatedTokens, CancellationToken cancellationToken);

    void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd);

    void Abort(AdmissionTicket ticket);
}

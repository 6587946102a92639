using Router.Actors.Routing;
using Router.Contracts.Chat;
using Router.Node.Pipeline;

namespace Router.Node.Batches;

/// <summary>
/// Admission for a batch job's items: the same one-hop check against the owning key's entity as any request,
/// but by the key's SHA-256 (all the job keeps; the plaintext key is never stored), because after a restart
/// nobody is there to present the key.
/// </summary>
internal sealed class BatchKeyAdmission(ShardedAdmission inner, string keyHash) : IAdmission
{
    public ValueTask<Caller> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken) =>
        inner.AuthenticateHashedAsync(keyHash, cancellationToken);

    public ValueTask<Func<ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Batch items are admitted per request; they never list models.");

    public ValueTask<AdmissionTicket> AdmitAsync(string presentedKey, string requestedModel, ModelEntry model, int estimatedTokens, CancellationToken cancellationToken) =>
        inner.AdmitHashedAsync(keyHash, requestedModel, model, estimatedTokens, cancellationToken);

    public void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd) => inner.Complete(ticket, usage, costUsd);

    public void Abort(AdmissionTicket ticket) => inner.Abort(ticket);
}

using Router.Actors.Routing;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;

namespace Router.Node.Pipeline;

/// <summary>Who is calling: the virtual key's id (a hash prefix, never the key) and name.</summary>
public sealed record Caller(string KeyId, string KeyName);

/// <summary>
/// The virtual key a request is admitted against, by its SHA-256 (all Router keeps of a key): the hash of the key a
/// client presents, or the owner's hash a batch job stored, since after a restart nobody is there to present the key.
/// </summary>
public readonly record struct KeyHash
{
    private KeyHash(string value) => Value = value;

    public string Value { get; }

    public static KeyHash Of(string presentedKey) => new(ApiKeyHash.Compute(presentedKey));

    /// <summary>A hash stored earlier (a batch job's owner).</summary>
    public static KeyHash FromStored(string keyHash) =>
        ApiKeyHash.IsValid(keyHash) ? new(keyHash) : throw new ArgumentException("Not a key's SHA-256 hex.", nameof(keyHash));

    // Not the key, but still kept out of logs.
    public override string ToString() => "KeyHash { " + (ApiKeyHash.IsValid(Value) ? ApiKeyId.FromKeyHash(Value).Value : "") + " }";
}

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

    /// <summary>Like <see cref="AuthenticateAsync(string, CancellationToken)"/> for a key known by its hash.</summary>
    ValueTask<Caller> AuthenticateAsync(KeyHash key, CancellationToken cancellationToken);

    /// <summary>Whether the key may use this model, for <c>/v1/models</c>.</summary>
    ValueTask<Func<ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken);

    /// <summary>Admits one request against the key's limits and budget: the same check whether the key was presented
    /// now or is a batch job's owner.</summary>
    ValueTask<AdmissionTicket> AdmitAsync(KeyHash key, string requestedModel, ModelEntry model, int estimatedTokens, CancellationToken cancellationToken);

    void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd);

    void Abort(AdmissionTicket ticket);
}

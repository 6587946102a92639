using Router.Contracts.Serialization;
namespace Router.Contracts.Breakers;

/// <summary>
/// What nodes publish about provider-key health, so a key the provider throttled or revoked on one node is rested
/// on every node without waiting for each to hit the same 429 or 401. Carries key ids, never secrets.
/// </summary>
public static class ProviderKeyEvents
{
    /// <summary>The distributed pub-sub topic every node's provider-key sync subscribes to.</summary>
    public const string Topic = "router.provider-keys";

    /// <summary>A key's status after it got a cooldown or was disabled.</summary>
    /// <param name="Provider">The provider's configured name.</param>
    /// <param name="KeyId">The key's configured id (never the secret).</param>
    /// <param name="CooldownRemainingMs">Milliseconds left in the key's cooldown when sent; null when not cooling down.</param>
    /// <param name="Disabled">True after an authentication failure: the key is not used until re-enabled.</param>
    public sealed record StatusChanged(string Provider, string KeyId, long? CooldownRemainingMs, bool Disabled) : IRouterMessage;
}

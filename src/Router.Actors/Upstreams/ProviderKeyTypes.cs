namespace Router.Actors.Upstreams;

/// <summary>One provider key as the pool knows it: an id and optional limits, never the secret.</summary>
/// <param name="Id">The key's configured id (e.g. <c>primary</c>); safe to log.</param>
/// <param name="Rpm">Requests per minute this node may send with the key, or null for no local limit.</param>
/// <param name="Tpm">Tokens per minute this node may send with the key, or null for no local limit.</param>
public sealed record ProviderKeySpec(string Id, int? Rpm = null, int? Tpm = null);

/// <summary>
/// How long a key rests after a 429 that did not say. Doubling from <see cref="DefaultCooldown"/> per consecutive
/// 429 up to <see cref="MaxCooldown"/> backs off a key the provider keeps refusing without parking it for long
/// on one stray 429.
/// </summary>
public sealed record KeyCooldownSettings(TimeSpan DefaultCooldown, TimeSpan MaxCooldown)
{
    /// <summary>1 s, 2 s, 4 s … capped at 60 s.</summary>
    public static KeyCooldownSettings Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
}

/// <summary>
/// The shared part of a key's health: published when it changes so every node stops using a throttled or
/// revoked key, and listed for display. <see cref="CooldownUntilTicks"/> is in the holder's own clock; across
/// nodes send <see cref="CooldownRemaining"/> instead.
/// </summary>
public sealed record ProviderKeyStatus(string Provider, string KeyId, long? CooldownUntilTicks, bool Disabled)
{
    /// <summary>Time left in the cooldown at <paramref name="nowTicks"/>; null when the key is not cooling down.</summary>
    public TimeSpan? CooldownRemaining(long nowTicks) =>
        CooldownUntilTicks is { } until && until > nowTicks ? TimeSpan.FromTicks(until - nowTicks) : null;
}

/// <summary>
/// Permission to send one request with one key. Return it with <see cref="ProviderKeyPool.Release"/> exactly
/// once whatever the outcome (a second release is ignored), so the key's in-flight count stays true.
/// </summary>
public sealed class ProviderKeyLease
{
    private int _released;

    internal ProviderKeyLease(string provider, string keyId, int chargedTokens, long acquiredAtTicks)
    {
        Provider = provider;
        KeyId = keyId;
        ChargedTokens = chargedTokens;
        AcquiredAtTicks = acquiredAtTicks;
    }

    public string Provider { get; }

    /// <summary>Which key to use; the caller looks its secret up elsewhere.</summary>
    public string KeyId { get; }

    /// <summary>Tokens taken from the key's TPM bucket on acquire, reconciled on release.</summary>
    public int ChargedTokens { get; }

    public long AcquiredAtTicks { get; }

    internal bool MarkReleased() => Interlocked.Exchange(ref _released, 1) == 0;

    public override string ToString() => $"ProviderKeyLease({Provider}/{KeyId})";
}

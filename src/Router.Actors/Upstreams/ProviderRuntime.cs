namespace Router.Actors.Upstreams;

/// <summary>A provider key as dispatch sees it. <see cref="ToString"/> never shows the secret.</summary>
public sealed record ProviderKey(string Id, string? Secret, int? Rpm = null, int? Tpm = null)
{
    public override string ToString() => Id;
}

/// <summary>A configured provider: its wire client (one pooled connection set), its keys and their pool.</summary>
public sealed class ProviderRuntime
{
    private readonly Dictionary<string, ProviderKey> _keysById;

    public ProviderRuntime(string name, string kind, IUpstreamClient client, IReadOnlyList<ProviderKey> keys, KeyCooldownSettings? cooldown = null)
    {
        Name = name;
        Kind = kind;
        Client = client;
        Keys = keys;
        _keysById = keys.ToDictionary(k => k.Id, StringComparer.Ordinal);
        Pool = new ProviderKeyPool(name, keys.Select(k => new ProviderKeySpec(k.Id, k.Rpm, k.Tpm)), cooldown);
    }

    public string Name { get; }
    public string Kind { get; }
    public IUpstreamClient Client { get; }
    public IReadOnlyList<ProviderKey> Keys { get; }
    /// <summary>Per-key budgets, cooldowns and disables on this node (kept in step across nodes by publication).</summary>
    public ProviderKeyPool Pool { get; }

    public string? SecretOf(string keyId) => _keysById.TryGetValue(keyId, out var k) ? k.Secret : null;
}

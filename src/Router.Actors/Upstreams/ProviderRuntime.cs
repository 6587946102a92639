namespace Router.Actors.Upstreams;

/// <summary>A provider key as dispatch sees it. <see cref="ToString"/> never shows the secret.</summary>
public sealed record ProviderKey(string Id, string? Secret, int? Rpm = null, int? Tpm = null)
{
    public override string ToString() => Id;
}

/// <summary>A configured provider: its wire client (one pooled connection set) and its keys.</summary>
public sealed class ProviderRuntime(string name, string kind, IUpstreamClient client, IReadOnlyList<ProviderKey> keys)
{
    public string Name { get; } = name;
    public string Kind { get; } = kind;
    public IUpstreamClient Client { get; } = client;
    public IReadOnlyList<ProviderKey> Keys { get; } = keys;
}

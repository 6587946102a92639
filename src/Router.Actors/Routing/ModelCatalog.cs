namespace Router.Actors.Routing;

/// <summary>One upstream place a model can be served from: a provider, the provider's model name, its prices.</summary>
public sealed record Deployment(
    string Id,
    string ModelId,
    string Provider,
    string UpstreamModel,
    decimal InputPerMTok,
    decimal OutputPerMTok,
    int ContextWindow,
    int? MaxConcurrent = null)
{
    /// <summary>Price of prompt tokens read from the provider's prompt cache; the input price when not configured.</summary>
    public decimal? CachedInputPerMTok { get; init; }
    /// <summary>Price of prompt tokens written to the provider's prompt cache; the input price when not configured.</summary>
    public decimal? CacheWriteInputPerMTok { get; init; }
}

/// <summary>A model as clients name it, with its deployments in preference order and its fallback models.</summary>
public sealed record ModelEntry(
    string Id,
    IReadOnlyList<string> Aliases,
    int ContextWindow,
    IReadOnlyList<Deployment> Deployments,
    IReadOnlyList<string> Fallbacks,
    string? Tier = null)
{
    /// <summary>What the model serves: <see cref="ModelKinds.Chat"/> (chat, Responses, completions) or <see cref="ModelKinds.Embeddings"/>.</summary>
    public string Kind { get; init; } = ModelKinds.Chat;
}

public static class ModelKinds
{
    public const string Chat = "chat";
    public const string Embeddings = "embeddings";
    public static readonly string[] All = [Chat, Embeddings];
}

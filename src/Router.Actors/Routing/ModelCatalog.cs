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
    int? MaxConcurrent = null);

/// <summary>A model as clients name it, with its deployments in preference order and its fallback models.</summary>
public sealed record ModelEntry(
    string Id,
    IReadOnlyList<string> Aliases,
    int ContextWindow,
    IReadOnlyList<Deployment> Deployments,
    IReadOnlyList<string> Fallbacks,
    string? Tier = null);

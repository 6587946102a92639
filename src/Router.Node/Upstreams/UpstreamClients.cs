using Router.Actors.Upstreams;
using Router.Node.Configuration;
using Router.Node.Upstreams.Simulated;

namespace Router.Node.Upstreams;

/// <summary>
/// Makes the <see cref="IUpstreamClient"/> for one configured provider, with that provider's own pooled
/// handler, so the host does not need to know the concrete client types.
/// </summary>
public static class UpstreamClients
{
    /// <param name="defaultMaxTokens">max_tokens sent to providers that require one when the request has none.</param>
    public static IUpstreamClient Create(ProviderOptions provider, TimeProvider timeProvider, int defaultMaxTokens = 1024)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(timeProvider);
        return provider.Kind.ToLowerInvariant() switch
        {
            "openai" => new OpenAiUpstreamClient(UpstreamHttp.CreateHttpClient(provider), RequireBaseUrl(provider)),
            "anthropic" => new AnthropicUpstreamClient(UpstreamHttp.CreateHttpClient(provider), RequireBaseUrl(provider), defaultMaxTokens),
            "simulated" => new SimulatedUpstreamClient(new SimulatedUpstreamOptions
            {
                Latency = TimeSpan.FromMilliseconds(provider.LatencyMs),
                TokensPerSecond = provider.TokensPerSecond,
                CompletionTokens = provider.CompletionTokens,
                FailureRate = provider.FailureRate,
            }, timeProvider),
            _ => throw new ArgumentException(
                $"Router:Providers: provider '{provider.Name}' has unknown Kind '{provider.Kind}' (expected openai, anthropic or simulated).",
                nameof(provider)),
        };
    }

    private static string RequireBaseUrl(ProviderOptions provider) =>
        Uri.TryCreate(provider.BaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? provider.BaseUrl!
            : throw new ArgumentException(
                $"Router:Providers: provider '{provider.Name}' needs an absolute http(s) BaseUrl.", nameof(provider));
}

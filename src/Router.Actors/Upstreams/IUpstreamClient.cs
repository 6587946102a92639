using Router.Contracts.Chat;

namespace Router.Actors.Upstreams;

/// <summary>One attempt against one deployment with one provider key.</summary>
/// <param name="Request">The canonical request as the client sent it.</param>
/// <param name="UpstreamModel">The provider's own model name for this deployment.</param>
/// <param name="ApiKey">The provider key's secret, or null for providers without keys.</param>
/// <param name="DeploymentId">The deployment being tried (for logs and metrics; never a secret).</param>
public sealed record UpstreamCall(ChatRequest Request, string UpstreamModel, string? ApiKey, string DeploymentId);

/// <summary>
/// Speaks one provider's wire protocol. Implementations map the canonical request out and the
/// provider's answer back in; failures surface as <see cref="UpstreamException"/>.
/// </summary>
public interface IUpstreamClient
{
    Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the answer. The upstream is contacted on the first <c>MoveNextAsync</c>, so a failure
    /// before the first event can still be retried elsewhere. The last event is <see cref="StreamFinished"/>.
    /// </summary>
    IAsyncEnumerable<ChatStreamEvent> StreamAsync(UpstreamCall call, CancellationToken cancellationToken);
}

using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Actors.Upstreams;

/// <summary>One attempt against one deployment with one provider key.</summary>
/// <param name="Request">The canonical request as the client sent it.</param>
/// <param name="UpstreamModel">The provider's own model name for this deployment.</param>
/// <param name="ApiKey">The provider key's secret, or null for providers without keys.</param>
/// <param name="DeploymentId">The deployment being tried (for logs and metrics; never a secret).</param>
public sealed record UpstreamCall(ChatRequest Request, string UpstreamModel, string? ApiKey, string DeploymentId);

/// <summary>One embeddings attempt against one deployment with one provider key.</summary>
public sealed record EmbeddingCall(EmbeddingRequest Request, string UpstreamModel, string? ApiKey, string DeploymentId);

/// <summary>
/// Speaks one provider's wire protocol. Implementations map the canonical request out and the
/// provider's answer back in; failures surface as <see cref="UpstreamException"/>.
/// </summary>
public interface IUpstreamClient
{
    /// <summary>
    /// Whether this upstream speaks <paramref name="request"/>'s own wire, so it receives the client's body as it is
    /// (only <c>model</c> and <c>stream_options</c> rewritten) and its answer goes back as it came: a completion with
    /// <see cref="ChatCompletion.Raw"/> set, a stream of <see cref="RawStreamEvent"/>s.
    /// </summary>
    bool PassesThrough(ChatRequest request);

    /// <summary>Whether <see cref="EmbedAsync"/> is served.</summary>
    bool SupportsEmbeddings { get; }

    /// <summary>
    /// Why this upstream cannot carry <paramref name="request"/> (a 400 naming the field), or null when it can. The
    /// dispatcher skips candidates that refuse, and answers with the first refusal when every candidate does.
    /// </summary>
    RouterException? Refuses(ChatRequest request);

    Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the answer. The upstream is contacted on the first <c>MoveNextAsync</c>, so a failure
    /// before the first event can still be retried elsewhere. The last event is <see cref="StreamFinished"/>.
    /// </summary>
    IAsyncEnumerable<ChatStreamEvent> StreamAsync(UpstreamCall call, CancellationToken cancellationToken);

    /// <summary>Embeds the request's inputs. Only called when <see cref="SupportsEmbeddings"/>.</summary>
    Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken);
}

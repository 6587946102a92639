using Router.Contracts.Chat;
namespace Router.Node.Pipeline;
public sealed class EstimatingTokenCounter : IPromptTokenCounter
{
    public int CountPrompt(ChatRequest request) => request.Messages.Sum(m => (m.Content.Length + 3) / 4 + 3) + 3;
}
public sealed class DiscardingUsageRecorder : IUsageRecorder { public void Record(UsageEntry entry) { } }
public sealed class LocalDispatchObserver : Router.Actors.Dispatch.IDispatchObserver
{
    public void AttemptSucceeded(Router.Actors.Routing.Deployment deployment, string? providerKeyId, TimeSpan latency) { }
    public void AttemptFailed(Router.Actors.Routing.Deployment deployment, string? providerKeyId, Router.Actors.Upstreams.UpstreamException failure) { }
    public void KeyStatusChanged(Router.Actors.Upstreams.ProviderKeyStatus status) { }
}

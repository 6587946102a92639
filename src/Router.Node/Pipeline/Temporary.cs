using Router.Contracts.Chat;
namespace Router.Node.Pipeline;
public sealed class LocalDispatchObserver : Router.Actors.Dispatch.IDispatchObserver
{
    public void AttemptSucceeded(Router.Actors.Routing.Deployment deployment, string? providerKeyId, TimeSpan latency) { }
    public void AttemptFailed(Router.Actors.Routing.Deployment deployment, string? providerKeyId, Router.Actors.Upstreams.UpstreamException failure) { }
    public void KeyStatusChanged(Router.Actors.Upstreams.ProviderKeyStatus status) { }
}

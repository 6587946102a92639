using Router.Actors.RateLimiting;
using Router.Contracts.Serialization;

namespace Router.Actors.Tests;

/// <summary>
/// Router.Contracts.Tests checks the manifest table against Contracts; this checks the domain assembly, where a
/// persisted event or cross-node message added without a manifest would only fail at its first send or recovery.
/// </summary>
public sealed class MessageTypesTests
{
    [Fact]
    public void The_domain_assembly_declares_no_router_message_outside_the_manifest_table()
    {
        var unlisted = typeof(ApiKeyActor).Assembly.GetTypes()
            .Where(t => typeof(IRouterMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .Where(t => RouterManifests.All.All(e => e.Type != t))
            .Select(t => t.FullName)
            .ToList();

        Assert.Empty(unlisted);
    }
}

using Router.Cluster.Tests.Infrastructure;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Router.Cluster.Tests;

/// <summary>
/// One 3-node cluster on 127.0.0.1 and one fresh database, shared by the tests that do not destroy the cluster for
/// good: a test that stops or kills a node starts it again before it ends, and every test starts with
/// <see cref="EnsureHealthyAsync"/>, so order does not matter. Node processes are heavy; starting them once keeps
/// the project's runtime reasonable.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private TestDatabase? _db;
    private RouterCluster? _cluster;

    public TestDatabase Database => _db ?? throw new InvalidOperationException("fixture not initialized");

    public RouterCluster Cluster => _cluster ?? throw new InvalidOperationException("fixture not initialized");

    public static string LogDirectory(string purpose) =>
        Path.Combine(AppContext.BaseDirectory, "cluster-logs", $"{DateTime.Now:yyyyMMdd-HHmmss}-{purpose}");

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("loop");
        _cluster = new RouterCluster(RouterCluster.Loopback(3), _ => _db.ConnectionString, new ClusterSettings(), LogDirectory("loopback"));
        await _cluster.StartAllAsync(StartTimeout);
    }

    /// <summary>Restarts whatever a previous test left stopped and waits until all three nodes see each other.</summary>
    public async Task EnsureHealthyAsync()
    {
        for (var i = 0; i < Cluster.Count; i++)
            if (!Cluster.IsRunning(i)) Cluster.StartNode(i);
        await Cluster.WaitAllReadyAsync(StartTimeout);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "three-node cluster";
}

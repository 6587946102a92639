using Config = Akka.Configuration.Config;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Router.Node.Configuration;
using Router.Node.Hosting;

namespace Router.Node.Tests.Hosting;

/// <summary>
/// The Akka configuration a node's options produce, read from the Akka.Hosting builder before any ActorSystem
/// starts: the settings the failover timings and the Kubernetes bootstrap rest on (docs/operations.md, docs/kubernetes.md).
/// </summary>
public sealed class AkkaSetupTests
{
    private static Config Build(RouterOptions options)
    {
        var akka = new AkkaConfigurationBuilder(new ServiceCollection(), AkkaSetup.SystemName);
        akka.AddRouterCluster(options).AddRouterPersistence(options.Persistence);
        Assert.True(akka.Configuration.HasValue);
        return akka.Configuration.Value;
    }

    private static RouterOptions Kubernetes() => new()
    {
        Cluster = new Router.Node.Configuration.ClusterOptions
        {
            Discovery = "kubernetes",
            Seeds = ["akka.tcp://router@127.0.0.1:4053"],
            Bootstrap = new BootstrapOptions { ServiceName = "router", PodLabelSelector = "app=router,tier=gateway", ManagementPort = 8558, RequiredContactPoints = 3,
                ManagementHostname = "10.1.2.3" },
        },
    };

    [Fact]
    public void Static_seeds_are_the_default_and_no_bootstrap_is_configured()
    {
        var options = new RouterOptions { Cluster = { Seeds = ["akka.tcp://router@127.0.0.1:4053", "akka.tcp://router@127.0.0.1:4054"] } };
        var config = Build(options);

        Assert.Equal(["akka.tcp://router@127.0.0.1:4053", "akka.tcp://router@127.0.0.1:4054"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.False(config.HasPath("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
        Assert.False(config.HasPath("akka.discovery.kubernetes-api.pod-label-selector"));
    }

    [Fact]
    public void Kubernetes_discovery_configures_bootstrap_through_the_pod_label_selector_instead_of_seeds()
    {
        var config = Build(Kubernetes());

        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(8558, config.GetInt("akka.management.http.port"));
        Assert.Equal("10.1.2.3", config.GetString("akka.management.http.hostname"));
        Assert.Equal(8558, config.GetInt("akka.management.http.bind-port"));
        Assert.Equal("0.0.0.0", config.GetString("akka.management.http.bind-hostname"));
        const string discovery = "akka.management.cluster.bootstrap.contact-point-discovery";
        Assert.Equal("router", config.GetString($"{discovery}.service-name"));
        Assert.Equal("management", config.GetString($"{discovery}.port-name"));
        Assert.Equal(3, config.GetInt($"{discovery}.required-contact-point-nr"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan($"{discovery}.stable-margin"));
        Assert.True(config.GetBoolean($"{discovery}.contact-with-all-contact-points"));
        Assert.Equal("kubernetes-api", config.GetString("akka.discovery.method"));
        Assert.Equal("app=router,tier=gateway", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
    }

    [Fact]
    public void Split_brain_resolver_and_failure_detector_keep_the_configured_timings()
    {
        var options = new RouterOptions { Cluster = { StableAfterSeconds = 7, HeartbeatPauseSeconds = 2.5, FailureDetectorThreshold = 9, DownRemovalMarginSeconds = 1.5 } };
        var config = Build(options);

        Assert.Contains("SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(TimeSpan.FromMilliseconds(2500), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal(9.0, config.GetDouble("akka.cluster.failure-detector.threshold"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), config.GetTimeSpan("akka.cluster.down-removal-margin"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.GetTimeSpan("akka.cluster.unreachable-nodes-reaper-interval"));
        Assert.Equal(TimeSpan.FromSeconds(15), config.GetTimeSpan("akka.cluster.sharding.handoff-timeout"));
        Assert.False(config.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));
    }

    [Theory]
    [InlineData("sqlite", "Data Source=router.db", "SQLite.MS")]
    [InlineData("postgresql", "Host=db;Database=router", "PostgreSQL.15")]
    public void Persistence_uses_the_sql_plugin_for_journal_snapshots_and_queries(string provider, string connection, string providerName)
    {
        var config = Build(new RouterOptions { Persistence = { Provider = provider, ConnectionString = connection } });

        Assert.Equal("akka.persistence.journal.sql", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.sql", config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.Equal(providerName, config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(connection, config.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal(connection, config.GetString("akka.persistence.snapshot-store.sql.connection-string"));
        Assert.Equal(connection, config.GetString("akka.persistence.query.journal.sql.connection-string"));
        Assert.True(config.GetBoolean("akka.persistence.journal.sql.auto-initialize"));
    }

    [Fact]
    public void Unknown_discovery_stops_start_up_naming_the_field()
    {
        var ex = Assert.Throws<ConfigurationException>(() => AkkaSetup.Validate(new Router.Node.Configuration.ClusterOptions { Discovery = "consul" }));
        Assert.Equal("Router:Cluster:Discovery", ex.Field);
    }

    [Fact]
    public void Bootstrap_without_required_contact_points_stops_start_up_naming_the_field()
    {
        var c = Kubernetes().Cluster;
        c.Bootstrap.RequiredContactPoints = 0;
        var ex = Assert.Throws<ConfigurationException>(() => AkkaSetup.Validate(c));
        Assert.Equal("Router:Cluster:Bootstrap:RequiredContactPoints", ex.Field);
    }
}

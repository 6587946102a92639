using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.DependencyInjection;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Discovery.KubernetesApi;
using Akka.Management;
using Akka.Management.Cluster.Bootstrap;
using Akka.Persistence.Sql.Hosting;
using Akka.Remote.Hosting;
using Router.Actors.Batches;
using Router.Actors.Breakers;
using Router.Actors.Persistence;
using Router.Actors.RateLimiting;
using Router.Actors.Upstreams;
using Router.Contracts.Serialization;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>The node's ActorSystem: remoting, cluster (seeds, self-join, or Kubernetes bootstrap), persistence on SQLite or PostgreSQL, and the capabilities.</summary>
public static class AkkaSetup
{
    public const string SystemName = "router";

    /// <summary>
    /// Exit code of a node whose ActorSystem stopped without the host asking: downed by the split-brain resolver
    /// (the minority side of a partition), removed with <c>cluster down</c>, or unable to join. Non-zero so that
    /// Kubernetes (or any supervisor) restarts it and it joins the surviving cluster as a new incarnation.
    /// </summary>
    public const int RemovedFromClusterExitCode = 3;

    /// <summary>The ActorSystem as a hosted service; hosted services registered after this start after it and stop before it.</summary>
    public static IServiceCollection AddRouterAkka(
        this IServiceCollection services, RouterOptions options, BreakerView breakerView,
        IReadOnlyDictionary<string, ProviderRuntime> providers, TimeProvider clock) =>
        services.AddAkka(SystemName, (akka, _) => akka.AddRouter(options, breakerView, providers, clock));

    /// <summary>
    /// The node's whole ActorSystem: the cluster and persistence it runs on, then each capability registered beside
    /// its actors in Router.Actors (docs/operations.md, Supervision, says how each one fails and restarts).
    /// </summary>
    public static AkkaConfigurationBuilder AddRouter(
        this AkkaConfigurationBuilder akka, RouterOptions options, BreakerView breakerView,
        IReadOnlyDictionary<string, ProviderRuntime> providers, TimeProvider clock) =>
        akka.AddRouterCluster(options)
            .AddRouterPersistence(options.Persistence)
            .AddRouterLimits(clock)
            .AddRouterBreakers(new BreakerSettings(options.Breaker.FailureThreshold, TimeSpan.FromSeconds(options.Breaker.OpenSeconds),
                options.Breaker.HalfOpenProbes), breakerView, clock)
            .AddRouterProviderKeys(providers.ToDictionary(p => p.Key, p => p.Value.Pool), clock)
            .AddRouterBatches(BatchJobSettings.Default with { Parallelism = Math.Max(1, options.Batches.Parallelism) },
                TimeSpan.FromSeconds(Math.Max(1, options.Batches.ResumeSweepSeconds)), clock);

    /// <summary>Serialization, remoting, logging, the cluster with its split-brain resolver, pub-sub, and how the node joins.</summary>
    public static AkkaConfigurationBuilder AddRouterCluster(this AkkaConfigurationBuilder akka, RouterOptions options)
    {
        var c = options.Cluster;
        Validate(c);
        var kubernetes = IsKubernetes(c);
        akka.WithCustomSerializer("router", [typeof(IRouterMessage)], system => new RouterSerializer(system))
            // Only what Akka.Hosting has no option for; see the comments inside.
            .AddHocon(ClusterHocon(c), HoconAddMode.Prepend)
            .WithRemoting(new RemoteOptions
            {
                HostName = c.Hostname,
                Port = c.Port,
                PublicHostName = c.PublicHostname ?? c.Hostname,
            })
            // Akka's log through Microsoft.Extensions.Logging: one log pipeline, one set of levels.
            .ConfigureLoggers(l =>
            {
                l.LogLevel = Akka.Event.LogLevel.InfoLevel;
                l.ClearLoggers();
                l.AddLoggerFactory();
            })
            .WithClustering(new Akka.Cluster.Hosting.ClusterOptions
            {
                // With bootstrap the seeds are found, not configured: a configured list would race it.
                SeedNodes = kubernetes ? [] : c.Seeds.ToArray(),
                Roles = c.Roles.ToArray(),
                SplitBrainResolver = new KeepMajorityOption(),
                FailureDetector = new PhiAccrualFailureDetectorOptions
                {
                    // Twice the default rate: a finer-grained view of silence (detection ~0.5 s sooner), and the
                    // "heartbeat interval is growing too large" warning (at half the acceptable pause) stays quiet.
                    HeartbeatInterval = TimeSpan.FromMilliseconds(500),
                    AcceptableHeartbeatPause = Milliseconds(c.HeartbeatPauseSeconds),
                    Threshold = c.FailureDetectorThreshold,
                },
                LogInfoVerbose = false,
            })
            // Breaker state changes and provider-key cooldowns reach every node through the mediator.
            .WithDistributedPubSub(role: null!);
        if (kubernetes) akka.AddRouterBootstrap(c.Bootstrap);
        akka.AddStartup((system, _) =>
        {
            ExitNonZeroWhenRemoved(system);
            // No seeds and no bootstrap: a single node that forms its own cluster (works with Port 0 too).
            if (!kubernetes && c.Seeds.Count == 0)
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            }
        });
        return akka;
    }

    /// <summary>True when the node joins through Akka.Management cluster bootstrap instead of configured seeds.</summary>
    public static bool IsKubernetes(Configuration.ClusterOptions c) => string.Equals(c.Discovery, "kubernetes", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Akka.Management's HTTP endpoint (contact-point probing) and cluster bootstrap over the Kubernetes API: pods are
    /// listed by label, and once <see cref="BootstrapOptions.RequiredContactPoints"/> of them have been seen unchanged
    /// for the stable margin, the lowest-addressed one forms the cluster and the others join it (docs/kubernetes.md).
    /// </summary>
    public static AkkaConfigurationBuilder AddRouterBootstrap(this AkkaConfigurationBuilder akka, BootstrapOptions b) =>
        akka.WithAkkaManagement(new AkkaManagementOptions
            {
                // Bound on every interface of the pod, announced with the pod's address (what discovery returns).
                HostName = string.IsNullOrEmpty(b.ManagementHostname) ? null! : b.ManagementHostname,
                BindHostName = "0.0.0.0",
                BindPort = b.ManagementPort,
                Port = b.ManagementPort,
            })
            .WithClusterBootstrap(new ClusterBootstrapOptions
            {
                ContactPointDiscovery =
                {
                    ServiceName = b.ServiceName,
                    // The container port of that name is the management endpoint to probe.
                    PortName = "management",
                    RequiredContactPointsNr = b.RequiredContactPoints,
                    StableMargin = TimeSpan.FromSeconds(b.StableMarginSeconds),
                    Interval = TimeSpan.FromSeconds(b.DiscoveryIntervalSeconds),
                    // Form a new cluster only when every discovered pod answered that it is not in one yet.
                    ContactWithAllContactPoints = true,
                },
            }, autoStart: true)
            .WithKubernetesDiscovery(new KubernetesDiscoveryOptions
            {
                PodLabelSelector = b.PodLabelSelector,
                PodNamespace = string.IsNullOrEmpty(b.Namespace) ? null : b.Namespace,
            });

    /// <summary>Akka.Persistence.Sql journal, snapshot store and read journal; the same code on SQLite and PostgreSQL.</summary>
    public static AkkaConfigurationBuilder AddRouterPersistence(this AkkaConfigurationBuilder akka, PersistenceOptions p) =>
        akka.WithSqlPersistence(
            connectionString: p.ConnectionString,
            providerName: PersistenceProviders.Parse(p.Provider) == PersistenceProvider.PostgreSql
                ? LinqToDB.ProviderName.PostgreSQL15
                : LinqToDB.ProviderName.SQLiteMS,
            autoInitialize: true);

    /// <summary>Refuses cluster timings that cannot work, naming the field (exit code 2 like every configuration error).</summary>
    public static void Validate(Configuration.ClusterOptions c)
    {
        if (c.StableAfterSeconds < 1)
            throw new ConfigurationException("Router:Cluster:StableAfterSeconds", "must be at least 1");
        if (!(c.HeartbeatPauseSeconds >= 1))
            throw new ConfigurationException("Router:Cluster:HeartbeatPauseSeconds", "must be at least 1 (a few 0.5 s heartbeat intervals)");
        if (!(c.FailureDetectorThreshold >= 1))
            throw new ConfigurationException("Router:Cluster:FailureDetectorThreshold", "must be at least 1");
        if (!(c.DownRemovalMarginSeconds >= 0))
            throw new ConfigurationException("Router:Cluster:DownRemovalMarginSeconds", "cannot be negative");
        if (!string.Equals(c.Discovery, "seeds", StringComparison.OrdinalIgnoreCase) && !IsKubernetes(c))
            throw new ConfigurationException("Router:Cluster:Discovery", $"must be 'seeds' or 'kubernetes', not '{c.Discovery}'");
        if (IsKubernetes(c))
        {
            if (c.Bootstrap.RequiredContactPoints < 1)
                throw new ConfigurationException("Router:Cluster:Bootstrap:RequiredContactPoints", "must be at least 1");
            if (c.Bootstrap.ManagementPort is < 1 or > 65535)
                throw new ConfigurationException("Router:Cluster:Bootstrap:ManagementPort", "must be a TCP port (1-65535)");
            if (string.IsNullOrWhiteSpace(c.Bootstrap.ServiceName))
                throw new ConfigurationException("Router:Cluster:Bootstrap:ServiceName", "is required");
            if (!(c.Bootstrap.StableMarginSeconds >= 0))
                throw new ConfigurationException("Router:Cluster:Bootstrap:StableMarginSeconds", "cannot be negative");
        }
    }

    /// <summary>
    /// Akka.Hosting stops the application when the ActorSystem terminates on its own, and sets an exit code of its
    /// own (-1, seen as 255). Two reasons are asked for and end with 0: the host's own stop (SIGTERM,
    /// <c>ClrExitReason</c>) and a graceful leave (<c>routerctl cluster leave</c>, <c>ClusterLeavingReason</c>). Any
    /// other reason (SBR downing, <c>cluster down</c>, a failed join) means this member is gone for good, so the
    /// process ends with <see cref="RemovedFromClusterExitCode"/>, set once the host has stopped so nothing overwrites it.
    /// </summary>
    private static void ExitNonZeroWhenRemoved(ActorSystem system)
    {
        var shutdown = CoordinatedShutdown.Get(system);
        const int HostDecides = int.MinValue;
        var exitCode = new StrongBox<int>(HostDecides);
        system.WhenTerminated.ContinueWith(_ =>
        {
            var reason = shutdown.ShutdownReason;
            if (reason is CoordinatedShutdown.ClrExitReason) return;
            if (reason is CoordinatedShutdown.ClusterLeavingReason)
            {
                // Asked to leave: a clean exit, though Akka.Hosting would report its own -1.
                Volatile.Write(ref exitCode.Value, 0);
                return;
            }
            Volatile.Write(ref exitCode.Value, RemovedFromClusterExitCode);
            Console.Error.WriteLine(
                $"router: this node left the cluster without being asked to ({reason?.GetType().Name ?? "actor system terminated"}); exiting with code {RemovedFromClusterExitCode} so it is restarted");
        }, TaskContinuationOptions.ExecuteSynchronously);
        DependencyResolver.For(system).Resolver.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(() =>
        {
            var code = Volatile.Read(ref exitCode.Value);
            if (code != HostDecides) Environment.ExitCode = code;
        });
    }

    private static TimeSpan Milliseconds(double seconds) => TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));

    private static string Seconds(double s) => ((long)Math.Round(s * 1000)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms";

    // HOCON only for settings Akka.Hosting 1.5.75 has no option for (ClusterOptions covers seeds, roles, the SBR
    // strategy and the failure detector; nothing covers what follows).
    // Failure detection and SBR timings decide how long a crashed member's keys are unavailable: about
    // detection (heartbeat pause + ~1.5 s) + stable-after + ~1 s removal + down-removal-margin + ~1.5 s shard
    // re-allocation and entity recovery. docs/operations.md has the measured numbers and the trade-off.
    public static string ClusterHocon(Configuration.ClusterOptions c) => $$"""
        akka.cluster {
          # KeepMajorityOption has no stable-after.
          split-brain-resolver.stable-after = {{c.StableAfterSeconds}}s
          # The minority side of a partition downs itself after stable-after too; the margin covers its
          # CoordinatedShutdown stopping its entities before the majority starts them again (single writer).
          down-removal-margin = {{Seconds(c.DownRemovalMarginSeconds)}}
          run-coordinated-shutdown-when-down = on
          # Twice a second instead of once: an unreachable member is noticed, and a downed one removed, ~0.5 s sooner.
          # (The failure-detector option's reaper interval is the remote watch's, not this one.)
          unreachable-nodes-reaper-interval = 500ms
          leader-actions-interval = 500ms
          # The first seed joins itself only after this long without an answer from the other seeds. Seeds that are up
          # answer at once (InitJoinNack on a cold start, InitJoinAck in a running cluster), so this only decides how
          # long a restarted first seed keeps asking a running cluster whose answers are briefly held back (its old
          # incarnation is still quarantined there for a few seconds): 2 s was short enough for it to form an island
          # of its own beside the cluster, which the partition test caught.
          seed-node-timeout = 12s
          # Seeds started together find each other sooner (the default 5 s retry doubles a cold start).
          retry-unsuccessful-join-after = 2s
          # ShardOptions are per region; these coordinator and hand-off timings are cluster-wide.
          sharding {
            # Regions re-register with a moved coordinator and re-ask for shard homes this often.
            retry-interval = 500ms
            # A coordinator that failed to store its state restarts after this (the default 5 s adds to recovery).
            coordinator-failure-backoff = 1s
            updating-state-timeout = 2s
            waiting-for-state-timeout = 2s
            # Bounds a graceful hand-off (entities flush and snapshot, at most ApiKeyActorSettings.StopTimeout 5 s);
            # the default 60 s could outlive the pod's termination grace period.
            handoff-timeout = 15s
          }
        }
        # LoggerConfigBuilder sets the level and loggers, not dead-letter logging.
        akka.loglevel = INFO
        akka.log-dead-letters = 0
        akka.log-dead-letters-during-shutdown = off
        # No option for these. The host runs CoordinatedShutdown (Akka.Hosting's StopAsync) after Kestrel drained and
        # the ledger flushed. Akka's own SIGTERM hook would leave the cluster at once, under in-flight requests.
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.coordinated-shutdown.exit-clr = off
        """;
}

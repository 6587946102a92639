using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.DependencyInjection;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Router.Actors.Persistence;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>The node's ActorSystem: remoting, cluster (self-join when no seeds), persistence on SQLite or PostgreSQL.</summary>
public static class AkkaSetup
{
    public const string SystemName = "router";

    /// <summary>
    /// Exit code of a node whose ActorSystem stopped without the host asking: downed by the split-brain resolver
    /// (the minority side of a partition), removed with <c>cluster down</c>, or unable to join. Non-zero so that
    /// Kubernetes (or any supervisor) restarts it and it joins the surviving cluster as a new incarnation.
    /// </summary>
    public const int RemovedFromClusterExitCode = 3;

    public static AkkaConfigurationBuilder AddRouterCluster(this AkkaConfigurationBuilder akka, RouterOptions options)
    {
        var c = options.Cluster;
        Validate(c);
        akka.AddHocon(Router.Contracts.Serialization.RouterSerializer.Hocon, HoconAddMode.Prepend)
            .AddHocon(PersistenceHocon(options.Persistence), HoconAddMode.Prepend)
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
                SeedNodes = c.Seeds.ToArray(),
                Roles = c.Roles.ToArray(),
            })
            .AddStartup((system, _) =>
            {
                ExitNonZeroWhenRemoved(system);
                // No seeds: a single node that forms its own cluster (works with Port 0 too).
                if (c.Seeds.Count == 0)
                {
                    var cluster = Akka.Cluster.Cluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                }
            });
        return akka;
    }

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
    }

    /// <summary>
    /// Akka.Hosting stops the application when the ActorSystem terminates on its own, and sets an exit code of its
    /// own (-1, seen as 255). Only the host's own stop runs CoordinatedShutdown with <c>ClrExitReason</c>; any other
    /// reason (SBR downing, <c>cluster down</c>, a failed join) means this member is gone for good, so the process
    /// ends with <see cref="RemovedFromClusterExitCode"/>, set once the host has stopped so nothing overwrites it.
    /// </summary>
    private static void ExitNonZeroWhenRemoved(ActorSystem system)
    {
        var shutdown = CoordinatedShutdown.Get(system);
        var removed = new StrongBox<bool>();
        system.WhenTerminated.ContinueWith(_ =>
        {
            var reason = shutdown.ShutdownReason;
            if (reason is CoordinatedShutdown.ClrExitReason) return;
            Volatile.Write(ref removed.Value, true);
            Console.Error.WriteLine(
                $"router: this node left the cluster without being asked to ({reason?.GetType().Name ?? "actor system terminated"}); exiting with code {RemovedFromClusterExitCode} so it is restarted");
        }, TaskContinuationOptions.ExecuteSynchronously);
        DependencyResolver.For(system).Resolver.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(() =>
        {
            if (Volatile.Read(ref removed.Value)) Environment.ExitCode = RemovedFromClusterExitCode;
        });
    }

    private static string Seconds(double s) => ((long)Math.Round(s * 1000)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms";

    // Failure detection and SBR timings decide how long a crashed member's keys are unavailable: about
    // detection (heartbeat pause + ~1.5 s) + stable-after + ~1 s removal + down-removal-margin + ~1.5 s shard
    // re-allocation and entity recovery. docs/operations.md has the measured numbers and the trade-off.
    private static string ClusterHocon(Configuration.ClusterOptions c) => $$"""
        akka.cluster {
          downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
          split-brain-resolver {
            active-strategy = keep-majority
            stable-after = {{c.StableAfterSeconds}}s
          }
          failure-detector {
            # Twice the default rate: a finer-grained view of silence (detection ~0.5 s sooner), and the
            # "heartbeat interval is growing too large" warning (at half the acceptable pause) stays quiet.
            heartbeat-interval = 500ms
            acceptable-heartbeat-pause = {{Seconds(c.HeartbeatPauseSeconds)}}
            threshold = {{c.FailureDetectorThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}}
          }
          # The minority side of a partition downs itself after stable-after too; the margin covers its
          # CoordinatedShutdown stopping its entities before the majority starts them again (single writer).
          down-removal-margin = {{Seconds(c.DownRemovalMarginSeconds)}}
          run-coordinated-shutdown-when-down = on
          # Twice a second instead of once: an unreachable member is noticed, and a downed one removed, ~0.5 s sooner.
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
          log-info-verbose = off
        }
        akka.loglevel = INFO
        akka.log-dead-letters = 0
        akka.log-dead-letters-during-shutdown = off
        # The host runs CoordinatedShutdown (Akka.Hosting's StopAsync) after Kestrel drained and the ledger
        # flushed. Akka's own SIGTERM hook would leave the cluster at once, under in-flight requests.
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.coordinated-shutdown.exit-clr = off
        """;

    /// <summary>Akka.Persistence.Sql journal and snapshot store; the same code on SQLite and PostgreSQL.</summary>
    public static string PersistenceHocon(PersistenceOptions p)
    {
        var provider = PersistenceProviders.Parse(p.Provider) == PersistenceProvider.PostgreSql ? "PostgreSQL.15" : "SQLite.MS";
        var cs = p.ConnectionString.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = "{{cs}}"
                  provider-name = "{{provider}}"
                  auto-initialize = on
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = "{{cs}}"
                provider-name = "{{provider}}"
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = "{{cs}}"
                  provider-name = "{{provider}}"
                  auto-initialize = on
                }
              }
            }
            """;
    }
}

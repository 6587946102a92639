using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>The node's ActorSystem: remoting, cluster (self-join when no seeds), persistence on SQLite or PostgreSQL.</summary>
public static class AkkaSetup
{
    public const string SystemName = "router";

    public static AkkaConfigurationBuilder AddRouterCluster(this AkkaConfigurationBuilder akka, RouterOptions options)
    {
        var c = options.Cluster;
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
                // No seeds: a single node that forms its own cluster (works with Port 0 too).
                if (c.Seeds.Count == 0)
                {
                    var cluster = Akka.Cluster.Cluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                }
            });
        return akka;
    }

    private static string ClusterHocon(Configuration.ClusterOptions c) => $$"""
        akka.cluster {
          downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
          split-brain-resolver {
            active-strategy = keep-majority
            stable-after = {{c.StableAfterSeconds}}s
          }
          log-info-verbose = off
        }
        akka.loglevel = INFO
        akka.log-dead-letters = 0
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.exit-clr = off
        """;

    /// <summary>Akka.Persistence.Sql journal and snapshot store; the same code on SQLite and PostgreSQL.</summary>
    public static string PersistenceHocon(PersistenceOptions p)
    {
        var provider = p.Provider == "postgresql" ? "PostgreSQL.15" : "SQLite.MS";
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

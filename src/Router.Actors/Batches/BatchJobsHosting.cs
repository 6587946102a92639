using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams.Dsl;
using Router.Actors.Sharding;

namespace Router.Actors.Batches;

/// <summary>Registers the batch capability: the <see cref="BatchJobActor"/> shard region and this node's <see cref="BatchResumer"/>.</summary>
public static class BatchJobsHosting
{
    /// <summary>The shard type name; fixed once released.</summary>
    public const string ShardTypeName = "batch";

    private const string PersistencePrefix = "batch-";

    /// <summary>
    /// The jobs take their <see cref="IBatchWork"/> and <see cref="IFileStore"/> from the host's services, so the
    /// concrete stores and the pipeline stay in the host. <paramref name="queryPluginId"/> is the SQL read journal
    /// the resume sweep lists persistence ids from.
    /// </summary>
    public static AkkaConfigurationBuilder AddRouterBatches(
        this AkkaConfigurationBuilder akka, BatchJobSettings settings, TimeSpan resumeSweep, TimeProvider clock,
        string queryPluginId = "akka.persistence.query.journal.sql") =>
        akka
            // Running jobs must not be passivated for idleness; a finished job passivates itself.
            .WithShardRegion<BatchJobActor>(ShardTypeName,
                (_, _, resolver) => id => BatchJobActor.Props(id, resolver.GetService<IBatchWork>(), resolver.GetService<IFileStore>(), settings, clock),
                new BatchMessageExtractor(),
                new ShardOptions
                {
                    RememberEntities = false,
                    ShouldPassivateIdleEntities = false,
                    HandOffStopMessage = StopEntity.Instance,
                })
            // Every node runs a resumer (duplicate resumes are harmless), so it is a plain actor, not a singleton.
            .WithActors((system, registry) =>
            {
                var region = registry.Get<BatchJobActor>();
                registry.Register<BatchResumer>(system.ActorOf(
                    BatchResumer.Props(region, () => BatchIds(system, queryPluginId), resumeSweep).WithBackoffOnFailure("resumer"),
                    "batch-resumer"));
            });

    private static Source<string, NotUsed> BatchIds(ActorSystem system, string queryPluginId) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(queryPluginId)
            .CurrentPersistenceIds()
            .Where(p => p.StartsWith(PersistencePrefix, StringComparison.Ordinal))
            .Select(p => p[PersistencePrefix.Length..]);
}

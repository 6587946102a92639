using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams.Dsl;
using Router.Actors.Batches;
using Router.Actors.Sharding;
using Router.Node.Configuration;

namespace Router.Node.Batches;

/// <summary>Registration of batch work: services, the batch job shard region with its resume sweep, and the HTTP API.</summary>
public static class BatchesHosting
{
    public const string ShardTypeName = "batch";
    private const string PersistencePrefix = "batch-";

    public static IServiceCollection AddBatches(this IServiceCollection services, RouterOptions options)
    {
        services.AddSingleton<BatchMetrics>();
        services.AddSingleton<BatchGate>();
        services.AddSingleton(FileStore.Create(options.Persistence.Provider, options.Persistence.ConnectionString));
        services.AddSingleton<IBatchWork, PipelineBatchWork>();
        return services;
    }

    public static AkkaConfigurationBuilder AddBatchJobs(this AkkaConfigurationBuilder akka, RouterOptions options, TimeProvider clock)
    {
        var settings = BatchJobSettings.Default with { Parallelism = Math.Max(1, options.Batches.Parallelism) };
        var sweep = TimeSpan.FromSeconds(Math.Max(1, options.Batches.ResumeSweepSeconds));
        return akka
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
            .WithActors((system, registry) =>
            {
                var region = registry.Get<BatchJobActor>();
                registry.Register<BatchResumer>(system.ActorOf(BatchResumer.Props(region, () => BatchIds(system), sweep), "batch-resumer"));
            });
    }

    public static WebApplication MapBatches(this WebApplication app)
    {
        app.MapBatchApi();
        return app;
    }

    private static Source<string, NotUsed> BatchIds(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql")
            .CurrentPersistenceIds()
            .Where(p => p.StartsWith(PersistencePrefix, StringComparison.Ordinal))
            .Select(p => p[PersistencePrefix.Length..]);
}

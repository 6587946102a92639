using Router.Actors.Batches;
using Router.Node.Configuration;

namespace Router.Node.Batches;

/// <summary>Registration of batch work in the host: services and the HTTP API (the shard region: <see cref="BatchJobsHosting"/>).</summary>
public static class BatchesHosting
{
    public static IServiceCollection AddBatches(this IServiceCollection services, RouterOptions options)
    {
        services.AddSingleton<BatchMetrics>();
        services.AddSingleton<BatchGate>();
        services.AddSingleton(FileStore.Create(options.Persistence.Provider, options.Persistence.ConnectionString));
        services.AddSingleton<IBatchWork, PipelineBatchWork>();
        return services;
    }

    public static WebApplication MapBatches(this WebApplication app)
    {
        app.MapBatchApi();
        return app;
    }
}

using Akka.Actor;
using Router.Node.Configuration;
using Router.Node.Grpc;
using Router.Node.Ingress;

namespace Router.Node.Hosting;

/// <summary>The ingresses: body limits, the node's bounded ingress queue, and the gRPC services with their gate.</summary>
public static class IngressHosting
{
    public static IServiceCollection AddRouterIngress(this IServiceCollection services, RouterOptions options, TimeProvider clock)
    {
        services.AddSingleton(new BodyLimits(options.Http.MaxBodyBytes));
        services.AddSingleton(sp => new IngressQueue(
            Akka.Streams.ActorMaterializer.Create(sp.GetRequiredService<ActorSystem>(), namePrefix: "ingress"),
            new IngressQueueSettings(options.Ingress.QueueSize, options.Ingress.Parallelism), clock));
        services.AddSingleton<IngressGateInterceptor>();
        services.AddGrpc(o => o.Interceptors.Add<IngressGateInterceptor>());
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>The cluster gate, then the queue gate, then every ingress endpoint (HTTP and gRPC).</summary>
    public static WebApplication MapRouterIngress(this WebApplication app)
    {
        NodeHealth.UseClusterGate(app);
        app.UseIngressGate();
        app.MapOpenAi();
        app.MapAnthropic();
        app.MapGrpcService<RouterGrpcService>();
        app.MapGrpcReflectionService();
        return app;
    }
}

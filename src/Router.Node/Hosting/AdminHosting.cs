using Akka.Actor;
using Router.Actors;
using Router.Node.Admin;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>
/// Registers <c>router.v1.Admin</c> (the service behind <c>routerctl</c>): the admin key check and status mapping
/// for that service only, and the membership watcher that gives <c>cluster show</c> its up-since times.
/// </summary>
public static class AdminHosting
{
    /// <summary>Call after <c>AddAkka</c>: the watcher's hosted service needs the ActorSystem to have started.</summary>
    public static IServiceCollection AddRouterAdmin(this IServiceCollection services, RouterOptions options)
    {
        services.AddSingleton(new AdminCredentials(options.AdminKey is null ? null : SecretResolver.Resolve(options.AdminKey, "Router:AdminKey")));
        services.AddSingleton<AdminInterceptor>();
        services.AddSingleton<MemberUpTimes>();
        services.AddHostedService<MemberUpWatcher>();
        services.AddGrpc().AddServiceOptions<AdminGrpcService>(o => o.Interceptors.Add<AdminInterceptor>());
        return services;
    }

    /// <summary>The Admin gRPC service and the admin HTTP API (refused when no admin key is configured).</summary>
    public static WebApplication MapRouterAdmin(this WebApplication app, RouterOptions options)
    {
        app.MapGrpcService<AdminGrpcService>();
        app.MapAdmin(options.AdminKey is null ? null : SecretResolver.Resolve(options.AdminKey, "Router:AdminKey"));
        return app;
    }
}

/// <summary>Starts the <see cref="MemberUpTracker"/> once the ActorSystem runs.</summary>
internal sealed class MemberUpWatcher(IServiceProvider services, MemberUpTimes times, TimeProvider clock) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<ActorSystem>().ActorOf(MemberUpTracker.Props(times, clock).WithBackoffOnFailure("tracker"), "admin-member-up");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

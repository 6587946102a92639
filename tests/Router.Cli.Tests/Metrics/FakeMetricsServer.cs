using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Router.Cli.Tests.Metrics;

/// <summary>
/// A real Kestrel socket on 127.0.0.1 serving recorded Prometheus text on <c>/metrics</c>: the first GET gets
/// <c>first</c>, every later one <c>second</c> (so a two-scrape command sees the counters move).
/// </summary>
public sealed class FakeMetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _hits;

    private FakeMetricsServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public int Port => Url.Port;

    public int Hits => Volatile.Read(ref _hits);

    public static async Task<FakeMetricsServer> StartAsync(string first, string second)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeMetricsServer(app);
        app.MapGet("/metrics", () =>
        {
            var hit = Interlocked.Increment(ref server._hits);
            return Results.Text(hit == 1 ? first : second, "text/plain; version=0.0.4; charset=utf-8");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Url = new Uri(new Uri(address), "/metrics");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Router.Actors.Breakers;
using Router.Node.Batches;
using Router.Node.Configuration;
using Router.Node.Observability;

namespace Router.Node.Hosting;

/// <summary>Builds a Router node: configuration (appsettings.json, <c>--config FILE</c>, environment), Kestrel, Akka, endpoints.</summary>
public static class RouterHost
{
    /// <param name="args">Command line; <c>--config FILE</c> adds a JSON file over appsettings.json.</param>
    /// <param name="configure">Extra configuration sources applied last (tests).</param>
    /// <param name="overrides">Service replacements applied after Router's own registrations (tests, benchmarks).</param>
    /// <param name="clock">The node's clock (tests pass a fake one for cooldowns and breakers).</param>
    public static WebApplication Build(
        string[] args, Action<IConfigurationBuilder>? configure = null, Action<IServiceCollection>? overrides = null, TimeProvider? clock = null)
    {
        var (configFile, rest) = SplitConfigArgument(args);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = rest,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (configFile is not null)
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path)) throw new ConfigurationException("--config", $"file {path} does not exist");
            // Over appsettings.json, under the environment and the command line (the configuration contract).
            ReplaceListsOfBase(builder.Configuration, path);
            builder.Configuration.AddJsonFile(path, optional: false, reloadOnChange: false);
            builder.Configuration.AddEnvironmentVariables();
            builder.Configuration.AddCommandLine(rest);
        }
        configure?.Invoke(builder.Configuration);

        var options = new RouterOptions();
        try
        {
            builder.Configuration.GetSection(RouterOptions.Section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException("Router", ex.Message);
        }
        var catalog = RouterSetup.BuildCatalog(options);
        AkkaSetup.Validate(options.Cluster);
        clock ??= TimeProvider.System;
        var providers = DispatchHosting.BuildProviders(options, clock);
        var breakerView = new BreakerView();

        builder.Logging.AddRouterLogging(options);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.Http.MaxBodyBytes;
            k.Listen(System.Net.IPAddress.Parse(options.Http.Host), options.Http.Port, l => l.Protocols = HttpProtocols.Http1);
            k.Listen(System.Net.IPAddress.Parse(options.Grpc.Host), options.Grpc.Port, l => l.Protocols = HttpProtocols.Http2);
        });

        builder.Services
            .AddSingleton(options)
            .AddSingleton(clock)
            .AddRouterDispatch(options, catalog, providers, breakerView, clock)
            .AddRouterPipeline(options, clock)
            .AddBatches(options)
            .AddRouterAkka(options, breakerView, providers, clock)
            // Hosted services from here on start after the ActorSystem and stop before it: the ledger flushes while
            // it still runs.
            .AddRouterKeys(options)
            .AddRouterUsageLedger(options)
            .AddRouterIngress(options, clock)
            .AddRouterHealth()
            .AddRouterAdmin(options)
            .AddRouterObservability(options)
            .AddRouterTracing(options, builder.Configuration)
            // Kestrel drains in-flight requests first, then the ledger flushes, then Akka leaves and hands shards off.
            .Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.Shutdown.DrainSeconds + 10));

        overrides?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapRouterIngress();
        app.MapBatches();
        app.MapRouterHealth();
        app.MapRouterAdmin(options);
        app.MapRouterMetrics(options);
        return app;
    }

    /// <summary>Lists that a <c>--config</c> file names replace appsettings.json's instead of merging by index.</summary>
    public static readonly string[] ReplacedLists =
        ["Router:Providers", "Router:Models", "Router:Keys", "Router:Cluster:Seeds", "Router:Cluster:Roles"];

    /// <summary>
    /// .NET configuration merges arrays element by element, so a <c>--config</c> file with one key would inherit the
    /// demo key's limits from appsettings.json. For the lists above, the file's list replaces the base list whole.
    /// </summary>
    private static void ReplaceListsOfBase(ConfigurationManager configuration, string overlayPath)
    {
        var overlay = new ConfigurationBuilder().AddJsonFile(overlayPath, optional: false).Build();
        var replaced = ReplacedLists.Where(l => overlay.GetSection(l).GetChildren().Any()).ToList();
        if (replaced.Count == 0) return;
        var sources = (IList<IConfigurationSource>)configuration.Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is not Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path: { } file } json
                || !file.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase)) continue;
            var fileProvider = json.FileProvider ?? new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory);
            if (!fileProvider.GetFileInfo(file).Exists) continue;
            var baseValues = new ConfigurationBuilder().AddJsonFile(fileProvider, file, optional: true, reloadOnChange: false).Build()
                .AsEnumerable()
                .Where(kv => !replaced.Any(l => kv.Key.Equals(l, StringComparison.OrdinalIgnoreCase)
                                                || kv.Key.StartsWith(l + ":", StringComparison.OrdinalIgnoreCase)))
                .ToList();
            sources[i] = new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = baseValues };
        }
    }

    private static (string? ConfigFile, string[] Remaining) SplitConfigArgument(string[] args)
    {
        string? file = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                if (i + 1 >= args.Length) throw new ConfigurationException("--config", "needs a file path");
                file = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal)) file = args[i]["--config=".Length..];
            else rest.Add(args[i]);
        }
        return (file, rest.ToArray());
    }
}

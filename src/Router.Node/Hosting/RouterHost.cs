using Akka.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Router.Actors.Breakers;
using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Actors.Usage;
using Akka.Actor;
using Router.Node.Admin;
using Router.Node.Batches;
using Router.Node.Configuration;
using Router.Node.Grpc;
using Router.Node.Ingress;
using Router.Node.Pipeline;
using Router.Node.Upstreams;
using Router.Node.Usage;

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
        var providers = BuildProviders(options, clock);

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.Http.MaxBodyBytes;
            k.Listen(System.Net.IPAddress.Parse(options.Http.Host), options.Http.Port, l => l.Protocols = HttpProtocols.Http1);
            k.Listen(System.Net.IPAddress.Parse(options.Grpc.Host), options.Grpc.Port, l => l.Protocols = HttpProtocols.Http2);
        });

        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(clock);
        s.AddSingleton(new RoutePlanner(catalog));
        s.AddSingleton(new BodyLimits(options.Http.MaxBodyBytes));
        s.AddSingleton<IReadOnlyDictionary<string, ProviderRuntime>>(providers);
        var breakerView = new BreakerView();
        s.AddSingleton(breakerView);
        s.AddSingleton<IDispatchObserver, ClusterDispatchObserver>();
        s.AddSingleton(sp => new Dispatcher(providers, sp.GetRequiredService<BreakerView>(), new DispatchSettings(
            new RetrySettings(options.Retry.MaxAttempts, TimeSpan.FromMilliseconds(options.Retry.BaseDelayMs),
                TimeSpan.FromMilliseconds(options.Retry.MaxDelayMs), TimeSpan.FromMilliseconds(options.Retry.DeadlineMs)),
            TimeSpan.FromMilliseconds(options.Retry.AttemptTimeoutMs)), sp.GetRequiredService<IDispatchObserver>(), clock,
            sp.GetRequiredService<DeploymentLimiter>()));
        s.AddSingleton<DeploymentLimiter>();
        s.AddSingleton<Router.Node.Admin.KeyAdmin>();
        // Fail fast on a configured key whose secret cannot be read.
        for (var i = 0; i < options.Keys.Count; i++) KeysHosting.ToUpsert(options.Keys[i], i);
        s.AddSingleton<IAdmission, ShardedAdmission>();
        s.AddSingleton(new TokenCounter());
        s.AddSingleton(UsageStore.Create(options.Persistence.Provider, options.Persistence.ConnectionString));
        s.AddSingleton(sp => new WriterHolder(() => new UsageLedgerWriter(sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<IUsageStore>())));
        s.AddSingleton(sp => sp.GetRequiredService<WriterHolder>().Writer);
        s.AddSingleton<IUsageRecorder, LedgerUsageRecorder>();
        s.AddSingleton(sp => new ChatPipeline(
            sp.GetRequiredService<RoutePlanner>(), sp.GetRequiredService<IAdmission>(), sp.GetRequiredService<Dispatcher>(),
            sp.GetRequiredService<TokenCounter>(), sp.GetRequiredService<IUsageRecorder>(), clock, options.Limits.DefaultMaxTokens));
        s.AddBatches(options);

        s.AddAkka(AkkaSetup.SystemName, (akka, _) => akka
            .AddRouterCluster(options)
            .AddApiKeyShards(clock)
            .AddFailover(options, breakerView, providers, clock)
            .AddBatchJobs(options, clock));
        s.AddHostedService<ConfigKeySeeder>();
        // Registered after Akka so it stops first: the ledger flushes while the ActorSystem still runs.
        s.AddHostedService<LedgerLifetime>();
        s.AddSingleton(sp => new IngressQueue(
            Akka.Streams.ActorMaterializer.Create(sp.GetRequiredService<ActorSystem>(), namePrefix: "ingress"),
            new IngressQueueSettings(options.Ingress.QueueSize, options.Ingress.Parallelism), clock));
        s.AddSingleton<IngressGateInterceptor>();
        s.AddSingleton<NodeHealth>();
        // Kestrel drains in-flight requests first, then the ledger flushes, then Akka leaves and hands shards off.
        s.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.Shutdown.DrainSeconds + 10));
        s.AddGrpc(o => o.Interceptors.Add<IngressGateInterceptor>());
        s.AddGrpcReflection();
        s.AddRouterAdmin(options);
        s.AddGrpcHealthChecks().AddCheck("router", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());

        overrides?.Invoke(s);
        var app = builder.Build();
        NodeHealth.UseClusterGate(app);
        app.UseIngressGate();
        app.MapOpenAi();
        app.MapAnthropic();
        app.MapBatches();
        app.MapGrpcService<RouterGrpcService>();
        app.MapGrpcService<AdminGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        NodeHealth.MapHealth(app);
        app.MapAdmin(options.AdminKey is null ? null : SecretResolver.Resolve(options.AdminKey, "Router:AdminKey"));
        return app;
    }

    private static Dictionary<string, ProviderRuntime> BuildProviders(RouterOptions options, TimeProvider clock)
    {
        var providers = new Dictionary<string, ProviderRuntime>(StringComparer.Ordinal);
        for (var i = 0; i < options.Providers.Count; i++)
        {
            var p = options.Providers[i];
            var keys = p.Keys.Select((k, j) => new ProviderKey(k.Id, SecretResolver.Resolve(k.Secret, $"Router:Providers:{i}:Keys:{j}:Secret"), k.Rpm, k.Tpm)).ToList();
            providers[p.Name] = new ProviderRuntime(p.Name, p.Kind, UpstreamClients.Create(p, clock, options.Limits.DefaultMaxTokens), keys);
        }
        return providers;
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

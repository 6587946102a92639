using Akka.Actor;
using Akka.Hosting;
using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>Seeding of the keys named in configuration into their entities (the shard region: <see cref="RateLimitingHosting"/>).</summary>
public static class KeysHosting
{
    /// <summary>
    /// Key administration and the seeding of configured keys. Call after <see cref="AkkaSetup.AddRouterAkka"/>: the
    /// seeder is a hosted service that needs the ActorSystem started. A configured key whose secret cannot be read
    /// stops start-up here.
    /// </summary>
    public static IServiceCollection AddRouterKeys(this IServiceCollection services, RouterOptions options)
    {
        for (var i = 0; i < options.Keys.Count; i++) ToUpsert(options.Keys[i], i);
        services.AddSingleton<Router.Node.Admin.KeyAdmin>();
        services.AddHostedService<ConfigKeySeeder>();
        return services;
    }

    /// <summary>Builds the Upsert for a configured key; the plaintext is hashed here and never leaves.</summary>
    public static ApiKeyCommands.Upsert ToUpsert(KeyOptions k, int index)
    {
        var hash = ApiKeyHash.Compute(SecretResolver.Resolve(k.Key, $"Router:Keys:{index}:Key"));
        return new ApiKeyCommands.Upsert(ApiKeyId.FromKeyHash(hash), k.Name, hash, k.Rpm, k.Tpm, k.MaxConcurrent, k.BudgetUsd,
            ParsePeriod(k.BudgetPeriod), k.Models.Count == 0 ? ["*"] : k.Models.ToArray(), KeySource.Config);
    }

    public static BudgetPeriod ParsePeriod(string period) => period switch
    {
        "day" => BudgetPeriod.Day,
        "total" => BudgetPeriod.Total,
        _ => BudgetPeriod.Month,
    };
}

/// <summary>
/// Upserts every configured key into its entity at start-up (identical upserts write nothing), retrying while the
/// shard region is still coming up. Keys created through the admin API live only in the journal.
/// </summary>
public sealed partial class ConfigKeySeeder(RouterOptions options, IRequiredActor<ApiKeyActor> keys, ILogger<ConfigKeySeeder> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var upserts = options.Keys.Select(KeysHosting.ToUpsert).ToList();
        var region = await keys.GetAsync(cancellationToken);
        foreach (var upsert in upserts)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var reply = await region.Ask<object>(upsert, TimeSpan.FromSeconds(5), cancellationToken);
                    if (reply is Status.Failure f) throw new InvalidOperationException($"key '{upsert.Name}': {f.Cause.Message}");
                    break;
                }
                catch (AskTimeoutException) when (attempt < 12)
                {
                    LogRetry(log, upsert.Name, attempt);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Seeding configured key {Name} timed out (attempt {Attempt}); retrying")]
    private static partial void LogRetry(ILogger logger, string name, int attempt);
}

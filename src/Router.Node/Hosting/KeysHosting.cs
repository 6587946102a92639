using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Router.Actors.RateLimiting;
using Router.Actors.Sharding;
using Router.Contracts.RateLimiting;
using Router.Node.Configuration;

namespace Router.Node.Hosting;

/// <summary>The ApiKey shard region, and seeding of the keys named in configuration into their entities.</summary>
public static class KeysHosting
{
    public static AkkaConfigurationBuilder AddApiKeyShards(this AkkaConfigurationBuilder akka, TimeProvider clock) =>
        akka.WithShardRegion<ApiKeyActor>("apikey", ApiKeyActor.PropsFactory(clock, new ApiKeyActorSettings()),
            new ApiKeyMessageExtractor(),
            new ShardOptions
            {
                // A graceful hand-off persists unsaved spend and bucket levels before the entity moves.
                HandOffStopMessage = StopEntity.Instance,
                RememberEntities = false,
                // The entity passivates itself when idle, after saving its state.
                ShouldPassivateIdleEntities = false,
            });

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

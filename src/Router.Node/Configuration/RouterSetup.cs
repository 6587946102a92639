using Router.Actors.Persistence;
using Router.Actors.Routing;

namespace Router.Node.Configuration;

/// <summary>
/// Turns bound <see cref="RouterOptions"/> into the validated runtime catalog, or throws a
/// <see cref="ConfigurationException"/> naming the first bad field.
/// </summary>
public static class RouterSetup
{
    public static readonly string[] ProviderKinds = ["openai", "anthropic", "simulated"];

    public static IReadOnlyList<ModelEntry> BuildCatalog(RouterOptions options)
    {
        Validate(options);
        return options.Models.Select(m => new ModelEntry(
            m.Id,
            m.Aliases,
            m.ContextWindow,
            m.Deployments.Select(d => new Deployment(
                DeploymentId(m, d), m.Id, d.Provider, d.Model, d.InputPerMTok, d.OutputPerMTok,
                d.ContextWindow ?? m.ContextWindow, d.MaxConcurrent)
            {
                CachedInputPerMTok = d.CachedInputPerMTok,
                CacheWriteInputPerMTok = d.CacheWriteInputPerMTok,
            }).ToList(),
            m.Fallbacks,
            m.Tier) { Kind = m.Kind.ToLowerInvariant() }).ToList();
    }

    public static string DeploymentId(ModelOptions model, DeploymentOptions deployment) =>
        string.IsNullOrWhiteSpace(deployment.Id) ? $"{model.Id}/{deployment.Provider}" : deployment.Id!;

    private static void Validate(RouterOptions o)
    {
        // Port 0 asks the OS for a free port (tests).
        Port(o.Http.Port, "Router:Http:Port", allowZero: true);
        Port(o.Grpc.Port, "Router:Grpc:Port", allowZero: true);
        if (o.Http.Port == o.Grpc.Port && o.Http.Port != 0) throw new ConfigurationException("Router:Grpc:Port", "must differ from Router:Http:Port");
        if (o.Http.MaxBodyBytes < 1024) throw new ConfigurationException("Router:Http:MaxBodyBytes", "must be at least 1024");
        if (!PersistenceProviders.TryParse(o.Persistence.Provider, out _))
            throw new ConfigurationException("Router:Persistence:Provider", $"must be 'sqlite' or 'postgresql', not '{o.Persistence.Provider}'");
        if (string.IsNullOrWhiteSpace(o.Persistence.ConnectionString))
            throw new ConfigurationException("Router:Persistence:ConnectionString", "is empty");
        Port(o.Cluster.Port, "Router:Cluster:Port", allowZero: true);

        var providers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Providers.Count; i++)
        {
            var p = o.Providers[i];
            var at = $"Router:Providers:{i}";
            if (string.IsNullOrWhiteSpace(p.Name)) throw new ConfigurationException($"{at}:Name", "is empty");
            if (!providers.Add(p.Name)) throw new ConfigurationException($"{at}:Name", $"'{p.Name}' is used twice");
            if (!ProviderKinds.Contains(p.Kind))
                throw new ConfigurationException($"{at}:Kind", $"'{p.Kind}' is not one of {string.Join(", ", ProviderKinds)}");
            if (p.Kind != "simulated")
            {
                if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    throw new ConfigurationException($"{at}:BaseUrl", "must be an absolute http(s) URL");
                if (p.Keys.Count == 0) throw new ConfigurationException($"{at}:Keys", "needs at least one key");
            }
            if (p.FailureRate is < 0 or > 1) throw new ConfigurationException($"{at}:FailureRate", "must be between 0 and 1");
            var keyIds = new HashSet<string>(StringComparer.Ordinal);
            for (var k = 0; k < p.Keys.Count; k++)
            {
                var key = p.Keys[k];
                if (string.IsNullOrWhiteSpace(key.Id)) throw new ConfigurationException($"{at}:Keys:{k}:Id", "is empty");
                if (!keyIds.Add(key.Id)) throw new ConfigurationException($"{at}:Keys:{k}:Id", $"'{key.Id}' is used twice");
                Positive(key.Rpm, $"{at}:Keys:{k}:Rpm");
                Positive(key.Tpm, $"{at}:Keys:{k}:Tpm");
            }
        }

        if (o.Models.Count == 0) throw new ConfigurationException("Router:Models", "needs at least one model");
        for (var i = 0; i < o.Models.Count; i++)
        {
            var m = o.Models[i];
            var at = $"Router:Models:{i}";
            if (string.IsNullOrWhiteSpace(m.Id)) throw new ConfigurationException($"{at}:Id", "is empty");
            if (m.ContextWindow <= 0) throw new ConfigurationException($"{at}:ContextWindow", "must be positive");
            if (m.Deployments.Count == 0) throw new ConfigurationException($"{at}:Deployments", "needs at least one deployment");
            if (m.Tier is not null && !RoutePlanner.Tiers.Contains(m.Tier, StringComparer.OrdinalIgnoreCase))
                throw new ConfigurationException($"{at}:Tier", $"'{m.Tier}' is not one of {string.Join(", ", RoutePlanner.Tiers)}");
            if (!ModelKinds.All.Contains(m.Kind, StringComparer.OrdinalIgnoreCase))
                throw new ConfigurationException($"{at}:Kind", $"'{m.Kind}' is not one of {string.Join(", ", ModelKinds.All)}");
            for (var j = 0; j < m.Deployments.Count; j++)
            {
                var d = m.Deployments[j];
                if (!providers.Contains(d.Provider))
                    throw new ConfigurationException($"{at}:Deployments:{j}:Provider", $"unknown provider '{d.Provider}'");
                if (string.Equals(m.Kind, ModelKinds.Embeddings, StringComparison.OrdinalIgnoreCase)
                    && o.Providers.First(p => p.Name == d.Provider).Kind.Equals("anthropic", StringComparison.OrdinalIgnoreCase))
                    throw new ConfigurationException($"{at}:Deployments:{j}:Provider", $"'{d.Provider}' is an anthropic provider, which serves no embeddings");
                if (string.IsNullOrWhiteSpace(d.Model)) throw new ConfigurationException($"{at}:Deployments:{j}:Model", "is empty");
                if (d.InputPerMTok < 0) throw new ConfigurationException($"{at}:Deployments:{j}:InputPerMTok", "must not be negative");
                if (d.OutputPerMTok < 0) throw new ConfigurationException($"{at}:Deployments:{j}:OutputPerMTok", "must not be negative");
                if (d.CachedInputPerMTok < 0) throw new ConfigurationException($"{at}:Deployments:{j}:CachedInputPerMTok", "must not be negative");
                if (d.CacheWriteInputPerMTok < 0) throw new ConfigurationException($"{at}:Deployments:{j}:CacheWriteInputPerMTok", "must not be negative");
                Positive(d.MaxConcurrent, $"{at}:Deployments:{j}:MaxConcurrent");
            }
        }
        var deploymentIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in o.Models)
            foreach (var d in m.Deployments)
                if (!deploymentIds.Add(DeploymentId(m, d)))
                    throw new ConfigurationException($"Router:Models:{o.Models.IndexOf(m)}:Deployments",
                        $"deployment id '{DeploymentId(m, d)}' is used twice; give the deployments distinct Id values");

        var catalogProblems = RoutePlanner.Validate(o.Models.Select(m =>
            new ModelEntry(m.Id, m.Aliases, m.ContextWindow, [], m.Fallbacks, m.Tier)).ToList());
        if (catalogProblems.Count > 0)
        {
            var first = catalogProblems[0];
            var colon = first.IndexOf(": ", StringComparison.Ordinal);
            throw new ConfigurationException(first[..colon], first[(colon + 2)..]);
        }

        var keyNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Keys.Count; i++)
        {
            var k = o.Keys[i];
            var at = $"Router:Keys:{i}";
            if (string.IsNullOrWhiteSpace(k.Name)) throw new ConfigurationException($"{at}:Name", "is empty");
            if (!keyNames.Add(k.Name)) throw new ConfigurationException($"{at}:Name", $"'{k.Name}' is used twice");
            Positive(k.Rpm, $"{at}:Rpm");
            Positive(k.Tpm, $"{at}:Tpm");
            Positive(k.MaxConcurrent, $"{at}:MaxConcurrent");
            if (k.BudgetUsd is < 0) throw new ConfigurationException($"{at}:BudgetUsd", "must not be negative");
            if (k.BudgetPeriod is not ("day" or "month" or "total"))
                throw new ConfigurationException($"{at}:BudgetPeriod", $"must be day, month or total, not '{k.BudgetPeriod}'");
        }

        if (o.Breaker.FailureThreshold < 1) throw new ConfigurationException("Router:Breaker:FailureThreshold", "must be at least 1");
        if (o.Breaker.OpenSeconds < 1) throw new ConfigurationException("Router:Breaker:OpenSeconds", "must be at least 1");
        if (o.Breaker.HalfOpenProbes < 1) throw new ConfigurationException("Router:Breaker:HalfOpenProbes", "must be at least 1");
        if (o.Retry.MaxAttempts < 1) throw new ConfigurationException("Router:Retry:MaxAttempts", "must be at least 1");
        if (o.Retry.BaseDelayMs < 0) throw new ConfigurationException("Router:Retry:BaseDelayMs", "must not be negative");
        if (o.Retry.MaxDelayMs < o.Retry.BaseDelayMs) throw new ConfigurationException("Router:Retry:MaxDelayMs", "must be at least BaseDelayMs");
        if (o.Retry.AttemptTimeoutMs < 1) throw new ConfigurationException("Router:Retry:AttemptTimeoutMs", "must be positive");
        if (o.Retry.DeadlineMs < 1) throw new ConfigurationException("Router:Retry:DeadlineMs", "must be positive");
        if (o.Limits.DefaultMaxTokens < 1) throw new ConfigurationException("Router:Limits:DefaultMaxTokens", "must be positive");
        if (o.Ingress.QueueSize < 1) throw new ConfigurationException("Router:Ingress:QueueSize", "must be at least 1");
        if (o.Ingress.Parallelism < 1) throw new ConfigurationException("Router:Ingress:Parallelism", "must be at least 1");
        if (o.Shutdown.DrainSeconds < 0) throw new ConfigurationException("Router:Shutdown:DrainSeconds", "must not be negative");
    }

    private static void Port(int port, string field, bool allowZero = false)
    {
        if (port < (allowZero ? 0 : 1) || port > 65535) throw new ConfigurationException(field, $"{port} is not a valid port");
    }

    private static void Positive(int? value, string field)
    {
        if (value is <= 0) throw new ConfigurationException(field, "must be positive (leave it out for no limit)");
    }
}

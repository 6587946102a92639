using Router.Contracts.Errors;

namespace Router.Actors.Routing;

/// <summary>The ordered deployments to try for one request.</summary>
/// <param name="RequestedModel">What the client asked for (id, alias or <c>auto</c>).</param>
/// <param name="Model">The model the name resolved to (for <c>auto</c>, the tier's first model).</param>
/// <param name="Candidates">Deployments in the order dispatch tries them: the model's own, then each fallback's.</param>
/// <param name="AutoTier">The complexity tier <c>auto</c> chose, if the client asked for <c>auto</c>.</param>
public sealed record RoutePlan(string RequestedModel, ModelEntry Model, IReadOnlyList<Deployment> Candidates, string? AutoTier);

/// <summary>
/// Turns a requested model name into ordered deployments: aliases, fallback chains (depth-first, each model once),
/// the <c>auto</c> model (a tier picked by <see cref="ComplexityClassifier"/>), and context-window filtering.
/// Pure and immutable: built once from configuration, shared by every request.
/// </summary>
public sealed class RoutePlanner
{
    public const string AutoModel = "auto";
    public static readonly string[] Tiers = ["simple", "standard", "complex"];

    private readonly Dictionary<string, ModelEntry> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IReadOnlyList<ModelEntry>> _byTier = new(StringComparer.OrdinalIgnoreCase);

    public RoutePlanner(IEnumerable<ModelEntry> models)
    {
        Models = models.ToList();
        foreach (var model in Models)
        {
            _byName[model.Id] = model;
            foreach (var alias in model.Aliases) _byName[alias] = model;
        }
        foreach (var tier in Tiers)
        {
            // Cheapest first inside a tier: auto exists to save money.
            _byTier[tier] = Models.Where(m => string.Equals(m.Tier, tier, StringComparison.OrdinalIgnoreCase))
                .OrderBy(m => m.Deployments.Count == 0 ? decimal.MaxValue : m.Deployments.Min(d => d.InputPerMTok + d.OutputPerMTok))
                .ToList();
        }
    }

    public IReadOnlyList<ModelEntry> Models { get; }

    /// <summary>Whether <c>auto</c> can be offered: at least one model has a tier.</summary>
    public bool HasAuto => _byTier.Values.Any(l => l.Count > 0);

    public bool TryResolve(string name, out ModelEntry model) => _byName.TryGetValue(name, out model!);

    /// <summary>Plans a request. Throws <see cref="RouterException"/> for unknown models and prompts no deployment can hold.</summary>
    /// <param name="requestedModel">Model id, alias or <c>auto</c>.</param>
    /// <param name="promptTokens">Counted prompt tokens; deployments whose context window is smaller are skipped.</param>
    /// <param name="complexity">Only read for <c>auto</c>.</param>
    public RoutePlan Plan(string requestedModel, int promptTokens, ComplexityTier complexity = ComplexityTier.Standard)
    {
        List<ModelEntry> roots;
        string? tier = null;
        if (string.Equals(requestedModel, AutoModel, StringComparison.OrdinalIgnoreCase) && !_byName.ContainsKey(requestedModel))
        {
            (tier, roots) = AutoRoots(complexity);
            if (roots.Count == 0)
                throw new RouterException(RouterErrorCode.ModelNotFound,
                    "The model 'auto' needs at least one model with a Tier in configuration.", "model");
        }
        else if (_byName.TryGetValue(requestedModel, out var model))
        {
            roots = [model];
        }
        else
        {
            throw new RouterException(RouterErrorCode.ModelNotFound,
                $"The model '{requestedModel}' does not exist or you do not have access to it.", "model");
        }

        var ordered = new List<Deployment>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var tooSmall = 0;
        foreach (var root in roots) Expand(root, seen, ordered, promptTokens, ref tooSmall);

        if (ordered.Count == 0)
        {
            if (tooSmall > 0)
                throw new RouterException(RouterErrorCode.InvalidRequest,
                    $"The prompt has about {promptTokens} tokens, more than the context window of every deployment of '{requestedModel}' and its fallbacks.",
                    "messages");
            throw new RouterException(RouterErrorCode.ModelNotFound, $"The model '{requestedModel}' has no deployments.", "model");
        }
        return new RoutePlan(requestedModel, roots[0], ordered, tier);
    }

    private void Expand(ModelEntry model, HashSet<string> seen, List<Deployment> into, int promptTokens, ref int tooSmall)
    {
        if (!seen.Add(model.Id)) return;
        foreach (var d in model.Deployments)
        {
            if (d.ContextWindow > 0 && promptTokens > d.ContextWindow) { tooSmall++; continue; }
            into.Add(d);
        }
        foreach (var fallback in model.Fallbacks)
            if (_byName.TryGetValue(fallback, out var next)) Expand(next, seen, into, promptTokens, ref tooSmall);
    }

    /// <summary>The tier's models first, then the tiers above it (never below: a complex task is not sent to a weak model).</summary>
    private (string Tier, List<ModelEntry> Roots) AutoRoots(ComplexityTier complexity)
    {
        var start = (int)complexity;
        var roots = new List<ModelEntry>();
        for (var i = start; i < Tiers.Length; i++) roots.AddRange(_byTier[Tiers[i]]);
        // Nothing at or above the tier: better a smaller model than no answer.
        for (var i = start - 1; i >= 0 && roots.Count == 0; i--) roots.AddRange(_byTier[Tiers[i]]);
        return (Tiers[start], roots);
    }

    /// <summary>Checks a catalog for errors a node must refuse to start with. Returns one line per problem.</summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<ModelEntry> models)
    {
        var problems = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < models.Count; i++)
        {
            var m = models[i];
            foreach (var name in m.Aliases.Prepend(m.Id))
                if (!names.TryAdd(name, m.Id))
                    problems.Add($"Router:Models:{i}: the name '{name}' is used by '{names[name]}' too");
        }
        for (var i = 0; i < models.Count; i++)
            for (var j = 0; j < models[i].Fallbacks.Count; j++)
                if (!names.ContainsKey(models[i].Fallbacks[j]))
                    problems.Add($"Router:Models:{i}:Fallbacks:{j}: unknown model '{models[i].Fallbacks[j]}'");
        if (problems.Count > 0) return problems;

        // A fallback cycle (a → b → a) would make every failure loop through the same deployments.
        var byName = new RoutePlanner(models)._byName;
        foreach (var m in models)
        {
            var cycle = FindCycle(m, byName, []);
            if (cycle is not null) { problems.Add($"Router:Models: fallback cycle {string.Join(" -> ", cycle)}"); break; }
        }
        return problems;
    }

    private static List<string>? FindCycle(ModelEntry m, Dictionary<string, ModelEntry> byName, List<string> path)
    {
        if (path.Contains(m.Id, StringComparer.OrdinalIgnoreCase)) return [.. path, m.Id];
        path.Add(m.Id);
        foreach (var f in m.Fallbacks)
        {
            var found = FindCycle(byName[f], byName, path);
            if (found is not null) return found;
        }
        path.RemoveAt(path.Count - 1);
        return null;
    }
}

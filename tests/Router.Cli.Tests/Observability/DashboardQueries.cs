using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Router.Cli.Tests.Observability;

/// <summary>
/// The Grafana dashboard in k8s/observability and the metric names its PromQL queries read. Public and static so a
/// test that scrapes a real node can check the same names against its <c>/metrics</c>.
/// </summary>
public static partial class DashboardQueries
{
    public const string DashboardPath = "k8s/observability/router-dashboard.json";

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        // Aggregations (also written "sum by (…) (…)", so not always followed by a parenthesis).
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
        "limitk", "limit_ratio",
        // Binary operators, modifiers, literals.
        "and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "atan2",
        "inf", "nan", "Inf", "NaN",
    };

    /// <summary>The repository's dashboard, parsed.</summary>
    public static JsonObject Load() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), DashboardPath)))?.AsObject()
        ?? throw new InvalidOperationException($"{DashboardPath} is JSON null");

    /// <summary>Every panel that is not a row (rows included nested in collapsed rows).</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard) =>
        dashboard["panels"]!.AsArray().Select(p => p!.AsObject())
            .SelectMany(p => p["panels"] is JsonArray nested ? nested.Select(n => n!.AsObject()).Prepend(p) : [p])
            .Where(p => (string?)p["type"] != "row");

    /// <summary>Each panel's title and the PromQL of each of its targets.</summary>
    public static IEnumerable<(string Panel, string Expr)> Exprs(JsonObject dashboard) =>
        Panels(dashboard).SelectMany(p => (p["targets"] as JsonArray ?? [])
            .Select(t => ((string?)p["title"] ?? "?", (string?)t!["expr"] ?? "")));

    /// <summary>
    /// The metric names one PromQL expression selects: identifiers left once string literals, label matchers
    /// (<c>{…}</c>), ranges (<c>[…]</c>) and <c>by</c>/<c>without</c>/<c>on</c>/<c>ignoring</c>/<c>group_*</c> label lists
    /// are removed, that are neither a function call, a keyword nor part of a number.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var text = StringLiteral().Replace(expr, " ");
        text = LabelMatchers().Replace(text, " ");
        text = Ranges().Replace(text, " ");
        text = LabelLists().Replace(text, " ");
        return Identifier().Matches(text)
            .Where(m => !Keywords.Contains(m.Value) && !FollowedByCall(text, m.Index + m.Length))
            .Select(m => m.Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static bool FollowedByCall(string text, int end)
    {
        while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
        return end < text.Length && text[end] == '(';
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Router.sln"))) return dir.FullName;
        throw new InvalidOperationException("Router.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelLists();

    [GeneratedRegex(@"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();
}

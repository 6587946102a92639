namespace Router.Actors.RateLimiting;

/// <summary>
/// Which models a key may use. Patterns are exact names, <c>prefix*</c> or <c>*</c>, compared ignoring case
/// (clients are not consistent about model name casing); an empty list allows every model, as a key
/// configured without a model list would be useless otherwise.
/// </summary>
public static class ModelAllowList
{
    public static bool Allows(IReadOnlyList<string> patterns, string model)
    {
        if (patterns.Count == 0)
        {
            return true;
        }

        foreach (var pattern in patterns)
        {
            var allowed = pattern.EndsWith('*')
                ? model.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
                : string.Equals(pattern, model, StringComparison.OrdinalIgnoreCase);
            if (allowed)
            {
                return true;
            }
        }

        return false;
    }
}

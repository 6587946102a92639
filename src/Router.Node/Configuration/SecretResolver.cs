namespace Router.Node.Configuration;

/// <summary>
/// Reads secrets named in configuration: <c>env:NAME</c> from the environment, <c>file:/path</c> from a mounted
/// file (Kubernetes secrets), anything else literally (tests and demo only). Errors name the field, never the value.
/// </summary>
public static class SecretResolver
{
    public static string Resolve(string? reference, string field)
    {
        if (string.IsNullOrEmpty(reference))
            throw new ConfigurationException(field, "is empty");
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = reference[4..];
            var value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value))
                throw new ConfigurationException(field, $"environment variable {name} is not set");
            return value;
        }
        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..];
            if (!File.Exists(path)) throw new ConfigurationException(field, $"secret file {path} does not exist");
            return File.ReadAllText(path).Trim();
        }
        return reference;
    }
}

/// <summary>A configuration error: start-up stops with one line naming the field.</summary>
public sealed class ConfigurationException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
}

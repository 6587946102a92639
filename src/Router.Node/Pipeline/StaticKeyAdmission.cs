using Router.Actors.Routing;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Configuration;

namespace Router.Node.Pipeline;

/// <summary>Keys from configuration, held as SHA-256 hashes; no limits (the sharded admission adds those).</summary>
public sealed class StaticKeyAdmission : IAdmission
{
    private sealed record Entry(Caller Caller, IReadOnlyList<string> Models);
    private readonly Dictionary<string, Entry> _byHash = new(StringComparer.Ordinal);

    public StaticKeyAdmission(IEnumerable<KeyOptions> keys)
    {
        var i = 0;
        foreach (var k in keys)
        {
            var hash = KeyHashing.Sha256Hex(SecretResolver.Resolve(k.Key, $"Router:Keys:{i++}:Key"));
            _byHash[hash] = new Entry(new Caller(KeyHashing.KeyIdOf(hash), k.Name), k.Models);
        }
    }

    private Entry Find(string presentedKey) =>
        _byHash.TryGetValue(KeyHashing.Sha256Hex(presentedKey), out var e)
            ? e
            : throw new RouterException(RouterErrorCode.Unauthorized, "Incorrect API key provided.");

    public ValueTask<Caller> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken) => new(Find(presentedKey).Caller);

    public ValueTask<Func<ModelEntry, bool>> ModelFilterAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var e = Find(presentedKey);
        return new(m => Allows(e.Models, m));
    }

    public ValueTask<AdmissionTicket> AdmitAsync(string presentedKey, string requestedModel, ModelEntry model, int estimatedTokens, CancellationToken cancellationToken)
    {
        var e = Find(presentedKey);
        if (!Allows(e.Models, model) && !e.Models.Contains(requestedModel, StringComparer.OrdinalIgnoreCase))
            throw new RouterException(RouterErrorCode.PermissionDenied, $"This key may not use the model '{requestedModel}'.", "model");
        return new(new AdmissionTicket(e.Caller, Guid.NewGuid().ToString("N"), estimatedTokens, null));
    }

    public static bool Allows(IReadOnlyList<string> allowed, ModelEntry m) =>
        allowed.Any(a => a == "*" || string.Equals(a, m.Id, StringComparison.OrdinalIgnoreCase)
                         || m.Aliases.Contains(a, StringComparer.OrdinalIgnoreCase));

    public void Complete(AdmissionTicket ticket, TokenUsage usage, decimal costUsd) { }

    public void Abort(AdmissionTicket ticket) { }
}

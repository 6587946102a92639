using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Contracts.RateLimiting;

/// <summary>
/// Identifies a virtual key without revealing it: the first 16 lowercase hex characters (64 bits) of the
/// SHA-256 of the plaintext key (<see cref="ApiKeyHash.IdOf"/>). It names the key's sharded entity, so every
/// node routes a key to the same limits; 64 bits keep ids short in logs and persistence ids while making an
/// accidental or forged collision impractical. Safe to log.
/// </summary>
[JsonConverter(typeof(ApiKeyIdJsonConverter))]
public sealed record ApiKeyId(string Value)
{
    /// <summary>Hex characters of the hash kept in the id.</summary>
    public const int Length = 16;

    /// <summary>The id of the key whose SHA-256 hex is <paramref name="keyHashHex"/>.</summary>
    public static ApiKeyId FromKeyHash(string keyHashHex)
    {
        if (!ApiKeyHash.IsValid(keyHashHex))
        {
            throw new ArgumentException("Expected 64 hex characters (a SHA-256)", nameof(keyHashHex));
        }

        return new ApiKeyId(keyHashHex[..Length].ToLowerInvariant());
    }

    public override string ToString() => Value;
}

/// <summary>Messages for one key's entity carry its id; the shard extractor routes on it.</summary>
public interface IWithApiKeyId
{
    ApiKeyId KeyId { get; }
}

/// <summary>Virtual keys are stored and compared only as SHA-256 hashes; the plaintext is never kept.</summary>
public static class ApiKeyHash
{
    /// <summary>Lowercase hex SHA-256 of the UTF-8 key.</summary>
    public static string Compute(string plaintextKey)
    {
        ArgumentNullException.ThrowIfNull(plaintextKey);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(plaintextKey)));
    }

    /// <summary>The id of a presented plaintext key (what ingress does on every request).</summary>
    public static ApiKeyId IdOf(string plaintextKey) => ApiKeyId.FromKeyHash(Compute(plaintextKey));

    public static bool IsValid(string? keyHashHex) =>
        keyHashHex is { Length: 64 } && keyHashHex.All(char.IsAsciiHexDigit);
}

/// <summary>Writes the id as a bare string: shorter payloads, and readable in the journal. A JSON null is refused: every message that carries an id needs one (System.Text.Json skips a converter
/// for null unless it asks to handle null, which would let a null id reach the shard extractor).</summary>
internal sealed class ApiKeyIdJsonConverter : JsonConverter<ApiKeyId>
{
    public override bool HandleNull => true;

    public override ApiKeyId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } value
            ? new ApiKeyId(value)
            : throw new JsonException($"An ApiKeyId must be a non-empty string, not {reader.TokenType}");

    public override void Write(Utf8JsonWriter writer, ApiKeyId? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.Value);
    }
}

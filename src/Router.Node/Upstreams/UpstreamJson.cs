using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Node.Upstreams;

// Shapes of providers' error bodies, read through source-generated metadata (no reflection per call).
// Answers themselves are read by the wire translators in Router.Node/Wire.
// Every member is optional: providers and relays add, drop and null fields, and the clients decide what is missing.

internal sealed class UpstreamErrorDto
{
    public string? Type { get; set; }
    public string? Message { get; set; }
    /// <summary>OpenAI sends a string, some relays a number.</summary>
    public JsonElement? Code { get; set; }
}

/// <summary>Either provider's error body: OpenAI <c>{"error":{…}}</c> and Anthropic <c>{"type":"error","error":{…}}</c> both fit.</summary>
internal sealed class UpstreamErrorEnvelopeDto
{
    public UpstreamErrorDto? Error { get; set; }
    /// <summary>Some relays answer <c>{"message": "…"}</c> only.</summary>
    public string? Message { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(UpstreamErrorEnvelopeDto))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;

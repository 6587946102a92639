namespace Router.Contracts.Chat;

/// <summary>
/// OpenAI <c>POST /v1/embeddings</c> in canonical form. <see cref="Inputs"/> holds the strings to embed (token-array
/// inputs are kept only in <see cref="RawBody"/>, which an OpenAI upstream receives as it is).
/// </summary>
public sealed record EmbeddingRequest
{
    public required string Model { get; init; }
    public required IReadOnlyList<string> Inputs { get; init; }
    /// <summary>Tokens of inputs given as token arrays (already counted, since they are tokens).</summary>
    public int TokenArrayTokens { get; init; }
    /// <summary><c>float</c> (default) or <c>base64</c>.</summary>
    public string? EncodingFormat { get; init; }
    public int? Dimensions { get; init; }
    public string? User { get; init; }
    public WireFormat Source { get; init; }
    public ReadOnlyMemory<byte> RawBody { get; init; }
}

/// <summary>
/// Embeddings as an upstream returned them. <see cref="Raw"/> is the upstream's JSON body (relayed as it is, with
/// <c>model</c> rewritten); <see cref="Vectors"/> is set when Router produced the vectors itself (simulated provider).
/// </summary>
public sealed record EmbeddingResult(string Model, int PromptTokens)
{
    public RawBody? Raw { get; init; }
    public IReadOnlyList<float[]>? Vectors { get; init; }
}

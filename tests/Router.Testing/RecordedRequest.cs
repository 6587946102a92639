using System.Text.Json;

namespace Router.Testing;

/// <summary>Which provider API a request spoke (OpenAI: chat, Responses, legacy completions, embeddings).</summary>
public enum FakeApi { OpenAi, Anthropic, Unknown, OpenAiResponses, OpenAiCompletions, OpenAiEmbeddings }

/// <summary>
/// One request as the fake upstream received it, so tests can assert what the gateway sent
/// (model name, max_tokens, stream_options, the key presented) rather than trusting the client.
/// </summary>
/// <param name="Headers">Request headers, case-insensitive names, multiple values joined with ", ".</param>
/// <param name="Body">The parsed JSON body (a detached clone), or null when the body was not JSON.</param>
/// <param name="ApiKey">The key presented: the Bearer token or <c>x-api-key</c>.</param>
/// <param name="ConnectionId">Kestrel's connection id, so a test can see whether the client reused a pooled connection.</param>
public sealed record RecordedRequest(
    int Sequence,
    FakeApi Api,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    string RawBody,
    JsonElement? Body,
    string? ApiKey,
    string ConnectionId)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    /// <summary>Whether the request asked for a stream (<c>"stream": true</c>).</summary>
    public bool IsStream => Body is { ValueKind: JsonValueKind.Object } b
        && b.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;

    // Never print the key: test output ends up in CI logs.
    public override string ToString() => $"#{Sequence} {Method} {Path} ({Api}, stream={IsStream})";
}

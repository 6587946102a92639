using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Node.Wire;

/// <summary>The 400s of translation: a field that only an upstream of the client's own wire could honour.</summary>
public static class WireRefusals
{
    /// <summary>
    /// Null when <paramref name="request"/> holds nothing outside the canonical model; otherwise a 400 naming the
    /// first field the canonical model could not carry to <paramref name="upstreamKind"/>.
    /// </summary>
    public static RouterException? Unmapped(ChatRequest request, string upstreamKind)
    {
        if (request.UnmappedFields.Count == 0) return null;
        var field = request.UnmappedFields[0];
        return new RouterException(RouterErrorCode.InvalidRequest,
            $"'{field}' is not supported when model '{request.Model}' is served by an {upstreamKind} deployment: Router passes it " +
            "through only to upstreams of the same API. Remove it, or use a model served by that API.", field);
    }

    /// <summary>The wire name clients know, for messages.</summary>
    public static string Describe(WireFormat wire) => wire switch
    {
        WireFormat.OpenAiChat => "OpenAI Chat Completions",
        WireFormat.OpenAiResponses => "OpenAI Responses",
        WireFormat.OpenAiCompletions => "OpenAI Completions",
        WireFormat.AnthropicMessages => "Anthropic Messages",
        _ => "gRPC",
    };
}

namespace Router.Node.Ingress;

/// <summary>Which model-serving HTTP ingress a request is for, so the node's gates answer refusals in that ingress's shape.</summary>
public enum IngressKind { None, OpenAi, Anthropic }

public static class IngressPaths
{
    /// <summary>The ingress of a POST to <paramref name="path"/>; <see cref="IngressKind.None"/> for admin, health, files and batches.</summary>
    public static IngressKind Classify(PathString path)
    {
        if (path.StartsWithSegments("/v1/chat/completions") || path.StartsWithSegments("/v1/responses")
            || path.StartsWithSegments("/v1/completions") || path.StartsWithSegments("/v1/embeddings"))
            return IngressKind.OpenAi;
        return path.StartsWithSegments("/v1/messages") ? IngressKind.Anthropic : IngressKind.None;
    }
}

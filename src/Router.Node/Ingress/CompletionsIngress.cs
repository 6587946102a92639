using Router.Node.Pipeline;
using Router.Node.Wire.Completions;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI's legacy Completions, <c>POST /v1/completions</c>: passed through to OpenAI upstreams (the prompt and every
/// parameter as sent), translated to a one-message chat for the others. Same admission, routing, limits and ledger as chat.
/// </summary>
public static class CompletionsIngress
{
    public static readonly HttpChatWire Wire = new(
        AllowXApiKey: false, IdPrefix: "cmpl-", CompletionsWire.ParseRequest, OpenAiIngress.WriteErrorAsync,
        (w, id, created, model, c, _) => CompletionsWire.WriteCompletion(w, id, created, model, c),
        s =>
        {
            var writer = new CompletionsChunkWriter(s.Id, s.Created, s.Model, s.Request.IncludeUsage);
            return new ChatStreamWriters(writer.Write, OpenAiIngress.WriteErrorEvent, writer.WriteDone, DropUsage: !s.Request.IncludeUsage);
        });

    internal static Task CompletionsAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits) =>
        HttpIngress.ServeChatAsync(http, pipeline, limits, Wire);
}

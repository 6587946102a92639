using Router.Node.Pipeline;
using Router.Node.Wire.Responses;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI's Responses API, <c>POST /v1/responses</c> (JSON and SSE): passed through to OpenAI upstreams, translated
/// through the canonical model (<see cref="ResponsesWire"/>) for the others, with the same admission, routing,
/// failover, limits and ledger as chat. Errors in OpenAI's shape.
/// </summary>
public static class ResponsesIngress
{
    public static readonly HttpChatWire Wire = new(
        AllowXApiKey: false, IdPrefix: "resp_", ResponsesWire.ParseRequest, OpenAiIngress.WriteErrorAsync,
        ResponsesWire.WriteResponse,
        s =>
        {
            var writer = new ResponsesEventWriter(s.Id, s.Created, s.Model, s.Request);
            return new ChatStreamWriters(writer.Write,
                (ex, output) => writer.WriteError(ErrorMapping.OpenAi(ex.Code).Code ?? "server_error", ex.Message, output));
        });

    internal static Task ResponsesAsync(HttpContext http, ChatPipeline pipeline, BodyLimits limits) =>
        HttpIngress.ServeChatAsync(http, pipeline, limits, Wire);
}

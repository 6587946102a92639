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
    internal static async Task ResponsesAsync(HttpContext http, ChatPipeline pipeline, IngressSettings settings)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (await HttpIngress.ExecuteAsync(http, pipeline, settings, allowXApiKey: false, ResponsesWire.ParseRequest, OpenAiIngress.WriteErrorAsync)
            is not { } done) return;
        var (request, execution) = done;

        HttpIngress.WriteRouterHeaders(http.Response, execution);
        var id = execution.ResponseId("resp_");
        var model = execution.Plan.RequestedModel;
        if (execution.Completion is { } c)
        {
            if (execution.Passthrough && c.Raw is { } raw) await HttpIngress.WriteRawJsonAsync(http.Response, raw.Json, model);
            else await HttpIngress.WriteAnswerAsync(http.Response, w => ResponsesWire.WriteResponse(w, id, created, model, c, request), OpenAiIngress.WriteErrorAsync);
            return;
        }
        var writer = new ResponsesEventWriter(id, created, model, request);
        await HttpIngress.RelayStreamAsync(http, execution, model, dropUsage: false, writer.Write,
            (ex, output) => writer.WriteError(Router.Node.Ingress.ErrorMapping.OpenAi(ex.Code).Code ?? "server_error", ex.Message, output));
    }
}

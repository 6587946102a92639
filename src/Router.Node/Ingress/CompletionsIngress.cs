using Router.Node.Pipeline;
using Router.Node.Wire.Completions;

namespace Router.Node.Ingress;

/// <summary>
/// OpenAI's legacy Completions, <c>POST /v1/completions</c>: passed through to OpenAI upstreams (the prompt and every
/// parameter as sent), translated to a one-message chat for the others. Same admission, routing, limits and ledger as chat.
/// </summary>
public static class CompletionsIngress
{
    internal static async Task CompletionsAsync(HttpContext http, ChatPipeline pipeline, IngressSettings settings)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (await HttpIngress.ExecuteAsync(http, pipeline, settings, allowXApiKey: false, CompletionsWire.ParseRequest, OpenAiIngress.WriteErrorAsync)
            is not { } done) return;
        var (request, execution) = done;

        HttpIngress.WriteRouterHeaders(http.Response, execution);
        var id = execution.ResponseId("cmpl-");
        var model = execution.Plan.RequestedModel;
        if (execution.Completion is { } c)
        {
            if (execution.Passthrough && c.Raw is { } raw) await HttpIngress.WriteRawJsonAsync(http.Response, raw.Json, model);
            else await HttpIngress.WriteAnswerAsync(http.Response, w => CompletionsWire.WriteCompletion(w, id, created, model, c), OpenAiIngress.WriteErrorAsync);
            return;
        }
        var writer = new CompletionsChunkWriter(id, created, model, request.IncludeUsage);
        await HttpIngress.RelayStreamAsync(http, execution, model, dropUsage: !request.IncludeUsage,
            writer.Write, OpenAiIngress.WriteErrorEvent, writer.WriteDone);
    }
}

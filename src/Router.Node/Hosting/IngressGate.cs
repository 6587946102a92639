using Grpc.Core;
using Grpc.Core.Interceptors;
using Router.Contracts.Errors;
using Router.Node.Ingress;

namespace Router.Node.Hosting;

/// <summary>
/// Puts every model request (HTTP chat, Responses, completions, embeddings, messages; gRPC) through the node's <see cref="IngressQueue"/>; when it is full the
/// request is answered at once with 503 <c>overloaded</c> (gRPC: UNAVAILABLE) and a Retry-After from the drain rate.
/// </summary>
public static class IngressGate
{
    public static IApplicationBuilder UseIngressGate(this IApplicationBuilder app)
    {
        // Resolved on first use: the queue's materializer needs the ActorSystem, which starts with the host.
        IngressQueue? queue = null;
        return app.Use(async (http, next) =>
        {
            var kind = IngressPaths.Classify(http.Request.Path);
            if (kind == IngressKind.None || !HttpMethods.IsPost(http.Request.Method))
            {
                await next(http);
                return;
            }
            queue ??= http.RequestServices.GetRequiredService<IngressQueue>();
            if (await queue.TryRunAsync(() => next(http), http.RequestAborted)) return;
            var refused = Overloaded(queue);
            if (kind == IngressKind.OpenAi) await OpenAiIngress.WriteErrorAsync(http.Response, refused);
            else await AnthropicIngress.WriteErrorAsync(http.Response, refused);
        });
    }

    public static RouterException Overloaded(IngressQueue queue) => new(RouterErrorCode.Overloaded,
        "This Router node is overloaded; retry after the delay in Retry-After.", retryAfter: queue.SuggestedRetryAfter());
}

/// <summary>The same gate for <c>router.v1.Router</c> calls (the admin and health services are not gated).</summary>
public sealed class IngressGateInterceptor(IngressQueue queue) : Interceptor
{
    private const string RouterService = "/router.v1.Router/";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(RouterService, StringComparison.Ordinal)) return await continuation(request, context);
        TResponse? response = default;
        if (!await queue.TryRunAsync(async () => response = await continuation(request, context), context.CancellationToken))
            throw Refused(context);
        return response!;
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(RouterService, StringComparison.Ordinal))
        {
            await continuation(request, responseStream, context);
            return;
        }
        if (!await queue.TryRunAsync(() => continuation(request, responseStream, context), context.CancellationToken))
            throw Refused(context);
    }

    private RpcException Refused(ServerCallContext context)
    {
        var retryAfter = queue.SuggestedRetryAfter();
        var seconds = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new RpcException(new Status(StatusCode.Unavailable, "This Router node is overloaded; retry after the delay in retry-after."),
            new Metadata { { "retry-after", seconds }, { "x-router-error", nameof(RouterErrorCode.Overloaded) } });
    }
}

using Grpc.Core;
using Router.Actors.Telemetry;
using Grpc.Core.Interceptors;
using Router.Contracts.Errors;
using Router.Node.Ingress;
using Router.Node.Observability;

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
        RouterMetrics? metrics = null;
        return app.Use(async (http, next) =>
        {
            var kind = IngressPaths.Classify(http.Request.Path);
            if (kind == IngressKind.None || !HttpMethods.IsPost(http.Request.Method))
            {
                await next(http);
                return;
            }
            queue ??= http.RequestServices.GetRequiredService<IngressQueue>();
            metrics ??= http.RequestServices.GetRequiredService<RouterMetrics>();
            // The request's clock starts before the queue: waiting in it is Router's time.
            var timing = RequestTiming.Start(kind == IngressKind.OpenAi ? TelemetryNames.IngressOpenAi : TelemetryNames.IngressAnthropic);
            http.Features.Set(timing);
            http.Response.OnStarting(WriteOverhead, http);
            try
            {
                if (await queue.TryRunAsync(() => RunTimed(timing, http, next), http.RequestAborted)) return;
                var refused = Overloaded(queue);
                timing.Fail(refused.Code);
                if (kind == IngressKind.OpenAi) await OpenAiIngress.WriteErrorAsync(http.Response, refused);
                else await AnthropicIngress.WriteErrorAsync(http.Response, refused);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                timing.Fail(TelemetryNames.Abandoned);
                throw;
            }
            catch
            {
                timing.Fail(Router.Contracts.Errors.RouterErrorCode.Internal);
                throw;
            }
            finally
            {
                Settle(timing, http);
                metrics.Finished(timing);
            }
        });
    }

    /// <summary>Runs the request with its clock as the ambient one (the queue runs work on its own flow).</summary>
    private static async Task RunTimed(RequestTiming timing, HttpContext http, RequestDelegate next)
    {
        RequestTiming.Enter(timing);
        await next(http);
    }

    private static readonly Func<object, Task> WriteOverhead = state =>
    {
        var http = (HttpContext)state;
        if (http.Features.Get<RequestTiming>() is { } timing) HttpIngress.WriteOverheadHeader(http.Response, timing);
        return Task.CompletedTask;
    };

    /// <summary>An answer whose error was written outside the error mappers still gets an outcome from its status.</summary>
    private static void Settle(RequestTiming timing, HttpContext http)
    {
        if (http.RequestAborted.IsCancellationRequested) timing.Fail(TelemetryNames.Abandoned);
        var status = http.Response.StatusCode;
        if (status < 400) return;
        timing.Fail(status switch
        {
            429 => TelemetryNames.RateLimited,
            503 => TelemetryNames.Shed,
            504 => TelemetryNames.Timeout,
            >= 500 => TelemetryNames.UpstreamError,
            _ => TelemetryNames.ClientError,
        });
    }

    public static RouterException Overloaded(IngressQueue queue) => new(RouterErrorCode.Overloaded,
        "This Router node is overloaded; retry after the delay in Retry-After.", retryAfter: queue.SuggestedRetryAfter());
}

/// <summary>The same gate for <c>router.v1.Router</c> calls (the admin and health services are not gated).</summary>
public sealed class IngressGateInterceptor(IngressQueue queue, RouterMetrics metrics) : Interceptor
{
    private const string RouterService = "/router.v1.Router/";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (!context.Method.StartsWith(RouterService, StringComparison.Ordinal)) return await continuation(request, context);
        TResponse? response = default;
        var timing = RequestTiming.Start(TelemetryNames.IngressGrpc);
        try
        {
            if (!await queue.TryRunAsync(async () =>
                {
                    RequestTiming.Enter(timing);
                    response = await continuation(request, context);
                }, context.CancellationToken))
                throw Refused(context, timing);
            return response!;
        }
        catch (Exception ex)
        {
            Failed(timing, ex, context);
            throw;
        }
        finally
        {
            metrics.Finished(timing);
        }
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
        var timing = RequestTiming.Start(TelemetryNames.IngressGrpc);
        try
        {
            if (!await queue.TryRunAsync(async () =>
                {
                    RequestTiming.Enter(timing);
                    await continuation(request, responseStream, context);
                }, context.CancellationToken))
                throw Refused(context, timing);
        }
        catch (Exception ex)
        {
            Failed(timing, ex, context);
            throw;
        }
        finally
        {
            metrics.Finished(timing);
        }
    }

    /// <summary>The outcome of a call that threw: the service already told a Router error; anything else is told here.</summary>
    private static void Failed(RequestTiming timing, Exception ex, ServerCallContext context)
    {
        if (context.CancellationToken.IsCancellationRequested) timing.Fail(TelemetryNames.Abandoned);
        else if (ex is not RpcException) timing.Fail(RouterErrorCode.Internal);
        else if (((RpcException)ex).StatusCode != StatusCode.OK) timing.Fail(TelemetryNames.UpstreamError);
    }

    private RpcException Refused(ServerCallContext context, RequestTiming timing)
    {
        timing.Fail(RouterErrorCode.Overloaded);
        var retryAfter = queue.SuggestedRetryAfter();
        var seconds = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new RpcException(new Status(StatusCode.Unavailable, "This Router node is overloaded; retry after the delay in retry-after."),
            new Metadata
            {
                { "retry-after", seconds }, { "x-router-error", nameof(RouterErrorCode.Overloaded) },
                { TelemetryNames.OverheadHeader, timing.OverheadHeaderValue() },
            });
    }
}

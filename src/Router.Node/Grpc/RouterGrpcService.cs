using System.Globalization;
using Router.Actors.Telemetry;
using Grpc.Core;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Ingress;
using Router.Node.Observability;
using Router.Node.Pipeline;
using G = Router.Contracts.Grpc;

namespace Router.Node.Grpc;

/// <summary><c>router.v1.Router</c>: the same pipeline as HTTP, with gRPC status codes for errors.</summary>
public sealed partial class RouterGrpcService(ChatPipeline pipeline) : G.Router.RouterBase
{
    public override async Task<G.CompletionResponse> Complete(G.CompletionRequest request, ServerCallContext context)
    {
        var execution = await ExecuteAsync(request, stream: false, context);
        WriteTrailers(context, execution);
        return GrpcWire.MapResponse(execution, execution.ResponseId("chatcmpl-"));
    }

    public override async Task CompleteStream(G.CompletionRequest request, IServerStreamWriter<G.CompletionChunk> responseStream, ServerCallContext context)
    {
        var execution = await ExecuteAsync(request, stream: true, context);
        WriteTrailers(context, execution);
        try
        {
            await foreach (var e in execution.Stream!.WithCancellation(context.CancellationToken))
            {
                if (GrpcWire.MapEvent(e, execution) is { } chunk) await responseStream.WriteAsync(chunk, context.CancellationToken);
            }
        }
        catch (RouterException ex)
        {
            throw ToRpc(ex, context);
        }
    }

    public override async Task<G.EmbedResponse> Embed(G.EmbedRequest request, ServerCallContext context)
    {
        try
        {
            var execution = await pipeline.EmbedAsync(PresentedKey(context), GrpcWire.MapEmbed(request), context.CancellationToken);
            context.ResponseTrailers.Add("x-router-request-id", execution.Ticket.RequestId);
            context.ResponseTrailers.Add("x-router-deployment", execution.ServedBy.Deployment.Id);
            if (RequestTiming.Current is { } timing) context.ResponseTrailers.Add(TelemetryNames.OverheadHeader, timing.OverheadHeaderValue());
            return GrpcWire.MapEmbedResponse(execution);
        }
        catch (RouterException ex)
        {
            throw ToRpc(ex, context);
        }
    }

    private async Task<ChatExecution> ExecuteAsync(G.CompletionRequest request, bool stream, ServerCallContext context)
    {
        try
        {
            return await pipeline.ExecuteAsync(PresentedKey(context), Map(request, stream), context.CancellationToken);
        }
        catch (RouterException ex)
        {
            throw ToRpc(ex, context);
        }
    }

    private static string? PresentedKey(ServerCallContext context)
    {
        var auth = context.RequestHeaders.GetValue("authorization");
        if (auth is not null && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth[7..].Trim();
        return context.RequestHeaders.GetValue("x-api-key");
    }

    /// <summary>Maps the proto request into the canonical model, with the same validation as HTTP.</summary>
    public static ChatRequest Map(G.CompletionRequest r, bool stream) => GrpcWire.MapRequest(r, stream);

    private static RpcException ToRpc(RouterException ex, ServerCallContext context)
    {
        var trailers = new Metadata();
        if (ex.RetryAfter is { } ra)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            // Only on the exception: grpc-dotnet copies its trailers into the response (adding both would send two).
            trailers.Add("retry-after", seconds);
        }
        trailers.Add("x-router-error", ex.Code.ToString());
        if (RequestTiming.Current is { } timing)
        {
            timing.Fail(ex.Code);
            if (context.ResponseTrailers.Get(TelemetryNames.OverheadHeader) is null)
                trailers.Add(TelemetryNames.OverheadHeader, timing.OverheadHeaderValue());
        }
        return new RpcException(new Status(ErrorMapping.Grpc(ex.Code), ex.Message), trailers);
    }

    private static void WriteTrailers(ServerCallContext context, ChatExecution e)
    {
        context.ResponseTrailers.Add("x-router-request-id", e.Ticket.RequestId);
        context.ResponseTrailers.Add("x-router-model", e.ServedBy.Deployment.ModelId);
        context.ResponseTrailers.Add("x-router-deployment", e.ServedBy.Deployment.Id);
        if (e.ServedBy.ProviderKeyId is { } k) context.ResponseTrailers.Add("x-router-provider-key", k);
        context.ResponseTrailers.Add("x-router-attempts", e.ServedBy.Attempts.ToString(CultureInfo.InvariantCulture));
        if (RequestTiming.Current is { } timing) context.ResponseTrailers.Add(TelemetryNames.OverheadHeader, timing.OverheadHeaderValue());
    }
}

using Grpc.Core;
using Router.Contracts.Errors;
using Router.Node.Batches;
using Router.Node.Configuration;
using Router.Node.Ingress;
using Router.Node.Pipeline;
using G = Router.Contracts.Grpc;

namespace Router.Node.Grpc;

/// <summary>
/// <c>Batch</c>: many requests on one bidirectional call, answered as they complete. Flow control is a window of
/// <see cref="BatchesOptions.GrpcWindow"/> slots per call: the server reads the next request only when a slot is
/// free and never reads ahead, so a client pushing 100,000 requests waits on HTTP/2 flow control instead of
/// making the node buffer them. Items do not pass the ingress queue (the interceptor passes duplex calls
/// through); the window is their bound. Each item runs the full pipeline with the caller's key, non-streamed,
/// and a failed item is a <c>BatchError</c> result, not the end of the call.
/// </summary>
public sealed partial class RouterGrpcService
{
    public override async Task Batch(
        IAsyncStreamReader<G.BatchRequest> requestStream, IServerStreamWriter<G.BatchResult> responseStream, ServerCallContext context)
    {
        var services = context.GetHttpContext().RequestServices;
        var chat = services.GetRequiredService<ChatPipeline>();
        var metrics = services.GetRequiredService<BatchMetrics>();
        var window = Math.Max(1, services.GetRequiredService<RouterOptions>().Batches.GrpcWindow);
        var key = PresentedKey(context) ?? "";
        try
        {
            if (key.Length == 0) throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            // A bad key fails the call once instead of every item.
            await services.GetRequiredService<IAdmission>().AuthenticateAsync(key, context.CancellationToken);
        }
        catch (RouterException ex)
        {
            throw ToRpc(ex, context);
        }

        using var call = metrics.StartGrpcCall();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var ct = stop.Token;
        var slots = new SemaphoreSlim(window, window);
        var writeGate = new SemaphoreSlim(1, 1);
        Exception? writeFailure = null;
        try
        {
            while (true)
            {
                // 1. Wait for a free slot first, then read: a full window leaves the request stream unread.
                await slots.WaitAsync(ct);
                bool more;
                try
                {
                    more = await requestStream.MoveNext(ct);
                }
                catch
                {
                    slots.Release();
                    throw;
                }
                if (!more)
                {
                    slots.Release();
                    break;
                }
                call.ItemRead();
                _ = RunItemAsync(requestStream.Current);
            }
        }
        catch
        {
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            // 2. Every started item ends (cancelled ones quickly) before the call does: nothing writes after the call.
            for (var i = 0; i < window; i++) await slots.WaitAsync(CancellationToken.None);
        }
        if (Volatile.Read(ref writeFailure) is { } failure) throw failure;

        async Task RunItemAsync(G.BatchRequest item)
        {
            try
            {
                var result = await BatchItemAsync(chat, key, item, ct);
                await writeGate.WaitAsync(ct);
                try
                {
                    await responseStream.WriteAsync(result, ct);
                }
                finally
                {
                    writeGate.Release();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The call is ending; this item's result has nowhere to go.
            }
            catch (Exception ex)
            {
                // Only writing fails here (items turn their own failures into results): the client is gone.
                Interlocked.CompareExchange(ref writeFailure, ex, null);
                await stop.CancelAsync();
            }
            finally
            {
                call.ItemAnswered();
                slots.Release();
            }
        }
    }

    private static async Task<G.BatchResult> BatchItemAsync(ChatPipeline chat, string key, G.BatchRequest item, CancellationToken ct)
    {
        var result = new G.BatchResult { ClientId = item.ClientId };
        try
        {
            if (item.Embed is { } embed)
            {
                result.Embeddings = GrpcWire.MapEmbedResponse(await chat.EmbedAsync(key, GrpcWire.MapEmbed(embed), ct));
                return result;
            }
            if (item.Request is null) throw new RouterException(RouterErrorCode.InvalidRequest, "request or embed is required", "request");
            var execution = await chat.ExecuteAsync(key, Map(item.Request, stream: false), ct);
            result.Response = GrpcWire.MapResponse(execution, "chatcmpl-" + execution.Ticket.RequestId);
        }
        catch (RouterException ex)
        {
            result.Error = ToBatchError(ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            result.Error = ToBatchError(new RouterException(RouterErrorCode.Internal, "The request failed inside Router."));
        }
        return result;
    }

    private static G.BatchError ToBatchError(RouterException ex) => new()
    {
        Code = (int)ErrorMapping.Grpc(ex.Code),
        Message = ex.Message,
        Reason = ex.Code.ToString(),
        RetryAfterMs = ex.RetryAfter is { } ra ? (long)Math.Ceiling(ra.TotalMilliseconds) : 0,
    };
}

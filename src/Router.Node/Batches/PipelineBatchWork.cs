using System.Buffers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Router.Actors.Batches;
using Router.Actors.RateLimiting;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;
using Router.Node.Ingress;
using Router.Node.Pipeline;
using Router.Node.Wire.OpenAi;

namespace Router.Node.Batches;

/// <summary>
/// Runs a batch item like an OpenAI request to <c>/v1/chat/completions</c> or <c>/v1/embeddings</c>: parsed by the
/// OpenAI ingress's own parser, through the node's one <see cref="ChatPipeline"/> (the admission, routing, failover and
/// usage interactive requests go through), admitted against the job's owner (the virtual key that created the
/// batch, by its stored hash), inside the node's batch budget (<see cref="BatchGate"/>), and written as a line of
/// OpenAI's batch output. A key or node refusal with Retry-After becomes <see cref="BatchItemOutcome.RetryLater"/>.
/// </summary>
internal sealed partial class PipelineBatchWork(
    ChatPipeline pipeline, IRequiredActor<ApiKeyActor> keys, BatchGate gate, BatchMetrics metrics, TimeProvider clock,
    ILogger<PipelineBatchWork> log) : IBatchWork
{
    public async Task<BatchItemOutcome> RunAsync(BatchJobSpec job, BatchItem item, CancellationToken cancellationToken)
    {
        var embeddings = job.Endpoint == BatchHttpApi.EmbeddingsEndpoint;
        ChatRequest? chat = null;
        EmbeddingRequest? embed = null;
        try
        {
            var body = Encoding.UTF8.GetBytes(item.Body);
            using var doc = JsonDocument.Parse(body);
            // A batch answer is one JSON body: a streamed request is run as a plain one.
            if (embeddings) embed = HttpIngress.ParseBody(doc.RootElement, body, EmbeddingsIngress.Parse);
            else chat = HttpIngress.ParseBody(doc.RootElement, StripStream(body), OpenAiChatWire.ParseRequest) with { Stream = false, IncludeUsage = false };
        }
        catch (RouterException ex)
        {
            return new BatchItemOutcome.Done(false, ErrorLine(job, item, ex, null));
        }

        using var turn = await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        metrics.JobItemStarted();
        try
        {
            var owner = KeyHash.FromStored(job.KeyHash);
            if (embed is not null)
            {
                var done = await pipeline.EmbedAsync(owner, embed, cancellationToken).ConfigureAwait(false);
                return new BatchItemOutcome.Done(true, EmbeddingsLine(job, item, done, embed.EncodingFormat));
            }
            var execution = await pipeline.ExecuteAsync(owner, chat!, cancellationToken).ConfigureAwait(false);
            return new BatchItemOutcome.Done(true, SuccessLine(job, item, execution));
        }
        catch (RouterException ex) when (ex.Code == RouterErrorCode.Overloaded || ex is { Code: RouterErrorCode.RateLimited, RetryAfter: not null })
        {
            metrics.JobItemRetried();
            return new BatchItemOutcome.RetryLater(ex.RetryAfter ?? TimeSpan.FromSeconds(1));
        }
        catch (RouterException ex)
        {
            return new BatchItemOutcome.Done(false, ErrorLine(job, item, ex, null));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogItemCrashed(log, job.BatchId, item.CustomId, ex);
            return new BatchItemOutcome.Done(false, ErrorLine(job, item,
                new RouterException(RouterErrorCode.Internal, "The request failed inside Router."), null));
        }
        finally
        {
            metrics.JobItemFinished();
        }
    }

    /// <summary>A batch line's body without <c>stream</c>: an OpenAI upstream that receives it as it is answers with one JSON body.</summary>
    private static ReadOnlyMemory<byte> StripStream(ReadOnlyMemory<byte> body)
    {
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("stream", out _)) return body;
        var buffer = new ArrayBufferWriter<byte>(body.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var p in doc.RootElement.EnumerateObject())
                if (p.Name is not ("stream" or "stream_options")) p.WriteTo(w);
            w.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

    public async Task<int?> RequestsPerMinuteAsync(BatchJobSpec job, CancellationToken cancellationToken)
    {
        var state = await keys.ActorRef.Ask<ApiKeyCommands.KeyState>(
            new ApiKeyCommands.GetState(new ApiKeyId(job.KeyId)), TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        return state.Exists ? state.Rpm : null;
    }

    public void JobRunning(string batchId, bool running) => metrics.JobRunning(batchId, running);

    private string SuccessLine(BatchJobSpec job, BatchItem item, ChatExecution execution) => Line(job, item, w =>
    {
        w.WriteStartObject("response");
        w.WriteNumber("status_code", 200);
        w.WriteString("request_id", execution.Ticket.RequestId);
        w.WritePropertyName("body");
        if (execution.Passthrough && execution.Completion!.Raw is { } raw) WriteRaw(w, raw.Json, execution.Plan.RequestedModel);
        else OpenAiChatWire.WriteCompletion(w, "chatcmpl-" + execution.Ticket.RequestId, clock.GetUtcNow().ToUnixTimeSeconds(),
            execution.Plan.RequestedModel, execution.Completion!);
        w.WriteEndObject();
        w.WriteNull("error");
    });

    private static string EmbeddingsLine(BatchJobSpec job, BatchItem item, EmbeddingExecution execution, string? encodingFormat) => Line(job, item, w =>
    {
        w.WriteStartObject("response");
        w.WriteNumber("status_code", 200);
        w.WriteString("request_id", execution.Ticket.RequestId);
        w.WritePropertyName("body");
        if (execution.Embeddings.Raw is { } raw) WriteRaw(w, raw.Json, execution.Plan.RequestedModel);
        else EmbeddingsIngress.Write(w, execution.Plan.RequestedModel, encodingFormat, execution.Embeddings);
        w.WriteEndObject();
        w.WriteNull("error");
    });

    /// <summary>An upstream's own answer as the line's body, with the model the client asked for.</summary>
    private static void WriteRaw(Utf8JsonWriter w, ReadOnlyMemory<byte> json, string model)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length + 16);
        Router.Node.Wire.JsonPassthrough.RewriteResponse(json.Span, model, dropUsage: false, buffer);
        w.WriteRawValue(buffer.WrittenSpan, skipInputValidation: true);
    }

    private static string ErrorLine(BatchJobSpec job, BatchItem item, RouterException ex, string? requestId) => Line(job, item, w =>
    {
        w.WriteStartObject("response");
        w.WriteNumber("status_code", ErrorMapping.HttpStatus(ex.Code));
        if (requestId is null) w.WriteNull("request_id"); else w.WriteString("request_id", requestId);
        w.WritePropertyName("body");
        OpenAiIngress.WriteErrorBody(w, ex);
        w.WriteEndObject();
        w.WriteNull("error");
    });

    private static string Line(BatchJobSpec job, BatchItem item, Action<Utf8JsonWriter> writeRest)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", BatchOutput.RequestId(job.BatchId, item.LineNumber));
            w.WriteString("custom_id", item.CustomId);
            writeRest(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId}: item {CustomId} failed unexpectedly")]
    private static partial void LogItemCrashed(ILogger logger, string batchId, string customId, Exception exception);
}

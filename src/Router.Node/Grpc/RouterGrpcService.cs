using System.Globalization;
using Grpc.Core;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Ingress;
using Router.Node.Pipeline;
using G = Router.Contracts.Grpc;

namespace Router.Node.Grpc;

/// <summary><c>router.v1.Router</c>: the same pipeline as HTTP, with gRPC status codes for errors.</summary>
public sealed partial class RouterGrpcService(ChatPipeline pipeline) : G.Router.RouterBase
{
    public override async Task<G.CompletionResponse> Complete(G.CompletionRequest request, ServerCallContext context)
    {
        var execution = await ExecuteAsync(request, stream: false, context);
        var c = execution.Completion!;
        WriteTrailers(context, execution);
        return new G.CompletionResponse
        {
            Id = execution.ResponseId("chatcmpl-"),
            Model = execution.Plan.RequestedModel,
            Content = c.Content,
            FinishReason = FinishText(c.FinishReason),
            Usage = ToUsage(c.Usage),
            ServedBy = ToServedBy(execution),
        };
    }

    public override async Task CompleteStream(G.CompletionRequest request, IServerStreamWriter<G.CompletionChunk> responseStream, ServerCallContext context)
    {
        var execution = await ExecuteAsync(request, stream: true, context);
        WriteTrailers(context, execution);
        try
        {
            await foreach (var e in execution.Stream!.WithCancellation(context.CancellationToken))
            {
                var chunk = e switch
                {
                    ContentDelta d => new G.CompletionChunk { Delta = d.Text },
                    StreamFinished f => new G.CompletionChunk
                    {
                        Finish = new G.Finish
                        {
                            FinishReason = FinishText(f.Reason),
                            Usage = f.Usage is { } u ? ToUsage(u) : null,
                            ServedBy = ToServedBy(execution),
                        },
                    },
                    _ => null,
                };
                if (chunk is not null) await responseStream.WriteAsync(chunk, context.CancellationToken);
            }
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
    public static ChatRequest Map(G.CompletionRequest r, bool stream)
    {
        if (string.IsNullOrEmpty(r.Model)) throw new RouterException(RouterErrorCode.InvalidRequest, "model is required", "model");
        if (r.Messages.Count == 0) throw new RouterException(RouterErrorCode.InvalidRequest, "messages must not be empty", "messages");
        var messages = new List<ChatMessage>(r.Messages.Count);
        for (var i = 0; i < r.Messages.Count; i++)
        {
            var role = r.Messages[i].Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                var other => throw new RouterException(RouterErrorCode.InvalidRequest,
                    $"messages[{i}].role '{other}' is not supported (use system, user or assistant)", $"messages[{i}].role"),
            };
            messages.Add(new ChatMessage(role, r.Messages[i].Content));
        }
        if (r.HasTemperature && r.Temperature is < 0 or > 2)
            throw new RouterException(RouterErrorCode.InvalidRequest, "temperature must be within [0, 2]", "temperature");
        if (r.HasTopP && r.TopP is < 0 or > 1)
            throw new RouterException(RouterErrorCode.InvalidRequest, "top_p must be within [0, 1]", "top_p");
        if (r.HasMaxTokens && r.MaxTokens < 1)
            throw new RouterException(RouterErrorCode.InvalidRequest, "max_tokens must be at least 1", "max_tokens");
        return new ChatRequest
        {
            Model = r.Model,
            Messages = messages,
            Temperature = r.HasTemperature ? r.Temperature : null,
            TopP = r.HasTopP ? r.TopP : null,
            MaxTokens = r.HasMaxTokens ? r.MaxTokens : null,
            Stop = r.Stop.Count > 0 ? r.Stop.ToList() : null,
            Stream = stream,
            IncludeUsage = true,
            User = string.IsNullOrEmpty(r.User) ? null : r.User,
        };
    }

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
        return new RpcException(new Status(ErrorMapping.Grpc(ex.Code), ex.Message), trailers);
    }

    private static void WriteTrailers(ServerCallContext context, ChatExecution e)
    {
        context.ResponseTrailers.Add("x-router-request-id", e.Ticket.RequestId);
        context.ResponseTrailers.Add("x-router-model", e.ServedBy.Deployment.ModelId);
        context.ResponseTrailers.Add("x-router-deployment", e.ServedBy.Deployment.Id);
        if (e.ServedBy.ProviderKeyId is { } k) context.ResponseTrailers.Add("x-router-provider-key", k);
        context.ResponseTrailers.Add("x-router-attempts", e.ServedBy.Attempts.ToString(CultureInfo.InvariantCulture));
    }

    private static G.ServedBy ToServedBy(ChatExecution e) => new()
    {
        Model = e.ServedBy.Deployment.ModelId,
        Deployment = e.ServedBy.Deployment.Id,
        ProviderKey = e.ServedBy.ProviderKeyId ?? "",
        Attempts = e.ServedBy.Attempts,
    };

    private static G.Usage ToUsage(TokenUsage u) => new() { InputTokens = u.InputTokens, OutputTokens = u.OutputTokens, TotalTokens = u.TotalTokens };

    private static string FinishText(FinishReason r) => r switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };
}

using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Pipeline;
using G = Router.Contracts.Grpc;

namespace Router.Node.Grpc;

/// <summary>
/// <c>router.v1</c> messages to and from the canonical model: the gRPC ingress's one translator. gRPC has no JSON wire
/// of its own, so its requests are always translated (never passed through) to whichever upstream serves them.
/// </summary>
public static partial class GrpcWire
{
    private static readonly string[] ImageTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex ToolName();

    /// <summary>Maps a proto request into the canonical model, with the same validation as HTTP (param in OpenAI notation).</summary>
    public static ChatRequest MapRequest(G.CompletionRequest r, bool stream)
    {
        if (string.IsNullOrEmpty(r.Model)) throw Invalid("model is required", "model");
        if (r.Messages.Count == 0) throw Invalid("messages must not be empty", "messages");
        var messages = new List<ChatMessage>(r.Messages.Count);
        var callIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < r.Messages.Count; i++) messages.Add(MapMessage(r.Messages[i], $"messages[{i}]", callIds));

        // Written as "not within", so NaN (which compares false with everything) is refused too.
        if (r.HasTemperature && r.Temperature is not (>= 0 and <= 2)) throw Invalid("temperature must be within [0, 2]", "temperature");
        if (r.HasTopP && r.TopP is not (>= 0 and <= 1)) throw Invalid("top_p must be within [0, 1]", "top_p");
        if (r.HasMaxTokens && r.MaxTokens < 1) throw Invalid("max_tokens must be at least 1", "max_tokens");
        if (r.HasTopK && r.TopK < 1) throw Invalid("top_k must be at least 1", "top_k");
        if (r.HasPresencePenalty && r.PresencePenalty is not (>= -2 and <= 2)) throw Invalid("presence_penalty must be within [-2, 2]", "presence_penalty");
        if (r.HasFrequencyPenalty && r.FrequencyPenalty is not (>= -2 and <= 2)) throw Invalid("frequency_penalty must be within [-2, 2]", "frequency_penalty");

        var tools = new List<ToolDefinition>(r.Tools.Count);
        for (var i = 0; i < r.Tools.Count; i++)
        {
            var t = r.Tools[i];
            if (!ToolName().IsMatch(t.Name)) throw Invalid($"tools[{i}].name must match ^[a-zA-Z0-9_-]{{1,64}}$", $"tools[{i}].name");
            var schema = string.IsNullOrEmpty(t.ParametersJson) ? """{"type":"object","properties":{}}""" : t.ParametersJson;
            RequireJsonObject(schema, $"tools[{i}].parameters_json");
            tools.Add(new ToolDefinition(t.Name, NullIfEmpty(t.Description), schema)
            {
                Strict = t.HasStrict ? t.Strict : null,
                CacheControlJson = CacheControl(t.CacheControlJson, $"tools[{i}].cache_control_json"),
            });
        }

        ToolChoice? choice = null;
        if (r.ToolChoice is { } tc)
        {
            choice = tc.Mode switch
            {
                G.ToolChoice.Types.Mode.None => ToolChoice.None,
                G.ToolChoice.Types.Mode.Required => ToolChoice.Required,
                G.ToolChoice.Types.Mode.Named => new ToolChoice(ToolChoiceMode.Named, tc.Name),
                _ => ToolChoice.Auto,
            };
            if (choice.Mode == ToolChoiceMode.Named && !tools.Exists(t => t.Name == tc.Name))
                throw Invalid($"tool_choice names '{tc.Name}', which is not in tools", "tool_choice.name");
        }

        ResponseFormat? format = null;
        if (r.ResponseFormat is { } rf)
        {
            format = rf.Kind switch
            {
                G.ResponseFormat.Types.Kind.JsonObject => ResponseFormat.JsonObject,
                G.ResponseFormat.Types.Kind.JsonSchema => new ResponseFormat(ResponseFormatKind.JsonSchema)
                {
                    Name = string.IsNullOrEmpty(rf.Name) ? throw Invalid("response_format.name is required for JSON_SCHEMA", "response_format.name") : rf.Name,
                    Description = NullIfEmpty(rf.Description),
                    SchemaJson = RequireJsonObject(rf.SchemaJson, "response_format.schema_json"),
                    Strict = rf.HasStrict ? rf.Strict : null,
                },
                _ => ResponseFormat.Text,
            };
        }

        ReasoningSettings? reasoning = null;
        if (r.Reasoning is { } rs)
        {
            if (rs.Effort is not ("" or "minimal" or "low" or "medium" or "high"))
                throw Invalid($"reasoning.effort '{rs.Effort}' is not one of minimal, low, medium, high", "reasoning.effort");
            reasoning = new ReasoningSettings
            {
                Effort = NullIfEmpty(rs.Effort),
                Enabled = rs.HasEnabled ? rs.Enabled : null,
                BudgetTokens = rs.HasBudgetTokens ? rs.BudgetTokens : null,
            };
        }

        return new ChatRequest
        {
            Model = r.Model,
            Messages = messages,
            Temperature = r.HasTemperature ? r.Temperature : null,
            TopP = r.HasTopP ? r.TopP : null,
            TopK = r.HasTopK ? r.TopK : null,
            MaxTokens = r.HasMaxTokens ? r.MaxTokens : null,
            Stop = r.Stop.Count > 0 ? r.Stop.ToList() : null,
            Seed = r.HasSeed ? r.Seed : null,
            PresencePenalty = r.HasPresencePenalty ? r.PresencePenalty : null,
            FrequencyPenalty = r.HasFrequencyPenalty ? r.FrequencyPenalty : null,
            Stream = stream,
            IncludeUsage = true,
            User = NullIfEmpty(r.User),
            Tools = tools,
            ToolChoice = choice,
            ParallelToolCalls = r.HasParallelToolCalls ? r.ParallelToolCalls : null,
            ResponseFormat = format,
            Reasoning = reasoning,
        };
    }

    private static ChatMessage MapMessage(G.Message m, string path, HashSet<string> callIds)
    {
        var role = m.Role switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            var other => throw Invalid($"{path}.role '{other}' is not supported (use system, user, assistant or tool)", path + ".role"),
        };
        var parts = new List<ContentPart>(m.Parts.Count + 1);
        if (m.Content.Length > 0) parts.Add(new TextPart(m.Content));
        for (var j = 0; j < m.Parts.Count; j++)
        {
            var p = m.Parts[j];
            var at = $"{path}.parts[{j}]";
            ContentPart part = p.KindCase switch
            {
                G.ContentPart.KindOneofCase.Text => new TextPart(p.Text),
                G.ContentPart.KindOneofCase.Image => MapImage(p.Image, at + ".image"),
                G.ContentPart.KindOneofCase.Reasoning when role == ChatRole.Assistant => new ReasoningPart
                {
                    Text = NullIfEmpty(p.Reasoning.Text),
                    Signature = NullIfEmpty(p.Reasoning.Signature),
                    RedactedData = NullIfEmpty(p.Reasoning.RedactedData),
                },
                G.ContentPart.KindOneofCase.Reasoning => throw Invalid($"{at}: reasoning parts belong to assistant messages", at),
                _ => throw Invalid($"{at} is empty: set text, image or reasoning", at),
            };
            parts.Add(part with { CacheControlJson = CacheControl(p.CacheControlJson, at + ".cache_control_json") });
        }

        var calls = new List<ToolCall>(m.ToolCalls.Count);
        for (var j = 0; j < m.ToolCalls.Count; j++)
        {
            var c = m.ToolCalls[j];
            var at = $"{path}.tool_calls[{j}]";
            if (role != ChatRole.Assistant) throw Invalid($"{at}: only assistant messages carry tool calls", at);
            if (string.IsNullOrEmpty(c.Id)) throw Invalid($"{at}.id is required", at + ".id");
            if (!ToolName().IsMatch(c.Name)) throw Invalid($"{at}.name must match ^[a-zA-Z0-9_-]{{1,64}}$", at + ".name");
            calls.Add(new ToolCall(c.Id, c.Name, c.ArgumentsJson.Length == 0 ? "{}" : c.ArgumentsJson));
            callIds.Add(c.Id);
        }

        string? toolCallId = null;
        if (role == ChatRole.Tool)
        {
            if (string.IsNullOrEmpty(m.ToolCallId)) throw Invalid($"{path}.tool_call_id is required for tool messages", path + ".tool_call_id");
            if (!callIds.Contains(m.ToolCallId))
                throw Invalid($"{path}.tool_call_id '{m.ToolCallId}' answers no earlier assistant tool call", path + ".tool_call_id");
            toolCallId = m.ToolCallId;
        }
        if (parts.Count == 0 && calls.Count == 0) throw Invalid($"{path} has no content", path + ".content");
        return new ChatMessage(role, parts) { ToolCalls = calls, ToolCallId = toolCallId, IsError = m.IsError, Name = NullIfEmpty(m.Name) };
    }

    private static ImagePart MapImage(G.Image image, string path)
    {
        if (image.Url.Length > 0)
        {
            if (!Uri.TryCreate(image.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw Invalid($"{path}.url must be an http(s) URL", path + ".url");
            return new ImagePart { Url = image.Url, Detail = NullIfEmpty(image.Detail) };
        }
        if (image.Data.IsEmpty) throw Invalid($"{path}: set url or data", path);
        if (!ImageTypes.Contains(image.MediaType))
            throw Invalid($"{path}.media_type '{image.MediaType}' is not supported (use {string.Join(", ", ImageTypes)})", path + ".media_type");
        return new ImagePart { MediaType = image.MediaType, Base64Data = image.Data.ToBase64(), Detail = NullIfEmpty(image.Detail) };
    }

    public static G.CompletionResponse MapResponse(ChatExecution execution, string id)
    {
        var c = execution.Completion!;
        var response = new G.CompletionResponse
        {
            Id = id,
            Model = execution.Plan.RequestedModel,
            Content = c.Content,
            FinishReason = FinishText(c.FinishReason),
            Usage = MapUsage(c.Usage),
            ServedBy = MapServedBy(execution.ServedBy),
        };
        if (c.Choices.Count > 0)
        {
            foreach (var call in c.Choices[0].ToolCalls)
                response.ToolCalls.Add(new G.ToolCall { Id = call.Id, Name = call.Name, ArgumentsJson = call.ArgumentsJson });
            foreach (var part in c.Choices[0].Parts)
                if (part is ReasoningPart r)
                    response.Reasoning.Add(new G.Reasoning { Text = r.Text ?? "", Signature = r.Signature ?? "", RedactedData = r.RedactedData ?? "" });
        }
        return response;
    }

    /// <summary>A stream event as a chunk; null for events gRPC clients do not see (the upstream's id, passthrough bytes).</summary>
    public static G.CompletionChunk? MapEvent(ChatStreamEvent e, ChatExecution execution) => e switch
    {
        ContentDelta d => new G.CompletionChunk { Delta = d.Text },
        ToolCallStarted s => new G.CompletionChunk { ToolCallStart = new G.ToolCallStart { Index = s.Index, Id = s.Id, Name = s.Name } },
        ToolCallDelta t => new G.CompletionChunk { ToolCallDelta = new G.ToolCallDelta { Index = t.Index, ArgumentsFragment = t.ArgumentsFragment } },
        ReasoningDelta r => new G.CompletionChunk
        {
            ReasoningDelta = new G.Reasoning { Text = r.Text ?? "", Signature = r.Signature ?? "", RedactedData = r.RedactedData ?? "" },
        },
        StreamFinished f => new G.CompletionChunk
        {
            Finish = new G.Finish
            {
                FinishReason = FinishText(f.Reason),
                Usage = f.Usage is { } u ? MapUsage(u) : null,
                ServedBy = MapServedBy(execution.ServedBy),
            },
        },
        _ => null,
    };

    public static EmbeddingRequest MapEmbed(G.EmbedRequest r)
    {
        if (string.IsNullOrEmpty(r.Model)) throw Invalid("model is required", "model");
        if (r.Input.Count == 0) throw Invalid("input must not be empty", "input");
        for (var i = 0; i < r.Input.Count; i++)
            if (r.Input[i].Length == 0) throw Invalid($"input[{i}] must not be empty", $"input[{i}]");
        if (r.HasDimensions && r.Dimensions < 1) throw Invalid("dimensions must be at least 1", "dimensions");
        return new EmbeddingRequest
        {
            Model = r.Model,
            Inputs = r.Input.ToList(),
            Dimensions = r.HasDimensions ? r.Dimensions : null,
            User = NullIfEmpty(r.User),
        };
    }

    /// <summary>The vectors of an embeddings answer, read from the upstream's JSON when it came from one.</summary>
    public static G.EmbedResponse MapEmbedResponse(EmbeddingExecution execution)
    {
        var response = new G.EmbedResponse
        {
            Model = execution.Plan.RequestedModel,
            Usage = MapUsage(new TokenUsage(execution.Embeddings.PromptTokens, 0)),
            ServedBy = MapServedBy(execution.ServedBy),
        };
        if (execution.Embeddings.Vectors is { } vectors)
        {
            for (var i = 0; i < vectors.Count; i++)
            {
                var e = new G.Embedding { Index = i };
                e.Values.AddRange(vectors[i]);
                response.Data.Add(e);
            }
            return response;
        }
        using var doc = JsonDocument.Parse(execution.Embeddings.Raw!.Json);
        foreach (var item in doc.RootElement.GetProperty("data").EnumerateArray())
        {
            var e = new G.Embedding { Index = item.TryGetProperty("index", out var ix) ? ix.GetInt32() : response.Data.Count };
            var embedding = item.GetProperty("embedding");
            if (embedding.ValueKind == JsonValueKind.String)
            {
                var bytes = embedding.GetBytesFromBase64();
                e.Values.AddRange(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
            }
            else
            {
                foreach (var v in embedding.EnumerateArray()) e.Values.Add(v.GetSingle());
            }
            response.Data.Add(e);
        }
        return response;
    }

    public static G.ServedBy MapServedBy(Router.Actors.Dispatch.ServedBy s) => new()
    {
        Model = s.Deployment.ModelId,
        Deployment = s.Deployment.Id,
        ProviderKey = s.ProviderKeyId ?? "",
        Attempts = s.Attempts,
    };

    public static G.Usage MapUsage(TokenUsage u) => new()
    {
        InputTokens = u.InputTokens,
        OutputTokens = u.OutputTokens,
        TotalTokens = u.TotalTokens,
        CachedInputTokens = u.CachedInputTokens,
        CacheWriteInputTokens = u.CacheWriteInputTokens,
        ReasoningTokens = u.ReasoningTokens,
    };

    public static string FinishText(FinishReason r) => r switch
    {
        FinishReason.Length => "length",
        FinishReason.ContentFilter => "content_filter",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    private static string RequireJsonObject(string json, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return json;
        }
        catch (JsonException)
        {
        }
        throw Invalid($"{path} must be a JSON object", path);
    }

    private static string? CacheControl(string json, string path) => json.Length == 0 ? null : RequireJsonObject(json, path);

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static RouterException Invalid(string message, string param) => new(RouterErrorCode.InvalidRequest, message, param);
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Router.Actors.Batches;
using Router.Contracts.Batches;
using Router.Contracts.Errors;
using Router.Contracts.RateLimiting;
using Router.Node.Configuration;
using Router.Node.Ingress;
using Router.Node.Pipeline;

namespace Router.Node.Batches;

/// <summary>
/// OpenAI's Files and Batch APIs for chat completions: upload a JSONL input (<c>POST /v1/files</c>, purpose
/// <c>batch</c>), start a job (<c>POST /v1/batches</c>), follow it, cancel it, download the output and error files.
/// Authenticated like chat (Bearer virtual key); files and batches belong to the key that created them and are
/// invisible (404) to any other key. Errors use OpenAI's shape.
/// </summary>
public static class BatchHttpApi
{
    public const string ChatEndpoint = "/v1/chat/completions";
    public const string EmbeddingsEndpoint = "/v1/embeddings";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private const int MaxMetadataPairs = 16;

    public static void MapBatchApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/files", UploadAsync);
        app.MapGet("/v1/files/{id}", (HttpContext http, string id) => Guard(http, async caller =>
        {
            var file = await OwnedFileAsync(http, caller, id);
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteFile(w, file));
        }));
        app.MapGet("/v1/files/{id}/content", (HttpContext http, string id) => Guard(http, async caller =>
        {
            await OwnedFileAsync(http, caller, id);
            var content = await Files(http).ReadContentAsync(id, http.RequestAborted) ?? throw NoSuchFile(id);
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/octet-stream";
            http.Response.ContentLength = content.Length;
            await http.Response.Body.WriteAsync(content, http.RequestAborted);
        }));
        app.MapPost("/v1/batches", CreateAsync);
        app.MapGet("/v1/batches", ListAsync);
        app.MapGet("/v1/batches/{id}", (HttpContext http, string id) => Guard(http, async caller =>
        {
            var status = await OwnedBatchAsync(http, caller, id);
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteBatch(w, status));
        }));
        app.MapPost("/v1/batches/{id}/cancel", (HttpContext http, string id) => Guard(http, async caller =>
        {
            await OwnedBatchAsync(http, caller, id);
            var status = await Region(http).Ask<BatchCommands.BatchStatus>(new BatchCommands.Cancel(id), AskTimeout, http.RequestAborted);
            await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteBatch(w, status));
        }));
    }

    /// <summary>The authenticated caller: the key's id (owner of files and batches) and its SHA-256 (for the job).</summary>
    private sealed record BatchCaller(string KeyId, string KeyHash);

    private static Task UploadAsync(HttpContext http) => Guard(http, async caller =>
    {
        var options = http.RequestServices.GetRequiredService<RouterOptions>().Batches;
        // Files are far larger than chat bodies: lift the node-wide body limit for this request only.
        var limit = options.MaxFileBytes + 64 * 1024;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        if (!http.Request.HasFormContentType)
            throw Invalid("Expected a multipart/form-data body with the fields 'purpose' and 'file'.", null);
        http.Features.Set<IFormFeature>(new FormFeature(http.Request, new FormOptions { MultipartBodyLengthLimit = limit }));
        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException)
        {
            throw new RouterException(RouterErrorCode.PayloadTooLarge,
                $"The upload is malformed or larger than the limit of {options.MaxFileBytes} bytes.");
        }
        var purpose = form["purpose"].ToString();
        if (purpose != "batch") throw Invalid("'purpose' must be 'batch' (the only purpose this server accepts).", "purpose");
        var file = form.Files.GetFile("file") ?? throw Invalid("Missing required parameter: 'file'.", "file");
        if (file.Length > options.MaxFileBytes)
            throw new RouterException(RouterErrorCode.PayloadTooLarge, $"The file is larger than the limit of {options.MaxFileBytes} bytes.");
        var content = new byte[file.Length];
        await using (var stream = file.OpenReadStream()) await stream.ReadExactlyAsync(content, http.RequestAborted);

        var stored = new StoredFile("file-" + RandomId(), caller.KeyId, purpose, Path.GetFileName(file.FileName ?? "input.jsonl"),
            content.Length, Clock(http).GetUtcNow());
        await Files(http).PutAsync(stored, content, http.RequestAborted);
        await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteFile(w, stored));
    });

    private static Task CreateAsync(HttpContext http) => Guard(http, async caller =>
    {
        var options = http.RequestServices.GetRequiredService<RouterOptions>().Batches;
        string inputFileId, endpoint, window;
        Dictionary<string, string>? metadata = null;
        using (var doc = await HttpIngress.ReadJsonAsync(http, http.RequestServices.GetRequiredService<BodyLimits>().MaxBodyBytes))
        {
            var root = doc.RootElement;
            JsonFields.RequireObject(root);
            inputFileId = JsonFields.RequireString(root, "input_file_id");
            endpoint = JsonFields.RequireString(root, "endpoint");
            window = JsonFields.RequireString(root, "completion_window");
            if (root.TryGetProperty("metadata", out var m) && m.ValueKind != JsonValueKind.Null)
            {
                if (m.ValueKind != JsonValueKind.Object) throw Invalid("'metadata' must be an object of strings.", "metadata");
                metadata = [];
                foreach (var p in m.EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.String) throw Invalid("'metadata' values must be strings.", "metadata");
                    metadata[p.Name] = p.Value.GetString()!;
                }
                if (metadata.Count > MaxMetadataPairs) throw Invalid($"'metadata' may have at most {MaxMetadataPairs} pairs.", "metadata");
            }
        }
        if (endpoint is not (ChatEndpoint or EmbeddingsEndpoint))
            throw Invalid($"'endpoint' must be '{ChatEndpoint}' or '{EmbeddingsEndpoint}'.", "endpoint");
        if (window != "24h") throw Invalid("'completion_window' must be '24h'.", "completion_window");

        var file = await OwnedFileAsync(http, caller, inputFileId, "input_file_id");
        if (file.Purpose != "batch") throw Invalid($"File {inputFileId} was not uploaded with purpose 'batch'.", "input_file_id");
        var content = await Files(http).ReadContentAsync(inputFileId, http.RequestAborted) ?? throw NoSuchFile(inputFileId, "input_file_id");
        // Counted before parsing: an oversized file is refused without building its items.
        var lines = BatchInput.CountLines(content);
        if (lines == 0) throw Invalid($"File {inputFileId} has no request lines.", "input_file_id");
        if (lines > options.MaxItems)
            throw Invalid($"File {inputFileId} has {lines} requests; a batch may have at most {options.MaxItems}.", "input_file_id");
        var input = BatchInput.Parse(content, endpoint);

        var batchId = "batch_" + RandomId();
        await Files(http).AddBatchAsync(batchId, caller.KeyId, Clock(http).GetUtcNow(), http.RequestAborted);
        var status = await Region(http).Ask<BatchCommands.BatchStatus>(new BatchCommands.Create(
            batchId, caller.KeyId, caller.KeyHash, inputFileId, endpoint, window, input.Total, input.Errors, metadata), AskTimeout, http.RequestAborted);
        await HttpIngress.WriteJsonAsync(http.Response, 200, w => WriteBatch(w, status));
    });

    private static Task ListAsync(HttpContext http) => Guard(http, async caller =>
    {
        var q = http.Request.Query;
        var limit = 20;
        if (!string.IsNullOrEmpty(q["limit"]) && (!int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
            throw Invalid("'limit' must be an integer from 1 to 100.", "limit");
        var after = string.IsNullOrEmpty(q["after"]) ? null : q["after"].ToString();
        var ids = await Files(http).ListBatchesAsync(caller.KeyId, after, limit + 1, http.RequestAborted);
        var region = Region(http);
        var statuses = await Task.WhenAll(ids.Take(limit).Select(id =>
            region.Ask<BatchCommands.BatchStatus>(new BatchCommands.GetStatus(id), AskTimeout, http.RequestAborted)));
        var data = statuses.Where(s => s.Exists && s.KeyId == caller.KeyId).ToList();
        await HttpIngress.WriteJsonAsync(http.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var s in data) WriteBatch(w, s);
            w.WriteEndArray();
            if (data.Count > 0) w.WriteString("first_id", data[0].BatchId); else w.WriteNull("first_id");
            if (data.Count > 0) w.WriteString("last_id", data[^1].BatchId); else w.WriteNull("last_id");
            w.WriteBoolean("has_more", ids.Count > limit);
            w.WriteEndObject();
        });
    });

    /// <summary>Authenticates, runs the handler, and answers every failure in OpenAI's error shape.</summary>
    private static async Task Guard(HttpContext http, Func<BatchCaller, Task> handler)
    {
        try
        {
            var key = HttpIngress.PresentedKey(http.Request, allowXApiKey: false)
                ?? throw new RouterException(RouterErrorCode.Unauthorized, "You didn't provide an API key.");
            var caller = await http.RequestServices.GetRequiredService<IAdmission>().AuthenticateAsync(key, http.RequestAborted);
            await handler(new BatchCaller(caller.KeyId, ApiKeyHash.Compute(key)));
        }
        catch (RouterException ex)
        {
            await OpenAiIngress.WriteErrorAsync(http.Response, ex);
        }
        catch (NotFoundException ex)
        {
            await HttpIngress.WriteJsonAsync(http.Response, 404, w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("error");
                w.WriteString("message", ex.Message);
                w.WriteString("type", "invalid_request_error");
                if (ex.Param is null) w.WriteNull("param"); else w.WriteString("param", ex.Param);
                w.WriteNull("code");
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }
        catch (AskTimeoutException)
        {
            await OpenAiIngress.WriteErrorAsync(http.Response, new RouterException(RouterErrorCode.Overloaded,
                "The batch service did not answer in time (the cluster may be rebalancing); retry shortly.", retryAfter: TimeSpan.FromSeconds(1)));
        }
    }

    private sealed class NotFoundException(string message, string? param) : Exception(message)
    {
        public string? Param { get; } = param;
    }

    private static async Task<StoredFile> OwnedFileAsync(HttpContext http, BatchCaller caller, string id, string? param = "id")
    {
        var file = await Files(http).GetAsync(id, http.RequestAborted);
        // Another key's file is reported exactly like a missing one: ids reveal nothing across tenants.
        return file is not null && file.KeyId == caller.KeyId ? file : throw NoSuchFile(id, param);
    }

    private static async Task<BatchCommands.BatchStatus> OwnedBatchAsync(HttpContext http, BatchCaller caller, string id)
    {
        if (!id.StartsWith("batch_", StringComparison.Ordinal) || id.Length > 64) throw new NotFoundException($"No batch found with id '{id}'.", "batch_id");
        var status = await Region(http).Ask<BatchCommands.BatchStatus>(new BatchCommands.GetStatus(id), AskTimeout, http.RequestAborted);
        return status.Exists && status.KeyId == caller.KeyId ? status : throw new NotFoundException($"No batch found with id '{id}'.", "batch_id");
    }

    private static NotFoundException NoSuchFile(string id, string? param = "id") => new($"No such File object: {id}", param);

    private static RouterException Invalid(string message, string? param) => new(RouterErrorCode.InvalidRequest, message, param);

    private static IFileStore Files(HttpContext http) => http.RequestServices.GetRequiredService<IFileStore>();

    private static TimeProvider Clock(HttpContext http) => http.RequestServices.GetRequiredService<TimeProvider>();

    private static IActorRef Region(HttpContext http) => http.RequestServices.GetRequiredService<IRequiredActor<BatchJobActor>>().ActorRef;

    private static string RandomId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static void WriteFile(Utf8JsonWriter w, StoredFile f)
    {
        w.WriteStartObject();
        w.WriteString("id", f.Id);
        w.WriteString("object", "file");
        w.WriteNumber("bytes", f.Bytes);
        w.WriteNumber("created_at", f.CreatedAt.ToUnixTimeSeconds());
        w.WriteString("filename", f.FileName);
        w.WriteString("purpose", f.Purpose);
        w.WriteString("status", "processed");
        w.WriteEndObject();
    }

    public static string StatusText(BatchJobStatus s) => s switch
    {
        BatchJobStatus.Validating => "validating",
        BatchJobStatus.InProgress => "in_progress",
        BatchJobStatus.Finalizing => "finalizing",
        BatchJobStatus.Completed => "completed",
        BatchJobStatus.Failed => "failed",
        BatchJobStatus.Cancelling => "cancelling",
        _ => "cancelled",
    };

    private static void WriteBatch(Utf8JsonWriter w, BatchCommands.BatchStatus s)
    {
        w.WriteStartObject();
        w.WriteString("id", s.BatchId);
        w.WriteString("object", "batch");
        w.WriteString("endpoint", s.Endpoint);
        w.WriteNull("errors");
        w.WriteString("input_file_id", s.InputFileId);
        w.WriteString("completion_window", s.CompletionWindow);
        w.WriteString("status", StatusText(s.Status));
        Nullable(w, "output_file_id", s.OutputFileId);
        Nullable(w, "error_file_id", s.ErrorFileId);
        w.WriteNumber("created_at", s.CreatedAt.ToUnixTimeSeconds());
        Time(w, "in_progress_at", s.InProgressAt);
        w.WriteNumber("expires_at", s.CreatedAt.AddHours(24).ToUnixTimeSeconds());
        Time(w, "finalizing_at", s.FinalizingAt);
        Time(w, "completed_at", s.CompletedAt);
        Time(w, "failed_at", s.FailedAt);
        w.WriteNull("expired_at");
        Time(w, "cancelling_at", s.CancellingAt);
        Time(w, "cancelled_at", s.CancelledAt);
        w.WriteStartObject("request_counts");
        w.WriteNumber("total", s.Total);
        w.WriteNumber("completed", s.Completed);
        w.WriteNumber("failed", s.Failed);
        w.WriteEndObject();
        if (s.Metadata is null) w.WriteNull("metadata");
        else
        {
            w.WriteStartObject("metadata");
            foreach (var (k, v) in s.Metadata) w.WriteString(k, v);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    private static void Time(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } v) w.WriteNumber(name, v.ToUnixTimeSeconds()); else w.WriteNull(name);
    }
}

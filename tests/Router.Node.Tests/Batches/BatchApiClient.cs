using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Batches;

/// <summary>OpenAI's Files and Batch APIs as a test sees them: raw HTTP, JSON elements back.</summary>
internal sealed class BatchApiClient(HttpClient http, string key)
{
    public async Task<(HttpStatusCode Status, JsonElement Body)> UploadAsync(string jsonl, string purpose = "batch", string fileName = "input.jsonl")
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(purpose), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl)) { Headers = { ContentType = new MediaTypeHeaderValue("application/jsonl") } }, "file", fileName },
        };
        return await SendAsync(HttpMethod.Post, "/v1/files", form);
    }

    public async Task<string> UploadIdAsync(string jsonl)
    {
        var (status, body) = await UploadAsync(jsonl);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    public Task<(HttpStatusCode Status, JsonElement Body)> CreateAsync(string inputFileId, string endpoint = "/v1/chat/completions", string window = "24h") =>
        SendAsync(HttpMethod.Post, "/v1/batches", new StringContent(
            JsonSerializer.Serialize(new Dictionary<string, object> { ["input_file_id"] = inputFileId, ["endpoint"] = endpoint, ["completion_window"] = window }),
            Encoding.UTF8, "application/json"));

    public async Task<JsonElement> CreateOkAsync(string inputFileId)
    {
        var (status, body) = await CreateAsync(inputFileId);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return body;
    }

    public Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path) => SendAsync(HttpMethod.Post, path, null);

    public async Task<string> ContentAsync(string fileId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/files/{fileId}/content");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }

    /// <summary>Polls the batch until <paramref name="done"/> holds (a wait, not a timing assertion).</summary>
    public async Task<JsonElement> WaitForAsync(string batchId, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body) = await GetAsync($"/v1/batches/{batchId}");
            if (status == HttpStatusCode.OK)
            {
                last = body;
                if (done(body)) return body;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Batch {batchId} did not reach the expected state within {timeout}; last seen: {last}");
    }

    public static string Status(JsonElement batch) => batch.GetProperty("status").GetString()!;

    public static int Count(JsonElement batch, string name) => batch.GetProperty("request_counts").GetProperty(name).GetInt32();

    public static bool IsFinal(JsonElement batch) => Status(batch) is "completed" or "failed" or "cancelled";

    /// <summary>A JSONL line for one chat request.</summary>
    public static string Line(string customId, string content, string model) =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/chat/completions",
            body = new { model, messages = new[] { new { role = "user", content } } },
        });

    private async Task<(HttpStatusCode, JsonElement)> SendAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body);
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Structural comparison of canonical values. The records hold lists, so their own equality is by reference; this
/// walks every field and names the first difference by its path (<c>Messages[2].Parts[0].Text</c>), which is what a
/// failing property prints. Raw JSON texts (schemas, tool arguments, cache_control) compare as JSON values, since
/// wires may re-serialize them; JSON numbers compare by value.
/// </summary>
internal static class CanonicalDiff
{
    /// <summary>Null when equal on every canonical field except <see cref="ChatRequest.Source"/> and <see cref="ChatRequest.RawBody"/> (wire bookkeeping).</summary>
    public static string? Request(ChatRequest expected, ChatRequest actual)
    {
        var d = new Walker();
        d.Value("Model", expected.Model, actual.Model);
        d.List("Messages", expected.Messages, actual.Messages, d.Message);
        d.Value("Temperature", expected.Temperature, actual.Temperature);
        d.Value("TopP", expected.TopP, actual.TopP);
        d.Value("TopK", expected.TopK, actual.TopK);
        d.Value("MaxTokens", expected.MaxTokens, actual.MaxTokens);
        d.NullableList("Stop", expected.Stop, actual.Stop, (p, e, a) => d.Value(p, e, a));
        d.Value("Seed", expected.Seed, actual.Seed);
        d.Value("N", expected.N, actual.N);
        d.Value("PresencePenalty", expected.PresencePenalty, actual.PresencePenalty);
        d.Value("FrequencyPenalty", expected.FrequencyPenalty, actual.FrequencyPenalty);
        d.Value("Stream", expected.Stream, actual.Stream);
        d.Value("IncludeUsage", expected.IncludeUsage, actual.IncludeUsage);
        d.Value("User", expected.User, actual.User);
        d.List("Tools", expected.Tools, actual.Tools, d.Tool);
        d.Value("ToolChoice", expected.ToolChoice, actual.ToolChoice);
        d.Value("ParallelToolCalls", expected.ParallelToolCalls, actual.ParallelToolCalls);
        d.Value("ResponseFormat.Kind", expected.ResponseFormat?.Kind, actual.ResponseFormat?.Kind);
        if (expected.ResponseFormat is { } ef && actual.ResponseFormat is { } af)
        {
            d.Value("ResponseFormat.Name", ef.Name, af.Name);
            d.Value("ResponseFormat.Description", ef.Description, af.Description);
            d.Json("ResponseFormat.SchemaJson", ef.SchemaJson, af.SchemaJson);
            d.Value("ResponseFormat.Strict", ef.Strict, af.Strict);
        }
        d.Value("Reasoning", expected.Reasoning, actual.Reasoning);
        d.List("UnmappedFields", expected.UnmappedFields, actual.UnmappedFields, (p, e, a) => d.Value(p, e, a));
        return d.First;
    }

    /// <summary>Null when equal on every field but <see cref="ChatCompletion.Raw"/>.</summary>
    public static string? Completion(ChatCompletion expected, ChatCompletion actual)
    {
        var d = new Walker();
        d.Value("Id", expected.Id, actual.Id);
        d.Value("Model", expected.Model, actual.Model);
        d.List("Choices", expected.Choices, actual.Choices, d.Choice);
        d.Usage("Usage", expected.Usage, actual.Usage);
        d.Value("SystemFingerprint", expected.SystemFingerprint, actual.SystemFingerprint);
        return d.First;
    }

    /// <summary>True when both texts are the same JSON value (null and null alike).</summary>
    public static bool SameJson(string? expected, string? actual)
    {
        if (expected is null || actual is null) return expected is null && actual is null;
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        return JsonElement.DeepEquals(e.RootElement, a.RootElement);
    }

    /// <summary>A readable one-line rendering of a request, for counterexamples (records print their lists as type names).</summary>
    public static string Show(ChatRequest r)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{{Model={Quote(r.Model)}, Source={r.Source}, Messages=[");
        foreach (var m in r.Messages)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{m.Role}(");
            if (m.Name is not null) sb.Append(CultureInfo.InvariantCulture, $"name={Quote(m.Name)} ");
            if (m.ToolCallId is not null) sb.Append(CultureInfo.InvariantCulture, $"for={Quote(m.ToolCallId)} ");
            if (m.IsError) sb.Append("error ");
            sb.Append(string.Join(", ", m.Parts.Select(ShowPart)));
            foreach (var c in m.ToolCalls) sb.Append(CultureInfo.InvariantCulture, $" call {Quote(c.Id)} {Quote(c.Name)} {Quote(c.ArgumentsJson)}");
            sb.Append(") ");
        }
        sb.Append(']');
        sb.Append(CultureInfo.InvariantCulture,
            $", Temperature={r.Temperature}, TopP={r.TopP}, TopK={r.TopK}, MaxTokens={r.MaxTokens}, Stop={(r.Stop is null ? "null" : "[" + string.Join(",", r.Stop.Select(Quote)) + "]")}");
        sb.Append(CultureInfo.InvariantCulture,
            $", Seed={r.Seed}, N={r.N}, Presence={r.PresencePenalty}, Frequency={r.FrequencyPenalty}, Stream={r.Stream}, IncludeUsage={r.IncludeUsage}, User={Quote(r.User)}");
        sb.Append(", Tools=[");
        sb.Append(string.Join(", ", r.Tools.Select(t => $"{t.Name} {Quote(t.Description)} {t.ParametersJson} strict={t.Strict} cache={t.CacheControlJson}")));
        sb.Append(CultureInfo.InvariantCulture, $"], ToolChoice={r.ToolChoice}, Parallel={r.ParallelToolCalls}, ResponseFormat={r.ResponseFormat}, Reasoning={r.Reasoning}");
        sb.Append(CultureInfo.InvariantCulture, $", Unmapped=[{string.Join(",", r.UnmappedFields)}]}}");
        return sb.ToString();
    }

    public static string ShowPart(ContentPart p) => p switch
    {
        TextPart t => $"text {Quote(t.Text)}{Cache(p)}",
        ImagePart i => $"image {i.Url ?? i.MediaType + ";" + i.Base64Data} detail={i.Detail}{Cache(p)}",
        ReasoningPart r => $"reasoning {Quote(r.Text)} sig={Quote(r.Signature)} redacted={Quote(r.RedactedData)}",
        _ => p.GetType().Name,
    };

    private static string Cache(ContentPart p) => p.CacheControlJson is null ? "" : " cache=" + p.CacheControlJson;

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quote(string? s) => s is null ? "null" : JsonSerializer.Serialize(s, Readable);

    private sealed class Walker
    {
        public string? First { get; private set; }

        private void Fail(string path, string what)
        {
            First ??= $"{path}: {what}";
        }

        public void Value<T>(string path, T expected, T actual)
        {
            if (First is not null || EqualityComparer<T>.Default.Equals(expected, actual)) return;
            Fail(path, $"expected {Render(expected)}, got {Render(actual)}");
        }

        public void Json(string path, string? expected, string? actual)
        {
            if (First is not null || SameJson(expected, actual)) return;
            Fail(path, $"expected JSON {expected ?? "null"}, got {actual ?? "null"}");
        }

        public void List<T>(string path, IReadOnlyList<T> expected, IReadOnlyList<T> actual, Action<string, T, T> item)
        {
            if (First is not null) return;
            for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++) item($"{path}[{i}]", expected[i], actual[i]);
            if (expected.Count != actual.Count) Fail(path, $"expected {expected.Count} items, got {actual.Count}");
        }

        public void NullableList<T>(string path, IReadOnlyList<T>? expected, IReadOnlyList<T>? actual, Action<string, T, T> item)
        {
            if (First is not null) return;
            if (expected is null || actual is null)
            {
                if (expected is not null || actual is not null) Fail(path, $"expected {(expected is null ? "null" : "a list")}, got {(actual is null ? "null" : "a list")}");
                return;
            }
            List(path, expected, actual, item);
        }

        public void Message(string path, ChatMessage e, ChatMessage a)
        {
            Value(path + ".Role", e.Role, a.Role);
            List(path + ".Parts", e.Parts, a.Parts, Part);
            List(path + ".ToolCalls", e.ToolCalls, a.ToolCalls, Call);
            Value(path + ".ToolCallId", e.ToolCallId, a.ToolCallId);
            Value(path + ".IsError", e.IsError, a.IsError);
            Value(path + ".Name", e.Name, a.Name);
        }

        public void Part(string path, ContentPart e, ContentPart a)
        {
            Value(path + ".Kind", e.GetType().Name, a.GetType().Name);
            if (First is not null) return;
            switch (e, a)
            {
                case (TextPart et, TextPart at):
                    Value(path + ".Text", et.Text, at.Text);
                    break;
                case (ImagePart ei, ImagePart ai):
                    Value(path + ".Url", ei.Url, ai.Url);
                    Value(path + ".MediaType", ei.MediaType, ai.MediaType);
                    Value(path + ".Base64Data", ei.Base64Data, ai.Base64Data);
                    Value(path + ".Detail", ei.Detail, ai.Detail);
                    break;
                case (ReasoningPart er, ReasoningPart ar):
                    Value(path + ".Text", er.Text, ar.Text);
                    Value(path + ".Signature", er.Signature, ar.Signature);
                    Value(path + ".RedactedData", er.RedactedData, ar.RedactedData);
                    break;
            }
            Json(path + ".CacheControlJson", e.CacheControlJson, a.CacheControlJson);
        }

        public void Call(string path, ToolCall e, ToolCall a)
        {
            Value(path + ".Id", e.Id, a.Id);
            Value(path + ".Name", e.Name, a.Name);
            // Arguments that are not JSON (only OpenAI carries them, as a string) must come back as the same text.
            if (IsJson(e.ArgumentsJson)) Json(path + ".ArgumentsJson", e.ArgumentsJson, a.ArgumentsJson);
            else Value(path + ".ArgumentsJson", e.ArgumentsJson, a.ArgumentsJson);
        }

        public void Tool(string path, ToolDefinition e, ToolDefinition a)
        {
            Value(path + ".Name", e.Name, a.Name);
            Value(path + ".Description", e.Description, a.Description);
            Json(path + ".ParametersJson", e.ParametersJson, a.ParametersJson);
            Value(path + ".Strict", e.Strict, a.Strict);
            Json(path + ".CacheControlJson", e.CacheControlJson, a.CacheControlJson);
        }

        public void Choice(string path, ChatChoice e, ChatChoice a)
        {
            Value(path + ".Index", e.Index, a.Index);
            List(path + ".Parts", e.Parts, a.Parts, Part);
            List(path + ".ToolCalls", e.ToolCalls, a.ToolCalls, Call);
            Value(path + ".FinishReason", e.FinishReason, a.FinishReason);
            Value(path + ".StopSequence", e.StopSequence, a.StopSequence);
            Value(path + ".Refusal", e.Refusal, a.Refusal);
        }

        public void Usage(string path, TokenUsage e, TokenUsage a)
        {
            Value(path + ".InputTokens", e.InputTokens, a.InputTokens);
            Value(path + ".OutputTokens", e.OutputTokens, a.OutputTokens);
            Value(path + ".CachedInputTokens", e.CachedInputTokens, a.CachedInputTokens);
            Value(path + ".CacheWriteInputTokens", e.CacheWriteInputTokens, a.CacheWriteInputTokens);
            Value(path + ".ReasoningTokens", e.ReasoningTokens, a.ReasoningTokens);
        }

        private static bool IsJson(string text)
        {
            try
            {
                using var _ = JsonDocument.Parse(text);
                return true;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        private static string Render<T>(T value) => value switch
        {
            null => "null",
            string s => Quote(s),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}

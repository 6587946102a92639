using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Responses;

/// <summary>
/// Golden-file plumbing for the Responses and completions wire tests: case folders, semantic JSON and event-by-event
/// SSE comparison, and a neutral JSON description of canonical values to compare against.
/// </summary>
/// <remarks>
/// Set <c>ROUTER_UPDATE_GOLDEN=1</c> to write the actual output over a missing or differing expected file in the
/// source tree (then review the diff: a golden file is only as good as the reading it got).
/// </remarks>
internal static class WireGolden
{
    public static string Root(string wire) => Path.Combine(AppContext.BaseDirectory, "Wire", "Golden", wire);

    /// <summary>The case folders of a wire that hold every one of <paramref name="files"/>.</summary>
    public static TheoryData<string> Cases(string wire, params string[] files)
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Root(wire)).Order(StringComparer.Ordinal))
            if (files.All(f => File.Exists(Path.Combine(dir, f)))) data.Add(Path.GetFileName(dir));
        return data;
    }

    public static string Read(string wire, string @case, string file) => File.ReadAllText(Path.Combine(Root(wire), @case, file));

    public static bool Exists(string wire, string @case, string file) => File.Exists(Path.Combine(Root(wire), @case, file));

    public static JsonElement ReadJson(string wire, string @case, string file) => JsonDocument.Parse(Read(wire, @case, file)).RootElement.Clone();

    public static byte[] ReadBytes(string wire, string @case, string file) => File.ReadAllBytes(Path.Combine(Root(wire), @case, file));

    /// <summary>Compares JSON semantically (key order and number spelling do not matter).</summary>
    public static void AssertJson(string wire, string @case, string file, string actualJson)
    {
        var actual = Normalize(actualJson);
        if (!Exists(wire, @case, file) || Read(wire, @case, file).Trim().Length == 0 || Normalize(Read(wire, @case, file)) != actual)
        {
            if (Update(wire, @case, file, Pretty(actualJson))) return;
            Assert.True(Exists(wire, @case, file), $"Missing golden file {wire}/{@case}/{file}");
        }
        Assert.Equal(Normalize(Read(wire, @case, file)), actual);
    }

    /// <summary>Compares SSE streams event by event: the same event names, and data equal as JSON.</summary>
    public static void AssertSse(string wire, string @case, string file, string actualSse)
    {
        if (!Exists(wire, @case, file) || !SameSse(Read(wire, @case, file), actualSse))
        {
            if (Update(wire, @case, file, actualSse)) return;
            Assert.True(Exists(wire, @case, file), $"Missing golden file {wire}/{@case}/{file}");
        }
        var expected = ParseSse(Read(wire, @case, file));
        var actual = ParseSse(actualSse);
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            Assert.Equal(expected[i].Event, actual[i].Event);
            Assert.Equal(NormalizeData(expected[i].Data), NormalizeData(actual[i].Data));
        }
        Assert.Equal(expected.Count, actual.Count);
    }

    public sealed record SseEvent(string? Event, string Data);

    public static List<SseEvent> ParseSse(string text)
    {
        var events = new List<SseEvent>();
        foreach (var block in text.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal)) name = line[6..].Trim();
                else if (line.StartsWith("data:", StringComparison.Ordinal)) data.Append(line[5..].TrimStart());
            }
            if (data.Length > 0 || name is not null) events.Add(new SseEvent(name, data.ToString()));
        }
        return events;
    }

    private static bool SameSse(string expected, string actual)
    {
        var e = ParseSse(expected);
        var a = ParseSse(actual);
        if (e.Count != a.Count) return false;
        for (var i = 0; i < e.Count; i++)
            if (e[i].Event != a[i].Event || NormalizeData(e[i].Data) != NormalizeData(a[i].Data)) return false;
        return true;
    }

    private static string NormalizeData(string data) => data.StartsWith('{') ? Normalize(data) : data;

    private static bool Update(string wire, string @case, string file, string content)
    {
        if (Environment.GetEnvironmentVariable("ROUTER_UPDATE_GOLDEN") != "1") return false;
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Router.Node.Tests.csproj"))) dir = Path.GetDirectoryName(dir);
        if (dir is null) return false;
        File.WriteAllText(Path.Combine(dir, "Wire", "Golden", wire, @case, file), content);
        return true;
    }

    public static string Normalize(string json) => Canonical(JsonNode.Parse(json))?.ToJsonString(Indented) ?? "null";

    public static string Pretty(string json) => JsonNode.Parse(json)?.ToJsonString(Indented) + "\n";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Canonical).ToArray()),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => JsonValue.Create(v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture)),
        _ => node?.DeepClone(),
    };

    public static string WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // --- Neutral descriptions of canonical values ---

    public static string Describe(ChatRequest r)
    {
        var o = new JsonObject { ["model"] = r.Model, ["source"] = r.Source.ToString() };
        o["messages"] = new JsonArray(r.Messages.Select(Describe).ToArray());
        Set(o, "temperature", r.Temperature);
        Set(o, "top_p", r.TopP);
        Set(o, "max_tokens", r.MaxTokens);
        if (r.Stop is not null) o["stop"] = new JsonArray(r.Stop.Select(s => (JsonNode?)s).ToArray());
        Set(o, "seed", r.Seed);
        Set(o, "n", r.N);
        Set(o, "presence_penalty", r.PresencePenalty);
        Set(o, "frequency_penalty", r.FrequencyPenalty);
        o["stream"] = r.Stream;
        o["include_usage"] = r.IncludeUsage;
        Set(o, "user", r.User);
        if (r.Tools.Count > 0)
        {
            o["tools"] = new JsonArray(r.Tools.Select(t => (JsonNode?)new JsonObject
            {
                ["name"] = t.Name,
                ["description"] = t.Description,
                ["parameters"] = JsonNode.Parse(t.ParametersJson),
                ["strict"] = t.Strict,
            }).ToArray());
        }
        if (r.ToolChoice is { } tc) o["tool_choice"] = tc.Name is null ? tc.Mode.ToString() : $"{tc.Mode}:{tc.Name}";
        Set(o, "parallel_tool_calls", r.ParallelToolCalls);
        if (r.ResponseFormat is { } f)
        {
            o["response_format"] = new JsonObject
            {
                ["kind"] = f.Kind.ToString(),
                ["name"] = f.Name,
                ["description"] = f.Description,
                ["schema"] = f.SchemaJson is null ? null : JsonNode.Parse(f.SchemaJson),
                ["strict"] = f.Strict,
            };
        }
        if (r.Reasoning is { } rs) o["reasoning"] = new JsonObject { ["effort"] = rs.Effort, ["enabled"] = rs.Enabled, ["budget_tokens"] = rs.BudgetTokens };
        o["unmapped"] = new JsonArray(r.UnmappedFields.Select(u => (JsonNode?)u).ToArray());
        return o.ToJsonString();
    }

    private static JsonNode Describe(ChatMessage m)
    {
        var o = new JsonObject { ["role"] = m.Role.ToString(), ["parts"] = new JsonArray(m.Parts.Select(Describe).ToArray()) };
        if (m.ToolCalls.Count > 0) o["tool_calls"] = Describe(m.ToolCalls);
        Set(o, "tool_call_id", m.ToolCallId);
        return o;
    }

    private static JsonNode? Describe(ContentPart p) => p switch
    {
        TextPart t => new JsonObject { ["text"] = t.Text },
        ImagePart i => new JsonObject { ["image_url"] = i.Url, ["media_type"] = i.MediaType, ["data"] = i.Base64Data, ["detail"] = i.Detail },
        ReasoningPart r => new JsonObject { ["reasoning"] = r.Text, ["signature"] = r.Signature },
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    private static JsonArray Describe(IReadOnlyList<ToolCall> calls) =>
        new(calls.Select(c => (JsonNode?)new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["arguments"] = c.ArgumentsJson }).ToArray());

    public static string Describe(ChatCompletion c)
    {
        var o = new JsonObject { ["id"] = c.Id, ["model"] = c.Model };
        o["choices"] = new JsonArray(c.Choices.Select(ch =>
        {
            var co = new JsonObject { ["index"] = ch.Index, ["text"] = ch.Text, ["finish_reason"] = ch.FinishReason.ToString() };
            Set(co, "refusal", ch.Refusal);
            if (ch.ToolCalls.Count > 0) co["tool_calls"] = Describe(ch.ToolCalls);
            return (JsonNode?)co;
        }).ToArray());
        o["usage"] = Describe(c.Usage);
        Set(o, "system_fingerprint", c.SystemFingerprint);
        return o.ToJsonString();
    }

    private static JsonObject Describe(TokenUsage u) => new()
    {
        ["input"] = u.InputTokens,
        ["output"] = u.OutputTokens,
        ["cached"] = u.CachedInputTokens,
        ["cache_write"] = u.CacheWriteInputTokens,
        ["reasoning"] = u.ReasoningTokens,
    };

    public static string Describe(IEnumerable<ChatStreamEvent> events) =>
        new JsonArray(events.Select(e => (JsonNode?)(e switch
        {
            StreamStarted s => new JsonObject { ["started"] = s.Id },
            ContentDelta d => new JsonObject { ["content"] = d.Text },
            ToolCallStarted s => new JsonObject { ["tool_call"] = s.Index, ["id"] = s.Id, ["name"] = s.Name },
            ToolCallDelta d => new JsonObject { ["tool_call"] = d.Index, ["arguments"] = d.ArgumentsFragment },
            StreamFinished f => new JsonObject { ["finished"] = f.Reason.ToString(), ["usage"] = f.Usage is { } u ? Describe(u) : null },
            _ => new JsonObject { ["other"] = e.GetType().Name },
        })).ToArray()).ToJsonString();

    /// <summary>
    /// The canonical events an upstream would stream for <paramref name="c"/>: text in word-sized pieces, each tool
    /// call's arguments in pieces of at most 12 characters, then the finish with the usage.
    /// </summary>
    public static List<ChatStreamEvent> StreamOf(ChatCompletion c)
    {
        var events = new List<ChatStreamEvent> { new StreamStarted("upstream-id") };
        var choice = c.Choices[0];
        var text = choice.Text;
        var start = 0;
        while (start < text.Length)
        {
            var space = text.IndexOf(' ', start + 1);
            var end = space < 0 ? text.Length : space;
            events.Add(new ContentDelta(text[start..end]));
            start = end;
        }
        for (var i = 0; i < choice.ToolCalls.Count; i++)
        {
            var call = choice.ToolCalls[i];
            events.Add(new ToolCallStarted(i, call.Id, call.Name));
            for (var p = 0; p < call.ArgumentsJson.Length; p += 12)
                events.Add(new ToolCallDelta(i, call.ArgumentsJson.Substring(p, Math.Min(12, call.ArgumentsJson.Length - p))));
        }
        events.Add(new StreamFinished(choice.FinishReason, c.Usage));
        return events;
    }

    private static void Set(JsonObject o, string name, string? value) { if (value is not null) o[name] = value; }
    private static void Set(JsonObject o, string name, double? value) { if (value is { } v) o[name] = v; }
    private static void Set(JsonObject o, string name, long? value) { if (value is { } v) o[name] = v; }
    private static void Set(JsonObject o, string name, bool? value) { if (value is { } v) o[name] = v; }
}

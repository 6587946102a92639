using FsCheck;
using FsCheck.Fluent;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// What a target wire can say, as constraints on generated canonical requests. A generator never produces what the
/// target refuses (that is <see cref="RefusalProperties"/>' business), but it does produce what the target drops or
/// reshapes by design: <see cref="Expressible"/> then says what must come back.
/// </summary>
internal sealed record WireProfile
{
    /// <summary>OpenAI Chat Completions: no top_k, at most 4 stops, images only from the user, call ids on tool results.</summary>
    public static readonly WireProfile OpenAi = new()
    {
        Names = true, ToolResultImages = false, TopK = false, OpenAiSampling = true, MaxTemperature = 2, MaxStops = 4,
        WhitespaceStops = true, JsonResponseFormats = true, Efforts = ["none", "minimal", "low", "medium", "high", "xhigh"],
        AnyToolArguments = true, ThinkingRules = false,
    };

    /// <summary>Anthropic Messages: no names, seed, n &gt; 1 or penalties; temperature to 1; thinking with its own rules.</summary>
    public static readonly WireProfile Anthropic = new()
    {
        Names = false, ToolResultImages = true, TopK = true, OpenAiSampling = false, MaxTemperature = 1, MaxStops = 6,
        WhitespaceStops = false, JsonResponseFormats = false, Efforts = ["none", "minimal", "low", "medium", "high"],
        AnyToolArguments = false, ThinkingRules = true,
    };

    /// <summary>What both wires express (cross-wire round trips).</summary>
    public static readonly WireProfile Both = Anthropic with { ToolResultImages = false, TopK = false, MaxStops = 4 };

    public bool Names { get; init; }
    public bool ToolResultImages { get; init; }
    public bool TopK { get; init; }
    /// <summary>seed, n &gt; 1, non-zero penalties.</summary>
    public bool OpenAiSampling { get; init; }
    public double MaxTemperature { get; init; }
    public int MaxStops { get; init; }
    public bool WhitespaceStops { get; init; }
    /// <summary>json_object / json_schema as a response format (Anthropic emulates them with a forced tool: not a round trip).</summary>
    public bool JsonResponseFormats { get; init; }
    public string[] Efforts { get; init; } = [];
    /// <summary>Tool call arguments that are not a JSON object (OpenAI carries them as a string).</summary>
    public bool AnyToolArguments { get; init; }
    /// <summary>Anthropic's extended-thinking rules: temperature 1 only, no top_k, no forced tool, no JSON format.</summary>
    public bool ThinkingRules { get; init; }
}

/// <summary>Generators of canonical values: requests for a <see cref="WireProfile"/>, completions and stream event sequences.</summary>
internal static class CanonicalGen
{
    private static readonly string[] Fragments =
    [
        "hello", "world", " ", "Grüße", "日本語", "🙂", "a\"b", "back\\slash", "line\nbreak", "\t", "\u0001ctl", "<b>&amp;</b>",
        "{\"json\":1}", "data: [DONE]", "\r\n\r\n", "event: x", "é", "x", "'", "\u2028", "0",
    ];

    public static readonly Gen<string> Text =
        from n in Gen.Choose(0, 4)
        from parts in Gen.ArrayOf(Gen.Elements(Fragments), n)
        select string.Concat(parts);

    public static readonly Gen<string> NonEmptyText =
        from n in Gen.Choose(1, 4)
        from parts in Gen.ArrayOf(Gen.Elements(Fragments), n)
        select string.Concat(parts);

    /// <summary>Text with something besides whitespace (Anthropic's rule for text blocks it keeps and for stop sequences).</summary>
    public static readonly Gen<string> VisibleText = NonEmptyText.Where(t => !string.IsNullOrWhiteSpace(t));

    private static readonly Gen<string> Word =
        from w in Gen.Elements("alpha", "beta", "gamma", "x", "tool", "get_weather", "look-up", "A1", "z_9")
        from n in Gen.Choose(0, 999)
        select $"{w}{n}";

    public static readonly Gen<string> ToolName =
        from w in Word
        from long_ in Gen.Elements(false, false, false, true)
        select long_ ? (w + new string('n', 64))[..64] : w;

    public static readonly Gen<string> CallId =
        from p in Gen.Elements("call_", "toolu_", "fc_", "")
        from w in Word
        select p + w;

    public static readonly Gen<string> CacheControl = Gen.Elements("""{"type":"ephemeral"}""", """{"type":"ephemeral","ttl":"1h"}""");

    /// <summary>JSON Schemas, some without <c>type</c> (Anthropic adds <c>"type":"object"</c>), some indented.</summary>
    public static readonly Gen<string> Schema = Gen.Elements(
        """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""",
        """{"properties":{"n":{"type":"integer","minimum":0,"maximum":1.5e3}}}""",
        """{"type":"object"}""",
        """{}""",
        """{"type":"object","properties":{"q":{"type":"string","description":"ünïcode \"quoted\" \\ 🙂"}},"additionalProperties":false}""",
        "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"list\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}\n  }\n}",
        """{"$defs":{"a":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/a"}},"type":"object"}""");

    /// <summary>Tool call arguments that are JSON objects (what every wire can carry).</summary>
    public static readonly Gen<string> ObjectArguments = Gen.Elements(
        """{"city":"Paris"}""",
        """{}""",
        """{"n":1,"list":[1,2.5,-3e-7,{"a":null,"b":true}],"s":"ünï \"q\" \\ 🙂\n"}""",
        "{ \"spaced\" : [ 1 , 2 ] }",
        "{\n  \"indented\": {\n    \"deep\": [\"x\"]\n  }\n}",
        "");

    /// <summary>Arguments as OpenAI carries them: any string, JSON or not.</summary>
    public static readonly Gen<string> AnyArguments = Gen.OneOf(
        ObjectArguments,
        Gen.Elements("""{"unterminated": """, "not json", "[1,2]", "42", "\"s\"", "null"),
        Text);

    private static readonly Gen<ImagePart> Image =
        from byUrl in Gen.Elements(true, false)
        from url in Gen.Elements("https://example.com/cat.png", "http://img.test/a/b.jpg?x=1&y=%20", "https://example.com/%F0%9F%99%82.webp")
        from media in Gen.Elements("image/png", "image/jpeg", "image/gif", "image/webp")
        from data in Gen.Elements("iVBORw0KGgo=", "R0lGODlhAQABAAAAACw=", "AAAA", "/9j/4AAQSkZJRg==")
        from detail in Gen.Elements<string?>(null, null, "auto", "low", "high")
        select byUrl ? new ImagePart { Url = url, Detail = detail } : new ImagePart { MediaType = media, Base64Data = data, Detail = detail };

    private static Gen<T> WithCache<T>(Gen<T> part) where T : ContentPart =>
        from p in part
        from cached in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        from cache in CacheControl
        select cached ? p with { CacheControlJson = cache } : p;

    private static readonly Gen<ContentPart> TextPartGen = WithCache(Text.Select(t => new TextPart(t))).Select(p => (ContentPart)p);

    private static readonly Gen<ContentPart> ReasoningPartGen = Gen.OneOf(
        from t in Text
        from s in Gen.Elements("sig-abc", "EqQBCgIYAhIM", "")
        select (ContentPart)new ReasoningPart { Text = t, Signature = s },
        Gen.Elements("cmVkYWN0ZWQ=", "opaque").Select(d => (ContentPart)new ReasoningPart { RedactedData = d }));

    private static Gen<List<ContentPart>> Parts(Gen<ContentPart> part, int min, int max) =>
        from n in Gen.Choose(min, max)
        from parts in Gen.ArrayOf(part, n)
        select parts.ToList();

    /// <summary>One step of a conversation: a system, user or assistant message; an assistant's calls bring their results.</summary>
    private static Gen<List<ChatMessage>> Step(WireProfile p)
    {
        var name = p.Names ? Gen.Elements<string?>(null, null, null, "alice", "Bob_2") : Gen.Constant<string?>(null);
        var system =
            from parts in Parts(TextPartGen, 1, 3)
            from n in name
            select new List<ChatMessage> { new(ChatRole.System, parts) { Name = n } };
        var user =
            from parts in Parts(Gen.Frequency((3, TextPartGen), (1, WithCache(Image).Select(i => (ContentPart)i))), 1, 3)
            from n in name
            select new List<ChatMessage> { new(ChatRole.User, parts) { Name = n } };
        var arguments = p.AnyToolArguments ? AnyArguments : ObjectArguments;
        var call =
            from id in CallId
            from tool in ToolName
            from args in arguments
            select new ToolCall(id, tool, args);
        var resultPart = p.ToolResultImages
            ? Gen.Frequency((3, TextPartGen), (1, WithCache(Image).Select(i => (ContentPart)i)))
            : TextPartGen;
        var assistant =
            from calls in Gen.Choose(0, 3).SelectMany(k => Gen.ArrayOf(call, k))
            from reasoning in Parts(ReasoningPartGen, 0, 2)
            from texts in Parts(TextPartGen, calls.Length > 0 ? 0 : 1, 2)
            from mixed in Gen.Shuffle(reasoning.Concat(texts))
            from n in name
            from answered in Gen.Choose(0, calls.Length)
            from order in Gen.Shuffle(Enumerable.Range(0, calls.Length))
            from results in Gen.ArrayOf(
                from parts in Parts(resultPart, 1, 2)
                from error in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
                select (parts, error), answered)
            from thenUser in Gen.Elements(false, true)
            from userText in Parts(TextPartGen, 1, 2)
            select Assistant(calls, mixed.ToList(), n, order, results, thenUser && answered > 0 ? userText : null);
        return Gen.Frequency((1, system), (3, user), (3, assistant));
    }

    private static List<ChatMessage> Assistant(
        ToolCall[] calls, List<ContentPart> parts, string? name, IList<int> order, (List<ContentPart> Parts, bool Error)[] results,
        List<ContentPart>? thenUser)
    {
        var list = new List<ChatMessage> { new(ChatRole.Assistant, parts) { ToolCalls = calls, Name = name } };
        for (var i = 0; i < results.Length; i++)
        {
            // The id is a placeholder index until UniqueIds gives every call its own id.
            list.Add(new ChatMessage(ChatRole.Tool, results[i].Parts) { ToolCallId = "#" + order[i], IsError = results[i].Error });
        }
        if (thenUser is not null) list.Add(new ChatMessage(ChatRole.User, thenUser));
        return list;
    }

    /// <summary>
    /// Makes every call id unique in the conversation and points each result at its call. A conversation of only
    /// system messages gets a user message: every wire needs something to answer.
    /// </summary>
    private static List<ChatMessage> UniqueIds(IEnumerable<List<ChatMessage>> steps)
    {
        var messages = new List<ChatMessage>();
        var serial = 0;
        foreach (var step in steps)
        {
            ToolCall[] calls = [];
            foreach (var m in step)
            {
                if (m.Role == ChatRole.Assistant)
                {
                    calls = m.ToolCalls.Select(c => c with { Id = $"{c.Id}_{serial++}" }).ToArray();
                    messages.Add(m with { ToolCalls = calls });
                }
                else if (m.ToolCallId is ['#', .. var index])
                {
                    messages.Add(m with { ToolCallId = calls[int.Parse(index, System.Globalization.CultureInfo.InvariantCulture)].Id });
                }
                else
                {
                    messages.Add(m);
                }
            }
        }
        if (messages.TrueForAll(m => m.Role == ChatRole.System)) messages.Add(new ChatMessage(ChatRole.User, "hi"));
        return messages;
    }

    private static Gen<double?> Number(double min, double max, params double[] specials) =>
        Gen.Frequency(
            (2, Gen.Constant<double?>(null)),
            (2, Gen.Choose(0, 1000).Select(i => (double?)(min + (max - min) * i / 1000.0))),
            (1, Gen.Elements(specials).Select(d => (double?)d)));

    private static Gen<ReasoningSettings?> Reasoning(WireProfile p) => Gen.Frequency(
        (3, Gen.Constant<ReasoningSettings?>(null)),
        (2, Gen.Elements(p.Efforts).Select(e => (ReasoningSettings?)new ReasoningSettings { Effort = e })),
        (1, Gen.Choose(1024, 40000).Select(b => (ReasoningSettings?)new ReasoningSettings { Enabled = true, BudgetTokens = b })),
        (1, Gen.Constant<ReasoningSettings?>(new ReasoningSettings { Enabled = false })));

    private static Gen<ResponseFormat?> Format(WireProfile p)
    {
        var schema =
            from name in Gen.Elements<string?>(null, "answer", "Weather_Report-2")
            from description in Gen.Elements<string?>(null, "The answer", "ünï \"q\"")
            from json in Gen.Elements<string?>(null, """{"type":"object","properties":{"a":{"type":"string"}}}""", """{"type":"string"}""")
            from strict in Gen.Elements<bool?>(null, true, false)
            select (ResponseFormat?)new ResponseFormat(ResponseFormatKind.JsonSchema) { Name = name, Description = description, SchemaJson = json, Strict = strict };
        return p.JsonResponseFormats
            ? Gen.Frequency((4, Gen.Constant<ResponseFormat?>(null)), (1, Gen.Constant<ResponseFormat?>(ResponseFormat.Text)),
                (1, Gen.Constant<ResponseFormat?>(ResponseFormat.JsonObject)), (2, schema))
            : Gen.Elements<ResponseFormat?>(null, null, null, ResponseFormat.Text);
    }

    private static Gen<List<ToolDefinition>> Tools =>
        from n in Gen.Frequency((2, Gen.Constant(0)), (3, Gen.Choose(1, 3)))
        from tools in Gen.ArrayOf(
            from name in ToolName
            from description in Gen.Elements<string?>(null, "Looks things up.", "ünï \"q\" 🙂\n")
            from schema in Schema
            from strict in Gen.Elements<bool?>(null, null, true, false)
            from cached in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
            from cache in CacheControl
            select new ToolDefinition(name, description, schema) { Strict = strict, CacheControlJson = cached ? cache : null }, n)
        select tools.Select((t, i) => t with { Name = $"{t.Name[..Math.Min(t.Name.Length, 60)]}_{i}" }).ToList();

    /// <summary>A canonical request that <paramref name="p"/>'s wire can express (maybe with its documented drops).</summary>
    public static Gen<ChatRequest> Request(WireProfile p) =>
        from steps in Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Step(p), n))
        from model in Gen.Elements("gpt-4o", "claude-sonnet-4-5", "m", "ünï-model")
        from temperature in Number(0, p.MaxTemperature, 0, 1, p.MaxTemperature, 0.1, 0.30000000000000004, 1e-9)
        from topP in Number(0, 1, 0, 1, 0.95, 1e-9)
        from topK in p.TopK ? Gen.Elements<int?>(null, null, 0, 1, 40, 500) : Gen.Constant<int?>(null)
        from maxTokens in Gen.Elements<int?>(null, 1, 16, 1024, 4096, 100_000, 1_000_000)
        from stops in Gen.Choose(0, p.MaxStops).SelectMany(n => Gen.ArrayOf(p.WhitespaceStops ? Text : VisibleText, n))
        from stopForm in Gen.Elements(false, true)
        from seed in p.OpenAiSampling ? Gen.Elements<long?>(null, 0, 42, -1, long.MaxValue, long.MinValue) : Gen.Constant<long?>(null)
        from n in p.OpenAiSampling ? Gen.Elements<int?>(null, 1, 2, 128) : Gen.Elements<int?>(null, 1)
        from presence in p.OpenAiSampling ? Number(-2, 2, -2, 0, 2) : Gen.Elements<double?>(null, 0)
        from frequency in p.OpenAiSampling ? Number(-2, 2, -2, 0, 2) : Gen.Elements<double?>(null, 0)
        from stream in Gen.Elements(false, true)
        from includeUsage in Gen.Elements(false, true)
        from user in Gen.Elements<string?>(null, "user-123", "ünï 🙂")
        from tools in Tools
        from choiceKind in Gen.Choose(0, 4)
        from named in tools.Count > 0 ? Gen.Elements(tools.Select(t => t.Name).ToArray()) : Gen.Constant("")
        from parallel in Gen.Elements<bool?>(null, true, false)
        from format in Format(p)
        from reasoning in Reasoning(p)
        select Finish(p, new ChatRequest
        {
            Model = model,
            Messages = UniqueIds(steps),
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            MaxTokens = maxTokens,
            Stop = stops.Length == 0 && stopForm ? null : stops.ToList(),
            Seed = seed,
            N = n,
            PresencePenalty = presence,
            FrequencyPenalty = frequency,
            Stream = stream,
            IncludeUsage = includeUsage,
            User = user,
            Tools = tools,
            ToolChoice = choiceKind switch
            {
                1 => ToolChoice.Auto,
                2 => ToolChoice.None,
                3 => ToolChoice.Required,
                4 when tools.Count > 0 => new ToolChoice(ToolChoiceMode.Named, named),
                _ => null,
            },
            ParallelToolCalls = parallel,
            ResponseFormat = format,
            Reasoning = reasoning,
        });

    // Rules that tie fields together: Anthropic's extended-thinking rules, and a JSON format needs no tools there.
    private static ChatRequest Finish(WireProfile p, ChatRequest r)
    {
        if (!p.ThinkingRules) return r;
        var thinking = r.Reasoning switch
        {
            null or { Enabled: false } => false,
            { Enabled: true } => true,
            { Effort: var e } => e is "low" or "medium" or "high",
        };
        if (!thinking) return r;
        return r with
        {
            Temperature = r.Temperature is null ? null : 1,
            TopK = null,
            ToolChoice = r.ToolChoice is { Mode: ToolChoiceMode.Required or ToolChoiceMode.Named } ? ToolChoice.Auto : r.ToolChoice,
        };
    }

    // ---- Completions ----

    private static readonly Gen<TokenUsage> Usage =
        from input in Gen.Choose(0, 200_000)
        from output in Gen.Choose(0, 50_000)
        from cachedShare in Gen.Choose(0, 100)
        from writeShare in Gen.Choose(0, 100)
        from reasoningShare in Gen.Choose(0, 100)
        let cached = input * cachedShare / 200
        let write = input * writeShare / 200
        select new TokenUsage(input, output)
        {
            CachedInputTokens = cached,
            CacheWriteInputTokens = write,
            ReasoningTokens = output * reasoningShare / 100,
        };

    public static readonly Gen<FinishReason> FinishReasons = Gen.Elements(FinishReason.Stop, FinishReason.Length, FinishReason.ContentFilter, FinishReason.ToolCalls);

    private static Gen<ChatChoice> Choice(int index, Gen<string> arguments) =>
        from texts in Parts(Text.Select(t => (ContentPart)new TextPart(t)), 0, 3)
        from reasoning in Parts(ReasoningPartGen.Where(r => r is ReasoningPart { RedactedData: not null } or ReasoningPart { Text: not null, Signature: not null }), 0, 2)
        from calls in Gen.Choose(0, 3).SelectMany(k => Gen.ArrayOf(
            from id in CallId.Where(s => s.Length > 0)
            from name in ToolName
            from args in arguments
            select new ToolCall(id, name, args), k))
        from finish in FinishReasons
        from stopSequence in Gen.Elements<string?>(null, null, "END", "\n\n")
        from refusal in Gen.Elements<string?>(null, null, null, "I can't help with that.", "")
        select new ChatChoice(index, reasoning.Concat(texts).ToList(), calls.Select((c, i) => c with { Id = $"{c.Id}_{i}" }).ToList(), finish)
        {
            StopSequence = stopSequence,
            Refusal = refusal,
        };

    /// <summary>A completion of <paramref name="choices"/> answers (1 for wires with one answer).</summary>
    public static Gen<ChatCompletion> Completion(int maxChoices, bool anyArguments) =>
        from n in Gen.Choose(1, maxChoices)
        from choices in Gen.CollectToList(Enumerable.Range(0, n).Select(i => Choice(i, anyArguments ? AnyArguments : ObjectArguments)))
        from id in Gen.Elements("chatcmpl-123", "msg_01XYZ", "resp_abc", "ünï")
        from model in Gen.Elements("gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929")
        from usage in Usage
        from fingerprint in Gen.Elements<string?>(null, "fp_44709d6fcb")
        select new ChatCompletion(id, model, choices.ToList(), usage) { SystemFingerprint = fingerprint };

    // ---- Streams ----

    /// <summary>
    /// A stream as an upstream reader would produce it: text runs, tool calls one after another (start, then argument
    /// fragments), optionally visible reasoning (thinking deltas closed by a signature, or a redacted block), then the finish.
    /// </summary>
    public static Gen<List<ChatStreamEvent>> Stream(bool reasoning)
    {
        var text = Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Text.Select(t => (ChatStreamEvent)new ContentDelta(t)), n))
            .Select(a => a.ToList());
        var call =
            from id in CallId.Where(s => s.Length > 0)
            from name in ToolName
            from args in AnyArguments
            from cuts in Gen.Choose(0, 3).SelectMany(k => Gen.ArrayOf(Gen.Choose(0, args.Length), k))
            select SplitCall(id, name, args, cuts);
        var thinking =
            from deltas in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(NonEmptyText, n))
            from signature in Gen.Elements("sig-1", "EqQBCgIYAhIM")
            select deltas.Select(d => (ChatStreamEvent)new ReasoningDelta(d)).Append(new ReasoningDelta(null, signature)).ToList();
        var redacted = Gen.Elements("cmVkYWN0ZWQ=", "opaque").Select(d => new List<ChatStreamEvent> { new ReasoningDelta(null) { RedactedData = d } });
        var segment = reasoning
            ? Gen.Frequency((3, text), (3, call), (1, thinking), (1, redacted))
            : Gen.Frequency((3, text), (3, call));
        return
            from segments in Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(segment, n))
            from finish in FinishReasons
            from withUsage in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
            from usage in Usage
            from stopSequence in Gen.Elements<string?>(null, null, "END")
            select Number(segments, new StreamFinished(finish, withUsage ? usage : null) { StopSequence = stopSequence });
    }

    private static List<ChatStreamEvent> SplitCall(string id, string name, string args, int[] cuts)
    {
        var events = new List<ChatStreamEvent> { new ToolCallStarted(-1, id, name) };
        var at = 0;
        foreach (var cut in cuts.Order())
        {
            // Never split a surrogate pair: fragments are strings, and half a pair is not valid text on any wire.
            var c = cut > 0 && cut < args.Length && char.IsLowSurrogate(args[cut]) ? cut - 1 : cut;
            if (c <= at) continue;
            events.Add(new ToolCallDelta(-1, args[at..c]));
            at = c;
        }
        if (at < args.Length) events.Add(new ToolCallDelta(-1, args[at..]));
        return events;
    }

    // Tool calls are numbered in the order they start; ids get a serial so they stay distinct.
    private static List<ChatStreamEvent> Number(List<ChatStreamEvent>[] segments, StreamFinished finish)
    {
        var events = new List<ChatStreamEvent>();
        var index = -1;
        foreach (var segment in segments)
        {
            foreach (var e in segment)
            {
                events.Add(e switch
                {
                    ToolCallStarted s => new ToolCallStarted(++index, $"{s.Id}_{index}", s.Name),
                    ToolCallDelta d => new ToolCallDelta(index, d.ArgumentsFragment),
                    _ => e,
                });
            }
        }
        events.Add(finish);
        return events;
    }
}

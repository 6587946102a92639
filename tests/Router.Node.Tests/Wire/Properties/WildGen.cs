using FsCheck;
using FsCheck.Fluent;
using Router.Contracts.Chat;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>
/// Canonical requests that keep only the model's type-level contract (raw JSON fields hold JSON text) and are
/// otherwise arbitrary: any roles, parts and calls anywhere, missing ids, out-of-range and non-finite numbers, odd
/// names. Translators must refuse them with a 400 or write valid JSON, never fail another way.
/// </summary>
internal static class WildGen
{
    private static readonly Gen<string> AnyString = Gen.Frequency(
        (3, CanonicalGen.Text),
        (1, Gen.Elements("", " ", "bad name", "ünï", new string('x', 65), "data:image/png;base64,AAAA", "ftp://x", "https://x.test/a.png")));

    private static readonly Gen<string?> MaybeString = Gen.Frequency((1, Gen.Constant<string?>(null)), (3, AnyString.Select(s => (string?)s)));

    private static readonly Gen<string> AnyJson = Gen.Elements(
        "{}", """{"type":"object"}""", "[]", "42", "\"s\"", "null", "true", """{"type":"string"}""", "{\n \"a\" : [1, {\"b\": null}]\n}");

    private static readonly Gen<string?> MaybeJson = Gen.Frequency((2, Gen.Constant<string?>(null)), (1, AnyJson.Select(s => (string?)s)));

    private static readonly Gen<double?> AnyDouble = Gen.Elements<double?>(
        null, 0, 1, 2, -1, 3, 1e308, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, 0.5);

    private static readonly Gen<int?> AnyInt = Gen.Elements<int?>(null, 0, 1, -1, 5, 1023, 1024, 4096, 16384, int.MaxValue, int.MinValue);

    private static readonly Gen<ContentPart> Part = Gen.OneOf(
        AnyString.Select(t => (ContentPart)new TextPart(t)),
        from url in MaybeString
        from media in Gen.Elements<string?>(null, "image/png", "image/bmp", "", "IMAGE/PNG")
        from data in Gen.Elements<string?>(null, "iVBORw0KGgo=", "", "!!not base64")
        from detail in MaybeString
        select (ContentPart)new ImagePart { Url = url, MediaType = media, Base64Data = data, Detail = detail },
        from text in MaybeString
        from signature in MaybeString
        from redacted in MaybeString
        select (ContentPart)new ReasoningPart { Text = text, Signature = signature, RedactedData = redacted })
        .SelectMany(p => MaybeJson.Select(cache => p with { CacheControlJson = cache }));

    private static readonly Gen<ToolCall> Call =
        from id in AnyString
        from name in AnyString
        from args in Gen.OneOf(AnyString, AnyJson)
        select new ToolCall(id, name, args);

    private static readonly Gen<ChatMessage> Message =
        from role in Gen.Elements(ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool)
        from parts in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Part, n))
        from calls in Gen.Frequency((3, Gen.Constant(Array.Empty<ToolCall>())), (1, Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(Call, n))))
        from callId in MaybeString
        from error in Gen.Elements(false, true)
        from name in Gen.Frequency((3, Gen.Constant<string?>(null)), (1, MaybeString))
        select new ChatMessage(role, parts) { ToolCalls = calls, ToolCallId = callId, IsError = error, Name = name };

    private static readonly Gen<ToolDefinition> Tool =
        from name in AnyString
        from description in MaybeString
        from parameters in AnyJson
        from strict in Gen.Elements<bool?>(null, true, false)
        from cache in MaybeJson
        select new ToolDefinition(name, description, parameters) { Strict = strict, CacheControlJson = cache };

    /// <summary>Wholly arbitrary requests (mostly refused) and valid ones with one to three fields made arbitrary.</summary>
    public static readonly Gen<ChatRequest> Request = Gen.Frequency(
        (1, Gen.Constant(0).SelectMany(_ => Arbitrary)),
        (3, CanonicalGen.Request(WireProfile.Both).SelectMany(r => Perturb(r, 3))));

    private static Gen<ChatRequest> Perturb(ChatRequest r, int times) =>
        times == 0
            ? Gen.Constant(r)
            : Gen.Elements(Perturbations).SelectMany(p => p(r)).SelectMany(next => Gen.Elements(true, false)
                .SelectMany(more => more ? Perturb(next, times - 1) : Gen.Constant(next)));

    private static ChatRequest WithMessage(ChatRequest r, int i, ChatMessage m) =>
        r with { Messages = r.Messages.Select((x, k) => k == i ? m : x).ToList() };

    private static readonly Func<ChatRequest, Gen<ChatRequest>>[] Perturbations =
    [
        r => Gen.Choose(0, r.Messages.Count - 1).SelectMany(i => Part.Select(p => WithMessage(r, i, r.Messages[i] with { Parts = [.. r.Messages[i].Parts, p] }))),
        r => Gen.Choose(0, r.Messages.Count - 1).SelectMany(i => Call.Select(c => WithMessage(r, i, r.Messages[i] with { ToolCalls = [.. r.Messages[i].ToolCalls, c] }))),
        r => Gen.Choose(0, r.Messages.Count - 1).SelectMany(i => MaybeString.Select(id => WithMessage(r, i, r.Messages[i] with { ToolCallId = id }))),
        r => Gen.Choose(0, r.Messages.Count - 1).SelectMany(i => Gen.Elements(ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool)
            .Select(role => WithMessage(r, i, r.Messages[i] with { Role = role }))),
        r => AnyInt.Select(n => r with { MaxTokens = n }),
        r => AnyInt.Select(b => r with { Reasoning = new ReasoningSettings { Enabled = true, BudgetTokens = b }, Temperature = null, TopK = null }),
        r => Gen.Elements<string?>("low", "high", "minimal", "none", "xhigh", "", null).Select(e => r with { Reasoning = new ReasoningSettings { Effort = e } }),
        r => Tool.Select(t => r with { Tools = [.. r.Tools, t] }),
        r => AnyJson.Select(json => r with { Tools = r.Tools.Select(t => t with { ParametersJson = json }).ToList() }),
        r => MaybeString.Select(name => r with { ToolChoice = new ToolChoice(ToolChoiceMode.Named, name) }),
        r => Gen.Elements(ResponseFormatKind.JsonObject, ResponseFormatKind.JsonSchema).SelectMany(k => MaybeString.SelectMany(name => MaybeJson.Select(schema =>
            r with { ResponseFormat = new ResponseFormat(k) { Name = name, SchemaJson = schema }, Reasoning = null }))),
        r => Gen.ArrayOf(AnyString, 2).Select(stop => r with { Stop = stop }),
        r => AnyDouble.SelectMany(t => AnyDouble.Select(p => r with { Temperature = t, TopP = p })),
        r => AnyInt.Select(k => r with { TopK = k, N = k }),
        r => Gen.Elements(WireFormat.None, WireFormat.OpenAiChat, WireFormat.AnthropicMessages, WireFormat.OpenAiResponses).Select(s => r with { Source = s }),
        r => AnyString.Select(model => r with { Model = model, User = model }),
    ];

    private static readonly Gen<ChatRequest> Arbitrary =
        from messages in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Message, n))
        from model in AnyString
        from temperature in AnyDouble
        from topP in AnyDouble
        from topK in AnyInt
        from maxTokens in AnyInt
        from stop in Gen.Frequency((1, Gen.Constant<string[]?>(null)), (2, Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(AnyString, n)).Select(a => (string[]?)a)))
        from seed in Gen.Elements<long?>(null, 0, long.MinValue)
        from n in AnyInt
        from presence in AnyDouble
        from frequency in AnyDouble
        from user in MaybeString
        from tools in Gen.Choose(0, 3).SelectMany(k => Gen.ArrayOf(Tool, k))
        from mode in Gen.Elements<ToolChoiceMode?>(null, ToolChoiceMode.Auto, ToolChoiceMode.None, ToolChoiceMode.Required, ToolChoiceMode.Named)
        from choiceName in MaybeString
        from parallel in Gen.Elements<bool?>(null, true, false)
        from kind in Gen.Elements<ResponseFormatKind?>(null, ResponseFormatKind.Text, ResponseFormatKind.JsonObject, ResponseFormatKind.JsonSchema)
        from formatName in MaybeString
        from schema in MaybeJson
        from effort in Gen.Frequency((2, Gen.Constant<string?>(null)), (1, Gen.Elements<string?>("low", "high", "minimal", "none", "xhigh", "")))
        from enabled in Gen.Elements<bool?>(null, true, false)
        from budget in AnyInt
        from stream in Gen.Elements(false, true)
        from source in Gen.Elements(WireFormat.None, WireFormat.OpenAiChat, WireFormat.AnthropicMessages, WireFormat.OpenAiResponses)
        select new ChatRequest
        {
            Model = model,
            Messages = messages,
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            MaxTokens = maxTokens,
            Stop = stop,
            Seed = seed,
            N = n,
            PresencePenalty = presence,
            FrequencyPenalty = frequency,
            User = user,
            Tools = tools,
            ToolChoice = mode is { } m ? new ToolChoice(m, choiceName) : null,
            ParallelToolCalls = parallel,
            ResponseFormat = kind is { } k ? new ResponseFormat(k) { Name = formatName, SchemaJson = schema } : null,
            Reasoning = effort is null && enabled is null && budget is null ? null : new ReasoningSettings { Effort = effort, Enabled = enabled, BudgetTokens = budget },
            Stream = stream,
            Source = source,
        };
}

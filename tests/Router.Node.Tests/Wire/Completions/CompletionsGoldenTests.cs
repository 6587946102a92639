using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Completions;
using static Router.Node.Tests.Wire.Responses.WireGolden;

namespace Router.Node.Tests.Wire.Completions;

/// <summary>
/// Table-driven over <c>Wire/Golden/completions/&lt;case&gt;/</c>, as the Responses golden tests: <c>request.json</c>
/// from a client, <c>upstream.json</c>/<c>upstream.sse</c> from OpenAI (the API reference's examples), and what Router
/// must make of them.
/// </summary>
public sealed class CompletionsGoldenTests
{
    private const string Wire = "completions";

    public static TheoryData<string> RequestCases => Cases(Wire, "request.json", "canonical.json");
    public static TheoryData<string> UpstreamCases => Cases(Wire, "upstream.json", "completion.json");
    public static TheoryData<string> ResponseCases => Cases(Wire, "upstream.json", "response.json");
    public static TheoryData<string> StreamCases => Cases(Wire, "request.json", "upstream.json", "stream.sse");
    public static TheoryData<string> UpstreamStreamCases => Cases(Wire, "upstream.sse", "events.json");

    [Theory, MemberData(nameof(RequestCases))]
    public void Parses_client_requests_into_the_canonical_model(string @case)
    {
        var bytes = ReadBytes(Wire, @case, "request.json");

        AssertJson(Wire, @case, "canonical.json", Describe(CompletionsWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes)));
    }

    [Theory, MemberData(nameof(UpstreamCases))]
    public void Reads_upstream_completions_into_the_canonical_model(string @case)
    {
        AssertJson(Wire, @case, "completion.json", Describe(CompletionsWire.ParseCompletion(ReadJson(Wire, @case, "upstream.json"))));
    }

    [Theory, MemberData(nameof(ResponseCases))]
    public void Writes_the_text_completion_a_client_expects(string @case)
    {
        var (id, created, model, completion) = Upstream(@case);

        AssertJson(Wire, @case, "response.json", WriteJson(w => CompletionsWire.WriteCompletion(w, id, created, model, completion)));
    }

    [Theory, MemberData(nameof(StreamCases))]
    public void Streams_the_chunks_a_client_expects(string @case)
    {
        var (id, created, model, completion) = Upstream(@case);
        var bytes = ReadBytes(Wire, @case, "request.json");
        var request = CompletionsWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes);
        var writer = new CompletionsChunkWriter(id, created, model, request.IncludeUsage);
        var output = new ArrayBufferWriter<byte>();

        foreach (var e in StreamOf(completion)) writer.Write(e, output);
        writer.WriteDone(output);

        AssertSse(Wire, @case, "stream.sse", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory, MemberData(nameof(UpstreamStreamCases))]
    public void Reads_upstream_chunks_into_canonical_events(string @case)
    {
        var reader = new CompletionsChunkReader();
        var events = new List<ChatStreamEvent>();

        foreach (var e in ParseSse(Read(Wire, @case, "upstream.sse")))
            if (e.Data != "[DONE]") reader.Read(JsonDocument.Parse(e.Data).RootElement, events);
        events.Add(reader.Finish());

        Assert.True(reader.SawFinishReason);
        AssertJson(Wire, @case, "events.json", Describe(events));
    }

    private static (string Id, long Created, string Model, ChatCompletion Completion) Upstream(string @case)
    {
        var upstream = ReadJson(Wire, @case, "upstream.json");
        return (upstream.GetProperty("id").GetString()!, upstream.GetProperty("created").GetInt64(),
            upstream.GetProperty("model").GetString()!, CompletionsWire.ParseCompletion(upstream));
    }
}

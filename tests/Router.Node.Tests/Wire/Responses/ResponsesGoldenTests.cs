using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Responses;
using static Router.Node.Tests.Wire.Responses.WireGolden;

namespace Router.Node.Tests.Wire.Responses;

/// <summary>
/// Table-driven over <c>Wire/Golden/responses/&lt;case&gt;/</c>: <c>request.json</c> is what a client sends,
/// <c>upstream.json</c>/<c>upstream.sse</c> what OpenAI answers (from the API reference's examples); the other files are
/// what Router must make of them. Adding a case is adding a folder.
/// </summary>
public sealed class ResponsesGoldenTests
{
    private const string Wire = "responses";

    public static TheoryData<string> RequestCases => Cases(Wire, "request.json", "canonical.json");
    public static TheoryData<string> UpstreamCases => Cases(Wire, "upstream.json", "completion.json");
    public static TheoryData<string> ResponseCases => Cases(Wire, "request.json", "upstream.json", "response.json");
    public static TheoryData<string> StreamCases => Cases(Wire, "request.json", "upstream.json", "stream.sse");
    public static TheoryData<string> UpstreamStreamCases => Cases(Wire, "upstream.sse", "events.json");

    [Theory, MemberData(nameof(RequestCases))]
    public void Parses_client_requests_into_the_canonical_model(string @case)
    {
        AssertJson(Wire, @case, "canonical.json", Describe(Request(@case)));
    }

    [Theory, MemberData(nameof(UpstreamCases))]
    public void Reads_upstream_responses_into_the_canonical_model(string @case)
    {
        var completion = ResponsesWire.ParseResponse(ReadJson(Wire, @case, "upstream.json"));

        AssertJson(Wire, @case, "completion.json", Describe(completion));
    }

    [Theory, MemberData(nameof(ResponseCases))]
    public void Writes_the_response_object_a_client_expects(string @case)
    {
        var (id, createdAt, model, completion) = Upstream(@case);

        var json = WriteJson(w => ResponsesWire.WriteResponse(w, id, createdAt, model, completion, Request(@case)));

        AssertJson(Wire, @case, "response.json", json);
    }

    [Theory, MemberData(nameof(StreamCases))]
    public void Streams_the_event_sequence_a_client_expects(string @case)
    {
        var (id, createdAt, model, completion) = Upstream(@case);
        var writer = new ResponsesEventWriter(id, createdAt, model, Request(@case));
        var output = new ArrayBufferWriter<byte>();

        foreach (var e in StreamOf(completion)) writer.Write(e, output);

        AssertSse(Wire, @case, "stream.sse", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory, MemberData(nameof(StreamCases))]
    public void Ends_a_stream_with_the_same_response_the_json_answer_has(string @case)
    {
        var (id, createdAt, model, completion) = Upstream(@case);
        var request = Request(@case);
        var writer = new ResponsesEventWriter(id, createdAt, model, request);
        var output = new ArrayBufferWriter<byte>();

        foreach (var e in StreamOf(completion)) writer.Write(e, output);

        var last = ParseSse(Encoding.UTF8.GetString(output.WrittenSpan))[^1];
        var streamed = JsonDocument.Parse(last.Data).RootElement.GetProperty("response").GetRawText();
        var whole = WriteJson(w => ResponsesWire.WriteResponse(w, id, createdAt, model, completion, request));
        Assert.Equal(Normalize(whole), Normalize(streamed));
    }

    [Theory, MemberData(nameof(UpstreamStreamCases))]
    public void Reads_upstream_streams_into_canonical_events(string @case)
    {
        var reader = new ResponsesEventReader();
        var events = new List<ChatStreamEvent>();

        foreach (var e in ParseSse(Read(Wire, @case, "upstream.sse")))
            reader.Read(e.Event ?? "", JsonDocument.Parse(e.Data).RootElement, events);
        events.Add(reader.Finish());

        Assert.True(reader.Completed);
        AssertJson(Wire, @case, "events.json", Describe(events));
    }

    private static ChatRequest Request(string @case)
    {
        var bytes = ReadBytes(Wire, @case, "request.json");
        return ResponsesWire.ParseRequest(JsonDocument.Parse(bytes).RootElement, bytes);
    }

    private static (string Id, long CreatedAt, string Model, ChatCompletion Completion) Upstream(string @case)
    {
        var upstream = ReadJson(Wire, @case, "upstream.json");
        return (upstream.GetProperty("id").GetString()!, upstream.GetProperty("created_at").GetInt64(),
            upstream.GetProperty("model").GetString()!, ResponsesWire.ParseResponse(upstream));
    }
}

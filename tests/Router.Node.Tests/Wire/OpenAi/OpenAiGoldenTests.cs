using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.OpenAi;
using static Router.Node.Tests.Wire.OpenAi.OpenAiGolden;

namespace Router.Node.Tests.Wire.OpenAi;

/// <summary>
/// Round trips over the files in <c>Wire/Golden/openai</c>: add a case by adding its pair of files.
/// Requests: <c>name.request.json</c> (client) to <c>name.upstream.json</c> (what an OpenAI upstream is sent, model
/// <c>upstream-model</c>). Answers: <c>name.upstream.json</c> to <c>name.client.json</c>. Streams:
/// <c>name.upstream.sse</c> to <c>name.client.sse</c> (client asked for usage).
/// </summary>
public sealed class OpenAiGoldenTests
{
    private const string ClientId = "chatcmpl-router";
    private const long Created = 1700000000;
    private const string ClientModel = "gpt-4o";

    public static TheoryData<string> RequestCases => Cases("requests", ".request.json");
    public static TheoryData<string> CompletionCases => Cases("completions", ".upstream.json");
    public static TheoryData<string> StreamCases => Cases("streams", ".upstream.sse");

    [Theory]
    [MemberData(nameof(RequestCases))]
    public void Client_request_is_sent_upstream_as_the_golden_body(string name)
    {
        var raw = Encoding.UTF8.GetBytes(Read("requests", name + ".request.json"));
        using var doc = JsonDocument.Parse(raw);

        var request = OpenAiChatWire.ParseRequest(doc.RootElement, raw);

        Assert.Empty(request.UnmappedFields);
        Assert.Null(OpenAiChatWire.Unsupported(request));
        var written = Write(w => OpenAiChatWire.WriteRequest(w, request, "upstream-model", request.Stream));
        Assert.Equal(Canonical(Read("requests", name + ".upstream.json")), Canonical(written));
    }

    [Theory]
    [MemberData(nameof(CompletionCases))]
    public void Upstream_answer_reaches_the_client_as_the_golden_body(string name)
    {
        using var doc = JsonDocument.Parse(Read("completions", name + ".upstream.json"));

        var completion = OpenAiChatWire.ParseCompletion(doc.RootElement);

        var written = Write(w => OpenAiChatWire.WriteCompletion(w, ClientId, Created, ClientModel, completion));
        Assert.Equal(Canonical(Read("completions", name + ".client.json")), Canonical(written));
    }

    [Theory]
    [MemberData(nameof(StreamCases))]
    public void Upstream_stream_reaches_the_client_as_the_golden_events(string name)
    {
        var reader = new OpenAiChunkReader();
        var events = new List<ChatStreamEvent>();
        foreach (var data in SseData(Read("streams", name + ".upstream.sse")))
        {
            if (data == "[DONE]") break;
            using var chunk = JsonDocument.Parse(data);
            reader.Read(chunk.RootElement, events);
        }
        Assert.True(reader.SawFinishReason);
        events.Add(reader.Finish());

        var writer = new OpenAiChunkWriter(ClientId, Created, ClientModel, includeUsage: true);
        var output = new ArrayBufferWriter<byte>();
        foreach (var e in events) writer.Write(e, output);
        writer.WriteDone(output);

        var expected = SseData(Read("streams", name + ".client.sse"));
        var actual = SseData(Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            if (expected[i] == "[DONE]") Assert.Equal("[DONE]", actual[i]);
            else Assert.Equal(Canonical(expected[i]), Canonical(actual[i]));
        }
    }
}

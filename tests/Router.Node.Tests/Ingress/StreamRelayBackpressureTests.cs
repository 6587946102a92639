using System.Net;
using Xunit.Abstractions;
using System.Text;
using System.Text.Json.Nodes;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// The SSE relay holds a bounded amount per stream: it awaits each flush to the client before it reads on from
/// the upstream, so a client that stops reading stops the upstream's writes (TCP and Kestrel buffers in between)
/// instead of making the node buffer the rest of the answer.
/// </summary>
public sealed class StreamRelayBackpressureTests(ITestOutputHelper output)
{
    private const int Chunks = 200_000;       // ~200 MB of content: far more than every buffer on the way together
    private const int ChunkChars = 1024;

    /// <summary>
    /// The bound docs/backpressure.md states: loopback TCP buffers on both connections plus Kestrel's 64 KiB response
    /// buffer hold about 6,000 chunks of 1 KiB (3,396 to 7,409 measured on 2 cores); more than 8,000 means something
    /// in the node buffers the answer.
    /// </summary>
    private const int DocumentedBound = 8_000;

    [Fact]
    public async Task A_client_that_stops_reading_stalls_the_upstream_instead_of_filling_the_node()
    {
        await using var upstream = await ControlledUpstream.StartAsync(Chunks, ChunkChars);
        var router = OverloadTests.ConfigFor(upstream);
        router["Retry"] = new JsonObject { ["MaxAttempts"] = 1, ["AttemptTimeoutMs"] = 60_000, ["DeadlineMs"] = 600_000 };
        await using var node = await RouterTestNode.StartAsync(router);
        using var http = new HttpClient { BaseAddress = node.HttpBase, Timeout = Timeout.InfiniteTimeSpan };

        using var request = node.Post("/v1/chat/completions", """{"model":"held","stream":true,"messages":[{"role":"user","content":"a long answer"}]}""");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStreamAsync();

        // 1. The slow reader takes one event, then stops reading.
        var reader = new SseCounter(body);
        await reader.ReadEventsAsync(1);

        // 2. The upstream's writes stall with most of the answer unwritten: nothing between it and the client
        //    buffers without bound.
        var written = await upstream.WaitForStallAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(60));
        output.WriteLine($"upstream stalled after {written} of {Chunks} chunks ({written * ChunkChars / 1024} KiB of content)");
        Assert.InRange(written, 1, DocumentedBound);
        Assert.Equal(0, upstream.StreamsFinished);

        // 3. Reading again releases it: the stall was backpressure, not a failure.
        await reader.ReadEventsAsync((int)written + 1_000);
        await upstream.WaitForChunksAsync(written, TimeSpan.FromSeconds(60));

        // 4. The client leaves; the relay cancels the upstream call instead of draining it: the router closes the
        //    upstream connection mid-answer (a drained answer would end normally and abort nothing).
        response.Dispose();
        await upstream.WaitForStreamAbortAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, upstream.StreamsAborted);
    }

    /// <summary>Reads SSE events (blank-line separated) from a stream, counting them.</summary>
    private sealed class SseCounter(Stream body)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private byte _previous;
        public int Events { get; private set; }

        public async Task ReadEventsAsync(int count)
        {
            var target = Events + count;
            while (Events < target)
            {
                var n = await body.ReadAsync(_buffer);
                if (n == 0) throw new EndOfStreamException($"The stream ended after {Events} events.");
                for (var i = 0; i < n; i++)
                {
                    if (_buffer[i] == (byte)'\n' && _previous == (byte)'\n') Events++;
                    _previous = _buffer[i];
                }
            }
        }
    }
}

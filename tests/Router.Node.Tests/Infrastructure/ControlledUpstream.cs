using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// An OpenAI-compatible upstream whose timing the test controls, for flow-control tests the scripted fake cannot
/// express: plain answers are held until <see cref="Release"/> (so "nothing has completed yet" is a fact, not a
/// race), and streamed answers are long (generated on the fly) with every chunk counted, so a test can see the
/// upstream's send side stall when nobody downstream reads.
/// </summary>
public sealed class ControlledUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private long _inFlight;
    private long _completed;
    private long _received;
    private long _chunksWritten;
    private long _writesPending;
    private long _streamsFinished;
    private long _streamsAborted;

    private ControlledUpstream(WebApplication app) => _app = app;

    public int Port { get; private set; }
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    /// <summary>Content chunks in every streamed answer.</summary>
    public int StreamChunks { get; init; } = 200_000;

    /// <summary>Characters of content in each streamed chunk.</summary>
    public int ChunkChars { get; init; } = 1024;

    /// <summary>Plain (non-stream) requests received and not yet answered.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);
    public long Completed => Interlocked.Read(ref _completed);
    public long Received => Interlocked.Read(ref _received);
    /// <summary>Streamed content chunks whose write (and flush) completed.</summary>
    public long ChunksWritten => Interlocked.Read(ref _chunksWritten);
    /// <summary>Streams written to their end with the connection still open.</summary>
    public long StreamsFinished => Interlocked.Read(ref _streamsFinished);
    /// <summary>Streams whose connection the router closed before the answer ended (Kestrel's RequestAborted).</summary>
    public long StreamsAborted => Interlocked.Read(ref _streamsAborted);
    private bool WritePending => Interlocked.Read(ref _writesPending) > 0;

    public static async Task<ControlledUpstream> StartAsync(int streamChunks = 200_000, int chunkChars = 1024)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var upstream = new ControlledUpstream(app) { StreamChunks = streamChunks, ChunkChars = chunkChars };
        app.MapPost("/v1/chat/completions", upstream.HandleAsync);
        await app.StartAsync();
        upstream.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        return upstream;
    }

    /// <summary>Lets every held plain request (and every later one) be answered.</summary>
    public void Release() => _released.TrySetResult();

    /// <summary>Waits until <paramref name="count"/> plain requests are held at once.</summary>
    public Task WaitForInFlightAsync(long count, TimeSpan timeout) =>
        Until(() => InFlight >= count, timeout, () => $"expected {count} requests in flight, saw {InFlight}");

    /// <summary>Waits until no plain request is held (answered or abandoned by the caller).</summary>
    public Task WaitForIdleAsync(TimeSpan timeout) =>
        Until(() => InFlight == 0, timeout, () => $"expected no requests in flight, saw {InFlight}");

    /// <summary>
    /// Waits until the streaming side is stuck: a write has been pending and no chunk got through for
    /// <paramref name="quiet"/>. Returns the chunks written by then. Throws if the stream ran to its end instead
    /// (nothing pushed back) or nothing stalls within <paramref name="timeout"/>.
    /// </summary>
    public async Task<long> WaitForStallAsync(TimeSpan quiet, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var before = ChunksWritten;
            await Task.Delay(quiet);
            if (StreamsFinished > 0)
                throw new InvalidOperationException($"The upstream wrote its whole stream ({ChunksWritten} chunks): nothing pushed back.");
            if (WritePending && ChunksWritten == before && before > 0) return before;
        }
        throw new TimeoutException($"The upstream never stalled within {timeout}; {ChunksWritten} chunks written.");
    }

    /// <summary>Waits until more than <paramref name="chunks"/> chunks have been written.</summary>
    public Task WaitForChunksAsync(long chunks, TimeSpan timeout) =>
        Until(() => ChunksWritten > chunks, timeout, () => $"expected more than {chunks} chunks written, saw {ChunksWritten}");

    public Task WaitForStreamAbortAsync(TimeSpan timeout) =>
        Until(() => StreamsAborted > 0, timeout, () => "expected the stream to be aborted by the relay");

    private static async Task Until(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(describe());
            await Task.Delay(20);
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _received);
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
        var stream = doc.RootElement.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var model = doc.RootElement.GetProperty("model").GetString() ?? "m";
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        if (stream) await StreamAsync(ctx, model, linked.Token);
        else await AnswerAsync(ctx, model, linked.Token);
    }

    private async Task AnswerAsync(HttpContext ctx, string model, CancellationToken ct)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            await _released.Task.WaitAsync(ct);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync($$$"""
                {"id":"chatcmpl-held","object":"chat.completion","created":0,"model":"{{{model}}}",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"released"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}
                """, ct);
            Interlocked.Increment(ref _completed);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task StreamAsync(HttpContext ctx, string model, CancellationToken ct)
    {
        // Counted when Kestrel says the router closed the connection mid-answer, not when a write throws: once the
        // connection is aborted Kestrel discards writes without an error, and it cancels RequestAborted on the thread
        // pool, so on a loaded machine the loop below may run through the rest of the answer into the void first.
        // Not disposed with the handler: the signal may come after the loop has ended.
        var aborted = 0;
        ctx.RequestAborted.Register(() =>
        {
            if (Interlocked.Exchange(ref aborted, 1) == 0) Interlocked.Increment(ref _streamsAborted);
        });
        ctx.Response.ContentType = "text/event-stream";
        var head = "data: {\"id\":\"chatcmpl-long\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"" + model + "\",\"choices\":[{\"index\":0,";
        var chunk = Encoding.UTF8.GetBytes(head + "\"delta\":{\"content\":\"" + new string('x', ChunkChars) + "\"},\"finish_reason\":null}]}\n\n");
        var tail = head + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        try
        {
            for (var i = 0; i < StreamChunks; i++)
            {
                Interlocked.Increment(ref _writesPending);
                try
                {
                    // Kestrel's write completes only when its 64 KB response buffer has room: a stalled reader stalls us here.
                    await ctx.Response.Body.WriteAsync(chunk, ct);
                    await ctx.Response.Body.FlushAsync(ct);
                }
                finally
                {
                    Interlocked.Decrement(ref _writesPending);
                }
                Interlocked.Increment(ref _chunksWritten);
            }
            await ctx.Response.WriteAsync(tail, ct);
            await ctx.Response.CompleteAsync();
            if (!ctx.RequestAborted.IsCancellationRequested) Interlocked.Increment(ref _streamsFinished);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The registration above counts the abort.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _released.TrySetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

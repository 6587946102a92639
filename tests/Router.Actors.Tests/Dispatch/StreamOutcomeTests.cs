using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using Router.Actors.Breakers;
using Router.Actors.Dispatch;
using Router.Actors.Routing;
using Router.Actors.Upstreams;
using Router.Contracts.Chat;
using Router.Contracts.Errors;

namespace Router.Actors.Tests.Dispatch;

/// <summary>
/// How a committed stream is settled with the breaker (through <see cref="IDispatchObserver"/>) and the provider
/// key: read to its end it is a success, cut by the upstream a failure, and left by the client (disposed before its
/// end) <c>Abandoned</c> — neither, since the deployment did nothing wrong and did not finish either — while the key's
/// slot is given back in every case.
/// </summary>
public sealed class StreamOutcomeTests
{
    private static readonly Deployment Deployment = new("fake/m", "m", "fake", "m-upstream", 1m, 2m, 100_000);
    private static readonly RoutePlan Plan = new("m", new ModelEntry("m", [], 100_000, [Deployment], []), [Deployment], null);
    private static readonly ChatRequest Request = new() { Model = "m", Messages = [] };

    private readonly RecordingObserver _observer = new();
    private readonly ProviderRuntime _provider;
    private readonly Dispatcher _dispatcher;

    public StreamOutcomeTests()
    {
        _provider = new ProviderRuntime("fake", "fake", new StreamingClient(cutAfter: null), [new ProviderKey("k1", "secret")]);
        _dispatcher = Dispatcher(_provider, _observer);
    }

    private static Dispatcher Dispatcher(ProviderRuntime provider, IDispatchObserver observer) => new(
        new Dictionary<string, ProviderRuntime> { ["fake"] = provider }, new BreakerView(),
        new DispatchSettings(new RetrySettings(1, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)),
            TimeSpan.FromMinutes(1)),
        observer, new FakeTimeProvider(), jitter: () => 0);

    [Fact]
    public async Task A_client_that_leaves_mid_stream_is_neither_a_success_nor_a_failure_and_frees_the_key()
    {
        var stream = await _dispatcher.StreamAsync(Request, Plan, 10, CancellationToken.None);
        await using (var events = stream.ReadAllAsync().GetAsyncEnumerator())
        {
            Assert.True(await events.MoveNextAsync());
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(1, _provider.Pool.InFlight("k1"));
        }
        await stream.DisposeAsync();

        Assert.Equal(0, _observer.Successes);
        Assert.Equal(0, _observer.Failures);
        Assert.Equal(0, _provider.Pool.InFlight("k1"));
    }

    [Fact]
    public async Task A_stream_read_to_its_end_is_a_success()
    {
        await using var stream = await _dispatcher.StreamAsync(Request, Plan, 10, CancellationToken.None);
        await foreach (var _ in stream.ReadAllAsync()) { }

        Assert.Equal(1, _observer.Successes);
        Assert.Equal(0, _observer.Failures);
        Assert.Equal(0, _provider.Pool.InFlight("k1"));
    }

    [Fact]
    public async Task A_stream_the_upstream_cuts_after_commit_is_a_failure()
    {
        var observer = new RecordingObserver();
        var provider = new ProviderRuntime("fake", "fake", new StreamingClient(cutAfter: 2), [new ProviderKey("k1", "secret")]);
        await using var stream = await Dispatcher(provider, observer).StreamAsync(Request, Plan, 10, CancellationToken.None);

        await Assert.ThrowsAsync<UpstreamException>(async () => { await foreach (var _ in stream.ReadAllAsync()) { } });

        Assert.Equal(0, observer.Successes);
        Assert.Equal(1, observer.Failures);
        Assert.Equal(0, provider.Pool.InFlight("k1"));
    }

    private sealed class RecordingObserver : IDispatchObserver
    {
        public int Successes;
        public int Failures;

        public void AttemptSucceeded(Deployment deployment, string? providerKeyId, TimeSpan latency) => Interlocked.Increment(ref Successes);

        public void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure) => Interlocked.Increment(ref Failures);

        public void KeyStatusChanged(ProviderKeyStatus status) { }
    }

    /// <summary>Streams five deltas and a finish, or throws a reset after <c>cutAfter</c> deltas.</summary>
    private sealed class StreamingClient(int? cutAfter) : IUpstreamClient
    {
        public bool SupportsEmbeddings => false;

        public bool PassesThrough(ChatRequest request) => false;

        public RouterException? Refuses(ChatRequest request) => null;

        public Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken) =>
            throw new UpstreamException(UpstreamFailureKind.InvalidResponse, "this fake only streams");

        public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var i = 0; i < 5; i++)
            {
                if (i == cutAfter) throw new UpstreamException(UpstreamFailureKind.Reset, "connection reset mid-stream");
                await Task.Yield();
                yield return new ContentDelta("word ");
            }
            yield return new StreamFinished(FinishReason.Stop, new TokenUsage(3, 5));
        }

        public Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken) =>
            throw new UpstreamException(UpstreamFailureKind.InvalidResponse, "this fake only streams");
    }
}

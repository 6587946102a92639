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
/// The attempt loop with real breaker view, key pools and retry policy; only the upstream is scripted, and time is a
/// <see cref="FakeTimeProvider"/> so backoff is asserted to the millisecond without waiting for it.
/// </summary>
public sealed class DispatcherTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly ChatRequest Request = new() { Model = "a", Messages = [new ChatMessage(ChatRole.User, "hi")] };

    private readonly TimerCountingClock _clock = new();
    private readonly BreakerView _breakers = new();
    private readonly RecordingObserver _observer;
    private readonly ScriptedUpstream _upstream;

    public DispatcherTests()
    {
        _upstream = new ScriptedUpstream(_clock);
        _observer = new RecordingObserver(_clock);
    }

    private long Now => _clock.GetElapsedTime(0).Ticks;

    private static Deployment D(string id, string provider = "p", int window = 128_000) => new(id, id, provider, id + "-up", 1m, 1m, window);

    private static RoutePlan Plan(params Deployment[] candidates) =>
        new("a", new ModelEntry("a", [], 128_000, candidates, []), candidates, null);

    private Dispatcher Dispatcher(int maxAttempts = 3, params ProviderRuntime[] providers)
    {
        if (providers.Length == 0) providers = [new ProviderRuntime("p", "test", _upstream, [])];
        var settings = new DispatchSettings(
            new RetrySettings(maxAttempts, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2)),
            AttemptTimeout: TimeSpan.FromMinutes(5));
        return new Dispatcher(providers.ToDictionary(p => p.Name), _breakers, settings, _observer, _clock, jitter: () => 1.0);
    }

    private ProviderRuntime Keyed(params string[] keyIds) =>
        new("p", "test", _upstream, keyIds.Select(k => new ProviderKey(k, "secret-" + k)).ToList());

    private static UpstreamException Fail(UpstreamFailureKind kind, TimeSpan? retryAfter = null) =>
        new(kind, kind.ToString(), retryAfter: retryAfter);

    [Fact]
    public async Task A_deployment_whose_breaker_is_open_is_skipped_without_an_attempt()
    {
        _breakers.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, Now + TimeSpan.FromSeconds(30).Ticks));
        _upstream.Answer("d2");

        var result = await Dispatcher().CompleteAsync(Request, Plan(D("d1"), D("d2")), 10, CancellationToken.None);

        Assert.Equal("d2", result.ServedBy.Deployment.Id);
        Assert.Equal(1, result.ServedBy.Attempts);
        Assert.Equal(["d2"], _upstream.Calls.Select(c => c.DeploymentId));
        Assert.Equal(["ok d2"], _observer.Events);
    }

    [Fact]
    public async Task Every_breaker_open_is_overloaded_with_retry_after_until_the_first_half_open()
    {
        _breakers.Apply(new BreakerSnapshot("d1", BreakerStatus.Open, Now + TimeSpan.FromSeconds(30).Ticks));
        _breakers.Apply(new BreakerSnapshot("d2", BreakerStatus.Open, Now + TimeSpan.FromSeconds(12).Ticks));

        var ex = await Assert.ThrowsAsync<RouterException>(
            () => Dispatcher().CompleteAsync(Request, Plan(D("d1"), D("d2")), 10, CancellationToken.None));

        Assert.Equal(RouterErrorCode.Overloaded, ex.Code);
        Assert.Equal(TimeSpan.FromSeconds(12), ex.RetryAfter);
        Assert.Equal("Every deployment of 'a' is failing and its circuit breaker is open.", ex.Message);
        Assert.Empty(_upstream.Calls);
    }

    [Fact]
    public async Task A_cooling_provider_key_is_passed_over_for_a_rested_one()
    {
        var provider = Keyed("k1", "k2");
        provider.Pool.ReportRateLimited("k1", Now, TimeSpan.FromSeconds(30));
        _upstream.Answer("d1");

        var result = await Dispatcher(3, provider).CompleteAsync(Request, Plan(D("d1")), 10, CancellationToken.None);

        Assert.Equal("k2", result.ServedBy.ProviderKeyId);
        Assert.Equal(["secret-k2"], _upstream.Calls.Select(c => c.ApiKey));
    }

    [Fact]
    public async Task A_429_rests_that_key_and_retries_the_same_deployment_at_once_with_the_next_key()
    {
        var provider = Keyed("k1", "k2");
        _upstream.Fail("d1", Fail(UpstreamFailureKind.RateLimited, TimeSpan.FromSeconds(20)));
        _upstream.Answer("d1");

        var result = await Dispatcher(3, provider).CompleteAsync(Request, Plan(D("d1"), D("d2")), 10, CancellationToken.None);

        Assert.Equal(("d1", "k2", 2), (result.ServedBy.Deployment.Id, result.ServedBy.ProviderKeyId, result.ServedBy.Attempts));
        Assert.Equal([("d1", "secret-k1", TimeSpan.Zero), ("d1", "secret-k2", TimeSpan.Zero)],
            _upstream.Calls.Select(c => (c.DeploymentId, c.ApiKey, c.At)));
        Assert.Equal(["key p/k1 cooling 20s", "failed d1 RateLimited", "ok d1"], _observer.Events);
        Assert.Equal(0, provider.Pool.InFlight("k1"));
        Assert.Equal(0, provider.Pool.InFlight("k2"));
    }

    [Fact]
    public async Task Server_errors_fail_over_through_the_candidates_in_plan_order()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.ServerError));
        _upstream.Fail("d2", Fail(UpstreamFailureKind.Timeout));
        _upstream.Answer("d3");

        var result = await Dispatcher().CompleteAsync(Request, Plan(D("d1"), D("d2"), D("d3")), 10, CancellationToken.None);

        Assert.Equal("d3", result.ServedBy.Deployment.Id);
        Assert.Equal(3, result.ServedBy.Attempts);
        Assert.Equal(["d1", "d2", "d3"], _upstream.Calls.Select(c => c.DeploymentId));
        Assert.Equal(["failed d1 ServerError", "failed d2 Timeout", "ok d3"], _observer.Events);
    }

    [Fact]
    public async Task With_nothing_else_to_try_the_same_deployment_is_retried_after_exponential_backoff()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.ServerError));
        _upstream.Fail("d1", Fail(UpstreamFailureKind.ServerError));
        _upstream.Answer("d1");

        var call = Dispatcher(maxAttempts: 3).CompleteAsync(Request, Plan(D("d1")), 10, CancellationToken.None);
        // Full jitter at 1.0: the first retry waits the base delay (200 ms), the second twice that (400 ms).
        await _clock.WaitForTimers(1);
        _clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Single(_upstream.Calls);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await _clock.WaitForTimers(2);
        _clock.Advance(TimeSpan.FromMilliseconds(399));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await call.WaitAsync(Wait);

        Assert.Equal(3, result.ServedBy.Attempts);
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(600)], _upstream.Calls.Select(c => c.At));
    }

    [Fact]
    public async Task A_providers_retry_after_longer_than_the_backoff_is_honoured()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.RateLimited, TimeSpan.FromSeconds(3)));
        _upstream.Answer("d1");

        var call = Dispatcher().CompleteAsync(Request, Plan(D("d1")), 10, CancellationToken.None);
        await _clock.WaitForTimers(1);
        _clock.Advance(TimeSpan.FromMilliseconds(2_999));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await call.WaitAsync(Wait);

        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(3)], _upstream.Calls.Select(c => c.At));
    }

    [Fact]
    public async Task After_max_attempts_the_client_gets_the_last_upstream_reason_and_the_attempt_count()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.ServerError));
        _upstream.Fail("d2", Fail(UpstreamFailureKind.ServerError));
        _upstream.Fail("d3", Fail(UpstreamFailureKind.ConnectFailure));

        var ex = await Assert.ThrowsAsync<RouterException>(
            () => Dispatcher(maxAttempts: 3).CompleteAsync(Request, Plan(D("d1"), D("d2"), D("d3"), D("d4")), 10, CancellationToken.None));

        Assert.Equal(RouterErrorCode.UpstreamError, ex.Code);
        Assert.Equal("Upstream failed: ConnectFailure (after 3 attempts)", ex.Message);
        Assert.Equal(3, ex.Attempts);
        Assert.Equal(["d1", "d2", "d3"], _upstream.Calls.Select(c => c.DeploymentId));
    }

    [Fact]
    public async Task A_bad_request_is_not_retried_anywhere()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.BadRequest));

        var ex = await Assert.ThrowsAsync<RouterException>(
            () => Dispatcher().CompleteAsync(Request, Plan(D("d1"), D("d2")), 10, CancellationToken.None));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal("BadRequest", ex.Message);
        Assert.Equal(["d1"], _upstream.Calls.Select(c => c.DeploymentId));
    }

    [Fact]
    public async Task A_prompt_too_long_for_one_deployment_skips_to_the_next_larger_window()
    {
        _upstream.Fail("small", Fail(UpstreamFailureKind.ContextLengthExceeded));
        _upstream.Answer("large");

        var result = await Dispatcher().CompleteAsync(
            Request, Plan(D("small", window: 8_000), D("same", window: 8_000), D("large", window: 200_000)), 10, CancellationToken.None);

        Assert.Equal("large", result.ServedBy.Deployment.Id);
        Assert.Equal(["small", "large"], _upstream.Calls.Select(c => c.DeploymentId));
    }

    [Fact]
    public async Task A_client_that_cancels_mid_call_leaves_no_breaker_outcome_and_frees_key_and_slot()
    {
        var provider = Keyed("k1");
        var limiter = new DeploymentLimiter();
        _upstream.Hang("d1");
        using var client = new CancellationTokenSource();
        var dispatcher = new Dispatcher(new Dictionary<string, ProviderRuntime> { ["p"] = provider }, _breakers,
            new DispatchSettings(RetrySettings.Default, TimeSpan.FromMinutes(5)), _observer, _clock, limiter, () => 1.0);

        var call = dispatcher.CompleteAsync(Request, Plan(D("d1"), D("d2")), 10, client.Token);
        await _upstream.WaitForCalls(1);
        Assert.Equal(1, provider.Pool.InFlight("k1"));
        Assert.Equal(1, limiter.InFlight("d1"));
        await client.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Wait));
        Assert.Empty(_observer.Events);
        Assert.Equal(0, provider.Pool.InFlight("k1"));
        Assert.Equal(0, limiter.InFlight("d1"));
        Assert.Equal(["d1"], _upstream.Calls.Select(c => c.DeploymentId));
    }

    [Fact]
    public async Task A_stream_the_client_leaves_early_is_settled_abandoned_neither_success_nor_failure()
    {
        var provider = Keyed("k1");
        _upstream.Stream("d1", new ContentDelta("Hel"), new ContentDelta("lo"), new StreamFinished(FinishReason.Stop, new TokenUsage(3, 2)));

        var stream = await Dispatcher(3, provider).StreamAsync(Request, Plan(D("d1")), 10, CancellationToken.None);
        await using (var events = stream.ReadAllAsync().GetAsyncEnumerator())
        {
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(new ContentDelta("Hel"), events.Current);
        }
        await stream.DisposeAsync();

        Assert.Empty(_observer.Events);
        Assert.Equal(0, provider.Pool.InFlight("k1"));
    }

    [Fact]
    public async Task A_stream_read_to_its_end_is_a_success_and_one_cut_before_its_end_a_failure()
    {
        _upstream.Stream("d1", new StreamStarted("up-1"), new ContentDelta("Hi"), new StreamFinished(FinishReason.Stop, new TokenUsage(3, 1)));
        _upstream.Stream("d2", new ContentDelta("Hi"));

        var whole = await Dispatcher().StreamAsync(Request, Plan(D("d1")), 10, CancellationToken.None);
        var read = new List<ChatStreamEvent>();
        await foreach (var e in whole.ReadAllAsync()) read.Add(e);
        await whole.DisposeAsync();
        var cut = await Dispatcher().StreamAsync(Request, Plan(D("d2")), 10, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<UpstreamException>(async () => { await foreach (var _ in cut.ReadAllAsync()) { } });
        await cut.DisposeAsync();

        Assert.Equal("up-1", whole.UpstreamId);
        Assert.Equal([new ContentDelta("Hi"), new StreamFinished(FinishReason.Stop, new TokenUsage(3, 1))], read);
        Assert.Equal(UpstreamFailureKind.Reset, ex.Kind);
        Assert.Equal(["ok d1", "failed d2 Reset"], _observer.Events);
    }

    [Fact]
    public async Task A_stream_that_fails_before_its_first_token_falls_back()
    {
        _upstream.Fail("d1", Fail(UpstreamFailureKind.Overloaded));
        _upstream.Stream("d2", new ContentDelta("Hi"), new StreamFinished(FinishReason.Stop, null));

        var stream = await Dispatcher().StreamAsync(Request, Plan(D("d1"), D("d2")), 10, CancellationToken.None);
        await stream.DisposeAsync();

        Assert.Equal("d2", stream.ServedBy.Deployment.Id);
        Assert.Equal(2, stream.ServedBy.Attempts);
    }

    /// <summary>Counts the timers dispatch creates (its backoff waits), so a test advances time only once a wait is armed.</summary>
    private sealed class TimerCountingClock : FakeTimeProvider
    {
        private readonly SemaphoreSlim _created = new(0);
        private int _count;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _count);
            _created.Release();
            return timer;
        }

        public async Task WaitForTimers(int count)
        {
            while (Volatile.Read(ref _count) < count)
                Assert.True(await _created.WaitAsync(Wait), $"expected {count} backoff waits, got {_count}");
        }
    }

    private sealed class RecordingObserver(TimeProvider clock) : IDispatchObserver
    {
        private readonly List<string> _events = [];

        public IReadOnlyList<string> Events { get { lock (_events) return _events.ToList(); } }

        public void AttemptSucceeded(Deployment deployment, string? providerKeyId, TimeSpan latency)
        {
            lock (_events) _events.Add("ok " + deployment.Id);
        }

        public void AttemptFailed(Deployment deployment, string? providerKeyId, UpstreamException failure)
        {
            lock (_events) _events.Add($"failed {deployment.Id} {failure.Kind}");
        }

        public void KeyStatusChanged(ProviderKeyStatus status)
        {
            lock (_events) _events.Add($"key {status.Provider}/{status.KeyId} cooling {status.CooldownRemaining(clock.GetElapsedTime(0).Ticks)?.TotalSeconds:0.###}s");
        }
    }

    /// <summary>An upstream that plays, per deployment, a queue of outcomes; records each call with the fake time it arrived.</summary>
    private sealed class ScriptedUpstream(FakeTimeProvider clock) : IUpstreamClient
    {
        private readonly long _origin = clock.GetTimestamp();
        private readonly Dictionary<string, Queue<Func<UpstreamCall, CancellationToken, IAsyncEnumerable<ChatStreamEvent>>>> _scripts = [];
        private readonly List<(string DeploymentId, string? ApiKey, TimeSpan At)> _calls = [];
        private readonly SemaphoreSlim _called = new(0);

        public IReadOnlyList<(string DeploymentId, string? ApiKey, TimeSpan At)> Calls { get { lock (_calls) return _calls.ToList(); } }

        public void Answer(string deployment) =>
            Enqueue(deployment, (_, _) => Events(new ContentDelta("answer from " + deployment), new StreamFinished(FinishReason.Stop, new TokenUsage(5, 3))));

        public void Fail(string deployment, UpstreamException failure) => Enqueue(deployment, (_, _) => Throw(failure));

        public void Stream(string deployment, params ChatStreamEvent[] events) => Enqueue(deployment, (_, _) => Events(events));

        public void Hang(string deployment) => Enqueue(deployment, (_, ct) => Forever(ct));

        public async Task WaitForCalls(int count)
        {
            while (Calls.Count < count)
                Assert.True(await _called.WaitAsync(Wait), $"expected {count} upstream calls, got {Calls.Count}");
        }

        private void Enqueue(string deployment, Func<UpstreamCall, CancellationToken, IAsyncEnumerable<ChatStreamEvent>> step)
        {
            if (!_scripts.TryGetValue(deployment, out var queue)) _scripts[deployment] = queue = new();
            queue.Enqueue(step);
        }

        private IAsyncEnumerable<ChatStreamEvent> Next(UpstreamCall call, CancellationToken ct)
        {
            lock (_calls) _calls.Add((call.DeploymentId, call.ApiKey, clock.GetElapsedTime(_origin)));
            _called.Release();
            Func<UpstreamCall, CancellationToken, IAsyncEnumerable<ChatStreamEvent>> step;
            lock (_scripts) step = _scripts[call.DeploymentId].Dequeue();
            return step(call, ct);
        }

        public bool PassesThrough(ChatRequest request) => false;

        public bool SupportsEmbeddings => false;

        public RouterException? Refuses(ChatRequest request) => null;

        public async Task<ChatCompletion> CompleteAsync(UpstreamCall call, CancellationToken cancellationToken)
        {
            var text = "";
            await foreach (var e in Next(call, cancellationToken).WithCancellation(cancellationToken))
            {
                if (e is ContentDelta d) text += d.Text;
                if (e is StreamFinished f) return new ChatCompletion("c-" + call.DeploymentId, call.UpstreamModel, text, f.Reason, f.Usage ?? default);
            }
            throw new UpstreamException(UpstreamFailureKind.Reset, "ended early");
        }

        public async IAsyncEnumerable<ChatStreamEvent> StreamAsync(UpstreamCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var e in Next(call, cancellationToken).WithCancellation(cancellationToken)) yield return e;
        }

        public Task<EmbeddingResult> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("This scripted upstream serves chat only.");

        private static async IAsyncEnumerable<ChatStreamEvent> Events(params ChatStreamEvent[] events)
        {
            await Task.CompletedTask;
            foreach (var e in events) yield return e;
        }

        private static async IAsyncEnumerable<ChatStreamEvent> Throw(UpstreamException failure)
        {
            await Task.CompletedTask;
            throw failure;
#pragma warning disable CS0162 // the iterator needs a yield to be one
            yield break;
#pragma warning restore CS0162
        }

        private static async IAsyncEnumerable<ChatStreamEvent> Forever([EnumeratorCancellation] CancellationToken ct)
        {
            await Task.Delay(Timeout.Infinite, ct);
            yield break;
        }
    }
}

using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Router.Contracts.Breakers;

namespace Router.Actors.Breakers;

/// <summary>
/// The one owner, cluster-wide, of a deployment's <see cref="CircuitBreakerState"/> (sharded by deployment id), so
/// failures seen by every node count towards one breaker. Outcomes are told to it; each state change is published
/// on <see cref="BreakerEvents.Topic"/> for every node's <see cref="BreakerView"/>, which is what the hot path reads.
/// </summary>
/// <remarks>
/// <para>Not persistent: a breaker that forgets on restart or hand-off starts Closed, which at worst lets a few
/// requests reach a failing deployment before it opens again. Nodes' views keep a published Open until its due
/// time anyway.</para>
/// <para>Outcomes carry no permit, and the hot path admits trial requests from the view without asking, so every
/// outcome reported while HalfOpen is taken as a trial's verdict: the first success closes the breaker, a failure
/// re-opens it. An outcome arriving while Open belongs to a request admitted before it opened and is ignored.</para>
/// <para>Passivates itself when idle while Closed with no failures counted; it keeps any other state in memory.
/// Disable the shard region's own idle passivation for this entity type (it would forget an Open breaker).</para>
/// </remarks>
public sealed class ModelBreakerActor : ReceiveActor, IWithTimers
{
    /// <summary>The shard region's type name.</summary>
    public const string TypeName = "model-breaker";

    /// <summary>How long a quiet, healthy breaker stays in memory by default.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(2);

    private const string HalfOpenTimerKey = "half-open";

    private readonly string _deploymentId;
    private readonly CircuitBreakerState _state;
    private readonly TimeProvider _clock;
    private readonly IActorRef _mediator;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _lastFailureKind;
    // Whether this incarnation has published its state yet (see the success case in Closed()).
    private bool _announced;

    public ModelBreakerActor(string deploymentId, BreakerSettings settings, TimeProvider clock, TimeSpan idleTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(deploymentId);
        ArgumentNullException.ThrowIfNull(clock);
        _deploymentId = deploymentId;
        _state = new CircuitBreakerState(settings);
        _clock = clock;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;
        Context.SetReceiveTimeout(idleTimeout);
        Closed();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for the entity of <paramref name="deploymentId"/>; the clock must be monotonic (tests pass a fake one).</summary>
    public static Props Props(string deploymentId, BreakerSettings settings, TimeProvider clock, TimeSpan? idleTimeout = null)
    {
        var idle = idleTimeout ?? DefaultIdleTimeout;
        return Akka.Actor.Props.Create(() => new ModelBreakerActor(deploymentId, settings, clock, idle));
    }

    // TimeSpan ticks on a monotonic clock, as CircuitBreakerState expects.
    private long Now => _clock.GetElapsedTime(0).Ticks;

    private void Closed()
    {
        Receive<BreakerCommands.ReportOutcome>(m =>
        {
            var now = Now;
            if (m.Success)
            {
                _state.OnSuccess(now);
                // Successes are told only by nodes whose view does not show this breaker Closed (or that told a
                // failure since). An incarnation that never published (its predecessor was lost with its node)
                // says Closed once, or those views would keep a stale Open and tell every success forever.
                if (!_announced) Announce(now);
                return;
            }

            _lastFailureKind = m.FailureKind;
            Apply(_state.OnFailure(now), now);
        });
        Receive<ReceiveTimeout>(_ =>
        {
            // Only a breaker with nothing to remember may be forgotten.
            if (_state.ConsecutiveFailures == 0)
            {
                Context.Parent.Tell(new Passivate(PoisonPill.Instance));
            }
        });
        ReceiveGetState();
    }

    private void Open()
    {
        Receive<HalfOpenTick>(_ =>
        {
            var now = Now;
            var transition = _state.Advance(now);
            if (transition is null)
            {
                // The scheduler fired before the breaker's clock reached the due time: wait for the rest.
                ArmHalfOpenTimer(now);
                return;
            }

            Apply(transition, now);
        });
        Receive<BreakerCommands.ReportOutcome>(m =>
        {
            var now = Now;
            if (_state.Advance(now) is { } transition)
            {
                // The timer is late and the first trial's verdict is already here.
                Apply(transition, now);
                OnTrialOutcome(m, now);
                return;
            }

            if (!m.Success)
            {
                // Only stamps the failure time (for display); it does not extend the open period.
                _lastFailureKind = m.FailureKind;
                _state.OnFailure(now);
            }
        });
        Receive<ReceiveTimeout>(_ => { });
        ReceiveGetState();
    }

    private void HalfOpen()
    {
        Receive<BreakerCommands.ReportOutcome>(m => OnTrialOutcome(m, Now));
        Receive<ReceiveTimeout>(_ => { });
        ReceiveGetState();
    }

    private void ReceiveGetState() =>
        Receive<BreakerCommands.GetState>(_ =>
        {
            var now = Now;
            Apply(_state.Advance(now), now);
            Sender.Tell(Describe(now));
        });

    private void OnTrialOutcome(BreakerCommands.ReportOutcome outcome, long now)
    {
        // The view admitted this request without a permit from us: take one so the state machine counts it as a trial.
        _state.TryAcquire(now);
        if (!outcome.Success)
        {
            _lastFailureKind = outcome.FailureKind;
        }

        Apply(outcome.Success ? _state.OnSuccess(now) : _state.OnFailure(now), now);
    }

    private void Apply(BreakerTransition? transition, long now)
    {
        if (transition is null)
        {
            return;
        }

        switch (transition.To)
        {
            case BreakerStatus.Open:
                _log.Warning("Breaker {DeploymentId} opened (from {From}, last failure: {FailureKind})", _deploymentId, transition.From, _lastFailureKind ?? "unknown");
                ArmHalfOpenTimer(now);
                Become(Open);
                break;
            case BreakerStatus.HalfOpen:
                _log.Info("Breaker {DeploymentId} half-open: admitting trial requests", _deploymentId);
                Timers.Cancel(HalfOpenTimerKey);
                Become(HalfOpen);
                break;
            default:
                _log.Info("Breaker {DeploymentId} closed", _deploymentId);
                Timers.Cancel(HalfOpenTimerKey);
                Become(Closed);
                break;
        }

        Announce(now);
    }

    private void Announce(long now)
    {
        _announced = true;
        _mediator.Tell(new Publish(BreakerEvents.Topic, Describe(now)));
    }

    private void ArmHalfOpenTimer(long now)
    {
        // Computed from the state's own due time, so the delay follows whatever clock the breaker was given.
        var remaining = (_state.HalfOpenAtTicks ?? now) - now;
        Timers.StartSingleTimer(HalfOpenTimerKey, HalfOpenTick.Instance, TimeSpan.FromTicks(Math.Max(remaining, TimeSpan.TicksPerMillisecond)));
    }

    private BreakerEvents.StateChanged Describe(long now)
    {
        var remaining = _state.Snapshot(_deploymentId).RemainingOpen(now);
        long? lastFailureUnixMs = _state.LastFailureTicks is { } at
            ? (_clock.GetUtcNow() - TimeSpan.FromTicks(now - at)).ToUnixTimeMilliseconds()
            : null;
        return new BreakerEvents.StateChanged(
            _deploymentId,
            _state.State.ToString(),
            // Rounded up: a breaker with a fraction of a millisecond left must not read as due on arrival.
            remaining is { } r ? (long)Math.Ceiling(r.TotalMilliseconds) : null,
            lastFailureUnixMs,
            _state.ConsecutiveFailures);
    }

    /// <summary>The open period may be over: time to admit trial requests.</summary>
    private sealed class HalfOpenTick
    {
        public static readonly HalfOpenTick Instance = new();

        private HalfOpenTick()
        {
        }
    }
}

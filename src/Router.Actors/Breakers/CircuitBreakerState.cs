namespace Router.Actors.Breakers;

/// <summary>
/// The breaker of one deployment as a pure state machine, so its rules are tested without actors or clocks.
/// Time is passed in as TimeSpan ticks (100 ns) from any fixed origin; from a <see cref="TimeProvider"/> use
/// <c>provider.GetElapsedTime(0).Ticks</c> (monotonic), not wall-clock time.
/// </summary>
/// <remarks>
/// <para>Closed → Open after <see cref="BreakerSettings.FailureThreshold"/> consecutive failures. Open → HalfOpen
/// lazily, on the first <see cref="TryAcquire(long, out BreakerTransition?)"/> or <see cref="Advance"/> at or
/// after <see cref="HalfOpenAtTicks"/>. HalfOpen admits at most <see cref="BreakerSettings.HalfOpenProbes"/>
/// trial requests at once.</para>
/// <para>The FIRST successful probe closes the breaker: one good answer shows the deployment serves again, and
/// waiting for every probe would keep traffic away for the slowest probe's full latency. Any probe failure
/// re-opens it for a fresh <see cref="BreakerSettings.OpenDuration"/>.</para>
/// <para>Outcomes are anonymous (no permit token), so an outcome arriving while Open, or while HalfOpen with no
/// probe in flight, is treated as belonging to a request admitted before the breaker opened and is ignored: it
/// neither extends the open period nor closes the breaker. Outcomes of remote requests travel by tell and can be
/// lost, so a probe permit not returned within <see cref="BreakerSettings.OpenDuration"/> is reclaimed; otherwise
/// one lost message would leave the breaker half-open forever.</para>
/// Not thread-safe: one owner (the deployment's breaker actor) drives it.
/// </remarks>
public sealed class CircuitBreakerState
{
    private readonly BreakerSettings _settings;
    // Start times of probes in flight, oldest first (calls arrive with non-decreasing ticks).
    private readonly Queue<long> _probes = new();
    private int _consecutiveFailures;

    public CircuitBreakerState(BreakerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
    }

    /// <summary>The state as of the last call; an Open breaker past its due time still reads Open until a call passes that time (see <see cref="StateAt"/>).</summary>
    public BreakerStatus State { get; private set; } = BreakerStatus.Closed;

    public BreakerSettings Settings => _settings;

    /// <summary>Failures counted towards opening since the last success while Closed.</summary>
    public int ConsecutiveFailures => _consecutiveFailures;

    /// <summary>When the breaker last opened; null while it has never opened or after it closed again.</summary>
    public long? OpenedAtTicks { get; private set; }

    /// <summary>When Open: the time from which trial requests are admitted (for display and for the view).</summary>
    public long? HalfOpenAtTicks => State == BreakerStatus.Open ? OpenedAtTicks + _settings.OpenDuration.Ticks : null;

    /// <summary>The time of the last reported failure, in any state.</summary>
    public long? LastFailureTicks { get; private set; }

    /// <summary>Trial requests admitted and not yet reported while HalfOpen.</summary>
    public int ProbesInFlight => _probes.Count;

    /// <summary>The state a call at <paramref name="nowTicks"/> would see, without changing anything.</summary>
    public BreakerStatus StateAt(long nowTicks) =>
        State == BreakerStatus.Open && nowTicks >= HalfOpenAtTicks ? BreakerStatus.HalfOpen : State;

    /// <summary>Performs the lazy Open → HalfOpen move if the open period has ended (the actor's half-open timer calls this).</summary>
    public BreakerTransition? Advance(long nowTicks)
    {
        if (State != BreakerStatus.Open || nowTicks < HalfOpenAtTicks)
        {
            return null;
        }

        _probes.Clear();
        return MoveTo(BreakerStatus.HalfOpen, nowTicks);
    }

    /// <summary>Asks to send one request: Closed always yes, Open no, HalfOpen while trial permits remain.</summary>
    /// <remarks>Discards any transition caused by the lazy Open → HalfOpen move; owners that publish transitions use the other overload.</remarks>
    public bool TryAcquire(long nowTicks) => TryAcquire(nowTicks, out _);

    /// <summary>Asks to send one request and reports the state change the question itself caused, if any.</summary>
    public bool TryAcquire(long nowTicks, out BreakerTransition? transition)
    {
        transition = Advance(nowTicks);
        switch (State)
        {
            case BreakerStatus.Closed:
                return true;
            case BreakerStatus.HalfOpen:
                ReclaimLostProbes(nowTicks);
                if (_probes.Count >= _settings.HalfOpenProbes)
                {
                    return false;
                }

                _probes.Enqueue(nowTicks);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Records a successful request; closes a half-open breaker.</summary>
    public BreakerTransition? OnSuccess(long nowTicks)
    {
        switch (State)
        {
            case BreakerStatus.Closed:
                _consecutiveFailures = 0;
                return null;
            case BreakerStatus.HalfOpen when _probes.Count > 0:
                _probes.Clear();
                _consecutiveFailures = 0;
                OpenedAtTicks = null;
                return MoveTo(BreakerStatus.Closed, nowTicks);
            default:
                return null;
        }
    }

    /// <summary>Records a failed request; opens a closed breaker at the threshold and re-opens a half-open one.</summary>
    public BreakerTransition? OnFailure(long nowTicks)
    {
        LastFailureTicks = nowTicks;
        switch (State)
        {
            case BreakerStatus.Closed:
                _consecutiveFailures++;
                return _consecutiveFailures >= _settings.FailureThreshold ? Open(nowTicks) : null;
            case BreakerStatus.HalfOpen when _probes.Count > 0:
                return Open(nowTicks);
            default:
                return null;
        }
    }

    /// <summary>A request ended without a verdict on the deployment (client cancelled): returns its trial permit, if any.</summary>
    public void OnAbandoned(long nowTicks)
    {
        if (State == BreakerStatus.HalfOpen && _probes.Count > 0)
        {
            _probes.Dequeue();
        }
    }

    /// <summary>The read-only picture published to every node's <see cref="BreakerView"/>.</summary>
    public BreakerSnapshot Snapshot(string deploymentId) => new(deploymentId, State, HalfOpenAtTicks);

    private BreakerTransition Open(long nowTicks)
    {
        _probes.Clear();
        _consecutiveFailures = 0;
        OpenedAtTicks = nowTicks;
        return MoveTo(BreakerStatus.Open, nowTicks);
    }

    private BreakerTransition MoveTo(BreakerStatus to, long nowTicks)
    {
        var from = State;
        State = to;
        return new BreakerTransition(from, to, nowTicks, HalfOpenAtTicks);
    }

    private void ReclaimLostProbes(long nowTicks)
    {
        var timeout = _settings.OpenDuration.Ticks;
        while (_probes.Count > 0 && nowTicks - _probes.Peek() >= timeout)
        {
            _probes.Dequeue();
        }
    }
}

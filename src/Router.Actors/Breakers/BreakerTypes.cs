namespace Router.Actors.Breakers;

/// <summary>Where a deployment's breaker stands; the hot path only cares whether it is open and not yet due.</summary>
public enum BreakerStatus
{
    /// <summary>Traffic flows; consecutive failures are counted.</summary>
    Closed,
    /// <summary>Traffic is refused until the open period ends.</summary>
    Open,
    /// <summary>A few trial requests decide whether to close again or re-open.</summary>
    HalfOpen,
}

/// <summary>
/// Breaker tuning, bound from <c>Router:Breaker</c>. Kept separate from the state so every deployment's
/// breaker on every node shares one validated instance.
/// </summary>
/// <param name="FailureThreshold">Consecutive failures that open a closed breaker.</param>
/// <param name="OpenDuration">How long an opened breaker refuses traffic before admitting trial requests.</param>
/// <param name="HalfOpenProbes">Trial requests allowed in flight at once while half-open.</param>
public sealed record BreakerSettings(int FailureThreshold, TimeSpan OpenDuration, int HalfOpenProbes)
{
    /// <summary>The defaults documented in the configuration contract (5 failures, 30 s, 2 probes).</summary>
    public static BreakerSettings Default { get; } = new(5, TimeSpan.FromSeconds(30), 2);

    /// <summary>Throws on values that would make the breaker never open or never recover.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(FailureThreshold, 1, nameof(FailureThreshold));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(OpenDuration, TimeSpan.Zero, nameof(OpenDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(HalfOpenProbes, 1, nameof(HalfOpenProbes));
    }
}

/// <summary>
/// A change of breaker state, returned by the call that caused it so the owning actor can switch behaviour
/// and publish it cluster-wide without polling.
/// </summary>
/// <param name="From">State before the call.</param>
/// <param name="To">State after the call.</param>
/// <param name="AtTicks">The <c>nowTicks</c> of the call that caused the change.</param>
/// <param name="HalfOpenAtTicks">When <paramref name="To"/> is Open: when trial requests will be admitted.</param>
public sealed record BreakerTransition(BreakerStatus From, BreakerStatus To, long AtTicks, long? HalfOpenAtTicks);

/// <summary>
/// What a node needs to know about one deployment's breaker to route without asking anyone. Ticks are in the
/// holder's own clock: a snapshot crossing nodes travels as a remaining duration (see <see cref="RemainingOpen"/>
/// and <see cref="FromRemaining"/>) because monotonic clocks of two machines share no origin.
/// </summary>
/// <param name="DeploymentId">The deployment the breaker guards.</param>
/// <param name="State">The breaker's state when the snapshot was taken.</param>
/// <param name="HalfOpenAtTicks">When Open: the local time from which trial requests are admitted.</param>
public sealed record BreakerSnapshot(string DeploymentId, BreakerStatus State, long? HalfOpenAtTicks)
{
    /// <summary>Time left until an open breaker admits trial requests; null unless Open.</summary>
    public TimeSpan? RemainingOpen(long nowTicks) =>
        State == BreakerStatus.Open && HalfOpenAtTicks is { } due
            ? TimeSpan.FromTicks(Math.Max(0, due - nowTicks))
            : null;

    /// <summary>Rebuilds a snapshot received from another node on this node's clock.</summary>
    public static BreakerSnapshot FromRemaining(string deploymentId, BreakerStatus state, TimeSpan? remainingOpen, long localNowTicks) =>
        new(deploymentId, state,
            state == BreakerStatus.Open ? localNowTicks + Math.Max(0, (remainingOpen ?? TimeSpan.Zero).Ticks) : null);
}

namespace Router.Actors.RateLimiting;

/// <summary>Tuning for <see cref="ApiKeyActor"/>; the defaults suit production.</summary>
public sealed record ApiKeyActorSettings
{
    public static readonly ApiKeyActorSettings Default = new();

    /// <summary>Take a snapshot (and drop older snapshots and events) after this many persisted events.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>Persist accumulated spend after this many completions, whichever comes first with the interval.</summary>
    public int FlushEveryCompletions { get; init; } = 100;

    /// <summary>
    /// Longest time spend stays only in memory. A crash loses at most this window's spend (a budget can be
    /// overshot by it); shorter means more journal writes under load.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Passivate after this long without messages (never while requests are in flight).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// An admitted request whose Complete/Abort never arrives (its node died) releases its concurrency slot
    /// after this long. Longer than the longest legitimate request.
    /// </summary>
    public TimeSpan InFlightLease { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Upper bound on the final flush and snapshot before stopping, so a stuck store cannot block hand-off.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

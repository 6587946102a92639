using Akka.Actor;
using Akka.Pattern;

namespace Router.Actors;

/// <summary>
/// How the node-local long-lived actors are supervised (docs/operations.md, Supervision): each runs under a
/// <see cref="BackoffSupervisor"/> that restarts it after a failure with an exponential, jittered delay, so an
/// actor whose dependency is down (the journal behind the resume sweep, the pub-sub mediator) retries slowly
/// instead of failing in a tight restart loop. The supervisor forwards every message to the current child, so
/// it is what the actor registry holds.
/// </summary>
public static class SupervisionHosting
{
    public static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <paramref name="child"/> under a backoff supervisor that restarts it on any exception (OnFailure), after
    /// <paramref name="minBackoff"/> doubling up to <paramref name="maxBackoff"/> (plus up to 20 % jitter); the delay
    /// returns to the minimum once the child has run that long without failing.
    /// </summary>
    public static Props WithBackoffOnFailure(this Props child, string childName, TimeSpan? minBackoff = null, TimeSpan? maxBackoff = null)
    {
        var min = minBackoff ?? MinBackoff;
        return BackoffSupervisor.Props(
            Backoff.OnFailure(child, childName, min, maxBackoff ?? MaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)
                .WithAutoReset(min));
    }
}

using Router.Contracts.Serialization;
namespace Router.Contracts.Breakers;

/// <summary>What breaker entities publish so every node's local breaker view stays current without asking.</summary>
public static class BreakerEvents
{
    /// <summary>The distributed pub-sub topic every node's breaker view subscribes to.</summary>
    public const string Topic = "router.breakers";

    /// <summary>
    /// A breaker's state after a change (also the reply to <see cref="BreakerCommands.GetState"/>). Durations
    /// travel as remaining milliseconds because monotonic clocks of two machines share no origin; the one
    /// wall-clock field is for display.
    /// </summary>
    /// <param name="DeploymentId">The deployment the breaker guards.</param>
    /// <param name="Status">"Closed", "Open" or "HalfOpen".</param>
    /// <param name="RemainingOpenMs">When Open: milliseconds until trial requests are admitted, measured when sent.</param>
    /// <param name="LastFailureUnixMs">Wall-clock time of the last reported failure, for display; null if none.</param>
    /// <param name="ConsecutiveFailures">Failures counted towards opening (Closed only; reset when it opens).</param>
    public sealed record StateChanged(
        string DeploymentId,
        string Status,
        long? RemainingOpenMs,
        long? LastFailureUnixMs,
        int ConsecutiveFailures) : IRouterMessage;
}

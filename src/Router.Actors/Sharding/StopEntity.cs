using Akka.Actor;

namespace Router.Actors.Sharding;

/// <summary>
/// The hand-off stop message of every shard region (<c>ShardOptions.HandOffStopMessage</c>) and what an idle
/// entity asks its shard for with <c>Passivate</c>. Each entity finishes its own work on it (the API key flushes
/// spend and snapshots its buckets, a batch job stops its items in flight) and then stops itself; PoisonPill would
/// skip that. Local to a node, so never serialized.
/// </summary>
public sealed class StopEntity : INoSerializationVerificationNeeded
{
    public static readonly StopEntity Instance = new();

    private StopEntity()
    {
    }
}

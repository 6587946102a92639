using Router.Contracts.Batches;
using Router.Contracts.Breakers;
using Router.Contracts.RateLimiting;

namespace Router.Contracts.Serialization;

/// <summary>
/// The wire and storage name of every <see cref="IRouterMessage"/> type. A manifest is stored with each event
/// and snapshot, so once released it never changes and is never reused; types may be renamed or moved freely.
/// To add a message: one line here, a round-trip test, done.
/// </summary>
public static class RouterManifests
{
    public static readonly IReadOnlyList<(string Manifest, Type Type)> All =
    [
        // RateLimiting: commands and replies
        ("ak.up", typeof(ApiKeyCommands.Upsert)),
        ("ak.rv", typeof(ApiKeyCommands.Revoke)),
        ("ak.ad", typeof(ApiKeyCommands.Admit)),
        ("ak.co", typeof(ApiKeyCommands.Complete)),
        ("ak.ab", typeof(ApiKeyCommands.Abort)),
        ("ak.gs", typeof(ApiKeyCommands.GetState)),
        ("ak.ar", typeof(ApiKeyCommands.AdmitResult)),
        ("ak.ks", typeof(ApiKeyCommands.KeyState)),
        // RateLimiting: persisted events and snapshot
        ("ak.e.up", typeof(ApiKeyEvents.KeyUpserted)),
        ("ak.e.rv", typeof(ApiKeyEvents.KeyRevoked)),
        ("ak.e.sp", typeof(ApiKeyEvents.SpendRecorded)),
        ("ak.s", typeof(ApiKeyEvents.ApiKeySnapshot)),
        // Breakers and provider keys
        ("br.ro", typeof(BreakerCommands.ReportOutcome)),
        ("br.gs", typeof(BreakerCommands.GetState)),
        ("br.sc", typeof(BreakerEvents.StateChanged)),
        ("pk.sc", typeof(ProviderKeyEvents.StatusChanged)),
        // Batch jobs: commands, replies, persisted events and snapshot
        ("bt.cr", typeof(BatchCommands.Create)),
        ("bt.gs", typeof(BatchCommands.GetStatus)),
        ("bt.ca", typeof(BatchCommands.Cancel)),
        ("bt.rs", typeof(BatchCommands.Resume)),
        ("bt.rd", typeof(BatchCommands.Resumed)),
        ("bt.st", typeof(BatchCommands.BatchStatus)),
        ("bt.e.cr", typeof(BatchEvents.BatchCreated)),
        ("bt.e.ic", typeof(BatchEvents.ItemCompleted)),
        ("bt.e.ca", typeof(BatchEvents.BatchCancelled)),
        ("bt.e.fi", typeof(BatchEvents.BatchFinished)),
        ("bt.s", typeof(BatchEvents.BatchSnapshot)),
    ];
}

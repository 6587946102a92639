namespace Router.Actors.Batches;

/// <summary>How a batch job runs its items.</summary>
/// <param name="Parallelism">Items of one job in flight at once: low, so batches never crowd out interactive traffic.</param>
/// <param name="PersistGroupSize">Item results written to the journal in one PersistAll; also bounds the work a crash can repeat.</param>
/// <param name="PersistGroupWindow">Longest a finished item waits for its group before it is written.</param>
/// <param name="RetryDelay">Wait before retrying after a storage failure (input read, output write, stream failure).</param>
/// <param name="IdleTimeout">A finished job's entity passivates after this long without messages.</param>
public sealed record BatchJobSettings(
    int Parallelism,
    int PersistGroupSize,
    TimeSpan PersistGroupWindow,
    TimeSpan RetryDelay,
    TimeSpan IdleTimeout)
{
    public static readonly BatchJobSettings Default = new(4, 32, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));
}

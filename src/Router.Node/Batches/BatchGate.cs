using Router.Node.Configuration;
using Router.Node.Ingress;

namespace Router.Node.Batches;

/// <summary>
/// Keeps HTTP batch jobs behind interactive traffic. Batch items do not enter the ingress queue (a 50,000-item job
/// would fill it and get interactive requests shed); instead they share this node-wide budget of
/// <see cref="BatchesOptions.NodeParallelism"/> items, and no item starts while interactive requests are waiting
/// in the ingress queue: batches take only capacity that nobody else is asking for. Both waits are signalled (a
/// slot given back, the queue's last waiting request leaving it), never polled.
/// </summary>
public sealed class BatchGate(RouterOptions options, IngressQueue ingress)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Batches.NodeParallelism));

    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ingress.WhenNoneWaitingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _slots.Release();
            throw;
        }
        return new Turn(_slots);
    }

    /// <summary>A held slot; disposing gives it back.</summary>
    public readonly struct Turn(SemaphoreSlim slots) : IDisposable
    {
        public void Dispose() => slots.Release();
    }
}

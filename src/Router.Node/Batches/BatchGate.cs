using Router.Node.Configuration;
using Router.Node.Ingress;

namespace Router.Node.Batches;

/// <summary>
/// Keeps HTTP batch jobs behind interactive traffic. Batch items do not enter the ingress queue (a 50,000-item job
/// would fill it and get interactive requests shed); instead they share this node-wide budget of
/// <see cref="BatchesOptions.NodeParallelism"/> items, and no item starts while interactive requests are waiting
/// in the ingress queue: batches take only capacity that nobody else is asking for.
/// </summary>
public sealed class BatchGate(RouterOptions options, IServiceProvider services, TimeProvider clock)
{
    private static readonly TimeSpan YieldPause = TimeSpan.FromMilliseconds(100);
    private readonly SemaphoreSlim _slots = new(Math.Max(1, options.Batches.NodeParallelism));
    private IngressQueue? _ingress;

    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _ingress ??= services.GetService<IngressQueue>();
            while (_ingress is { Waiting: > 0 }) await Task.Delay(YieldPause, clock, cancellationToken).ConfigureAwait(false);
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

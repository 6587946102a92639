using System.Collections.Concurrent;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>
/// Steady client load: <c>workers</c> loops, each sending one logical request at a time (with the client's retry
/// rules), keys and starting nodes taken round-robin, a pause between requests so two cores keep up.
/// </summary>
public sealed class LoadRunner
{
    private readonly ConcurrentQueue<RequestResult> _results = new();
    private readonly ChatClient _client;
    private readonly IReadOnlyList<CreatedKey> _keys;
    private readonly Func<int, bool> _nodeEligible;
    private long _sequence;

    /// <param name="nodeEligible">Nodes a request may start on (all by default); retries still go round the whole list.</param>
    public LoadRunner(ChatClient client, IReadOnlyList<CreatedKey> keys, Func<int, bool>? nodeEligible = null)
    {
        _client = client;
        _keys = keys;
        _nodeEligible = nodeEligible ?? (_ => true);
    }

    public IReadOnlyCollection<RequestResult> Results => _results;

    public Task RunAsync(int workers, TimeSpan pause, bool retryRateLimited, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref _sequence);
                var key = _keys[(int)(n % _keys.Count)];
                var node = (int)(n % _client.Nodes.Count);
                for (var tries = 0; !_nodeEligible(node) && tries < _client.Nodes.Count; tries++) node = (node + 1) % _client.Nodes.Count;
                // A request in progress is finished even after stop: only new requests stop.
                _results.Enqueue(await _client.SendAsync(key, node, retryRateLimited: retryRateLimited));
                try
                {
                    await Task.Delay(pause, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        })));
}

namespace Router.Testing;

/// <summary>
/// A queue of one-shot behaviours in front of a standing one. One script serves all requests; another
/// can be scoped to a provider key so a test can throttle key "primary" while "backup" answers.
/// </summary>
public sealed class BehaviourScript
{
    private readonly Lock _gate = new();
    private readonly Queue<Behaviour> _queue = new();
    private Behaviour? _always;

    internal BehaviourScript(Behaviour? always) => _always = always;

    /// <summary>Answers the next request (that reaches this script) this way, once.</summary>
    public BehaviourScript Enqueue(Behaviour behaviour)
    {
        ArgumentNullException.ThrowIfNull(behaviour);
        lock (_gate) _queue.Enqueue(behaviour);
        return this;
    }

    /// <summary>Answers every request this way once the queue is empty.</summary>
    public BehaviourScript Always(Behaviour behaviour)
    {
        ArgumentNullException.ThrowIfNull(behaviour);
        lock (_gate) _always = behaviour;
        return this;
    }

    /// <summary>Forgets the queue; a key script also forgets its standing behaviour (requests fall through to the global script).</summary>
    public void Reset(Behaviour? always = null)
    {
        lock (_gate)
        {
            _queue.Clear();
            _always = always;
        }
    }

    internal bool TryNext(out Behaviour behaviour)
    {
        lock (_gate)
        {
            if (_queue.TryDequeue(out var queued))
            {
                behaviour = queued;
                return true;
            }
            behaviour = _always!;
            return _always is not null;
        }
    }
}

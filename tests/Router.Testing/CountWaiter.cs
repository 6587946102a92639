namespace Router.Testing;

/// <summary>A counter tests can await ("at least N happened"), so no test polls or sleeps.</summary>
internal sealed class CountWaiter
{
    private readonly Lock _gate = new();
    private readonly List<(int Target, TaskCompletionSource Done)> _waiters = [];
    private int _count;

    public int Count
    {
        get { lock (_gate) return _count; }
    }

    public void Increment()
    {
        List<TaskCompletionSource>? ready = null;
        lock (_gate)
        {
            _count++;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target > _count) continue;
                (ready ??= []).Add(_waiters[i].Done);
                _waiters.RemoveAt(i);
            }
        }
        // Completed outside the lock: continuations run asynchronously anyway, but never under our gate.
        ready?.ForEach(t => t.TrySetResult());
    }

    public Task WaitAsync(int target, TimeSpan timeout, string what)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_count >= target) return Task.CompletedTask;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
        }
        return WaitCore(done.Task, timeout, target, what);
    }

    private async Task WaitCore(Task done, TimeSpan timeout, int target, string what)
    {
        try
        {
            await done.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Expected at least {target} {what} within {timeout}, saw {Count}.");
        }
    }
}

namespace Router.Actors.RateLimiting;

/// <summary>Outcome of <see cref="TokenBucket.TryTake"/>.</summary>
/// <param name="Taken">True when the cost was taken from the bucket.</param>
/// <param name="Remaining">Whole units left after the decision (never negative, for headers).</param>
/// <param name="RetryAfter">
/// On refusal, the exact time until <c>cost</c> is available (retrying after it succeeds if nothing else
/// takes first); <see cref="TimeSpan.MaxValue"/> when the cost exceeds the capacity. Zero when taken.
/// </param>
public readonly record struct TokenBucketDecision(bool Taken, long Remaining, TimeSpan RetryAfter);

/// <summary>
/// A bucket's exportable state. The fraction of a unit that had refilled is folded into
/// <see cref="LastRefillTicks"/> (rounded towards less allowance), so two longs restore it without creating
/// allowance.
/// </summary>
public readonly record struct TokenBucketState(long Level, long LastRefillTicks);

/// <summary>
/// A token bucket with continuous refill (capacity per period, e.g. 60 per minute = one per second) so a limit
/// of N per period is never exceeded over any window, unlike fixed windows that allow 2N across a boundary.
/// The level is kept as an integer scaled by the period's ticks, which makes refill, remaining and retry-after
/// exact: retrying after <see cref="TokenBucketDecision.RetryAfter"/> succeeds, one tick earlier does not.
/// The level may go below zero (debt) when usage is reconciled upwards; debt delays later admissions.
/// Time is supplied by the caller as TimeSpan ticks (100 ns) from any fixed origin; nothing here reads a clock.
/// </summary>
public sealed class TokenBucket
{
    private readonly long _periodTicks;
    // level × periodTicks: one unit refills every periodTicks/capacity ticks, so level × periodTicks grows by
    // exactly `capacity` per tick. Int128 because a large TPM over a long period overflows a long.
    private Int128 _scaled;
    private long _lastRefillTicks;

    /// <summary>Creates a full bucket.</summary>
    public TokenBucket(long capacity, TimeSpan period, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        Capacity = capacity;
        Period = period;
        _periodTicks = period.Ticks;
        _scaled = Full;
        _lastRefillTicks = nowTicks;
    }

    public long Capacity { get; private set; }

    public TimeSpan Period { get; }

    private Int128 Full => (Int128)Capacity * _periodTicks;

    /// <summary>Rebuilds a bucket from <see cref="Export"/>; a level above the capacity is clamped.</summary>
    public static TokenBucket Restore(long capacity, TimeSpan period, TokenBucketState state)
    {
        var bucket = new TokenBucket(capacity, period, state.LastRefillTicks);
        var scaled = (Int128)state.Level * bucket._periodTicks;
        bucket._scaled = scaled > bucket.Full ? bucket.Full : scaled;
        return bucket;
    }

    /// <summary>Whole units available now; negative while in debt.</summary>
    public long Available(long nowTicks)
    {
        Refill(nowTicks);
        return FloorDiv(_scaled, _periodTicks);
    }

    /// <summary>True when <paramref name="cost"/> can never be taken, however long the caller waits.</summary>
    public bool NeverFits(long cost) => cost > Capacity;

    /// <summary>Takes <paramref name="cost"/> if available; otherwise takes nothing and says how long to wait.</summary>
    public TokenBucketDecision TryTake(long nowTicks, long cost)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        var wait = TimeUntilAvailable(nowTicks, cost);
        if (wait > TimeSpan.Zero)
        {
            return new TokenBucketDecision(false, Remaining(), wait);
        }

        _scaled -= (Int128)cost * _periodTicks;
        return new TokenBucketDecision(true, Remaining(), TimeSpan.Zero);
    }

    /// <summary>
    /// Time until <paramref name="cost"/> is available (zero if it is now); <see cref="TimeSpan.MaxValue"/> if it
    /// never fits. Rounded up to the tick so that waiting this long is always enough.
    /// </summary>
    public TimeSpan TimeUntilAvailable(long nowTicks, long cost)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cost);
        if (NeverFits(cost))
        {
            return TimeSpan.MaxValue;
        }

        Refill(nowTicks);
        var missing = (Int128)cost * _periodTicks - _scaled;
        if (missing <= 0)
        {
            return TimeSpan.Zero;
        }

        var ticks = (missing + Capacity - 1) / Capacity;
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Time until the bucket is full again: what OpenAI's <c>x-ratelimit-reset-*</c> headers report.</summary>
    public TimeSpan TimeUntilFull(long nowTicks) => TimeUntilAvailable(nowTicks, Capacity);

    /// <summary>Gives back units taken in excess (actual usage below the estimate); never above capacity.</summary>
    public void Refund(long nowTicks, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(nowTicks);
        _scaled += (Int128)amount * _periodTicks;
        if (_scaled > Full)
        {
            _scaled = Full;
        }
    }

    /// <summary>
    /// Takes units unconditionally (actual usage above the estimate). The level may go below zero: the debt
    /// is paid back by refill before anything else is admitted, so the average rate still holds.
    /// </summary>
    public void Charge(long nowTicks, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        Refill(nowTicks);
        _scaled -= (Int128)amount * _periodTicks;
    }

    /// <summary>
    /// As <see cref="Charge(long, long)"/>, but leaves at most <paramref name="maxDebt"/> units of debt: usage beyond
    /// that is forgiven, so one request that used far more than estimated cannot block the bucket for long.
    /// </summary>
    public void Charge(long nowTicks, long amount, long maxDebt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDebt);
        Charge(nowTicks, amount);
        var floor = -(Int128)maxDebt * _periodTicks;
        if (_scaled < floor)
        {
            _scaled = floor;
        }
    }

    /// <summary>
    /// Compares what two buckets hold at <paramref name="nowTicks"/>, fractions of a unit included: positive when
    /// <paramref name="a"/> holds more, negative when <paramref name="b"/> does, zero when equal.
    /// </summary>
    public static int CompareLevels(TokenBucket a, TokenBucket b, long nowTicks)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        a.Refill(nowTicks);
        b.Refill(nowTicks);
        // level = scaled / periodTicks; cross-multiplied so that no fraction is lost.
        return (a._scaled * b._periodTicks).CompareTo(b._scaled * a._periodTicks);
    }

    /// <summary>Changes the capacity (and so the rate), keeping the current level clamped to the new capacity.</summary>
    public void Reconfigure(long capacity, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Refill(nowTicks); // what accrued so far accrued at the old rate
        Capacity = capacity;
        if (_scaled > Full)
        {
            _scaled = Full;
        }
    }

    /// <summary>The state as of <paramref name="nowTicks"/>, for snapshots.</summary>
    public TokenBucketState Export(long nowTicks)
    {
        Refill(nowTicks);
        var level = FloorDiv(_scaled, _periodTicks);
        var fraction = _scaled - (Int128)level * _periodTicks; // in [0, periodTicks)
        // The fraction is what refilled during fraction/capacity ticks; dating the refill back by that much
        // (rounded down) restores it, minus less than one tick's worth.
        return new TokenBucketState(level, nowTicks - (long)(fraction / Capacity));
    }

    private long Remaining() => Math.Max(0, FloorDiv(_scaled, _periodTicks));

    private void Refill(long nowTicks)
    {
        // A clock that goes backwards adds nothing and does not move the reference point back.
        if (nowTicks <= _lastRefillTicks)
        {
            return;
        }

        if (_scaled < Full)
        {
            _scaled += (Int128)(nowTicks - _lastRefillTicks) * Capacity;
            if (_scaled > Full)
            {
                _scaled = Full;
            }
        }

        _lastRefillTicks = nowTicks;
    }

    private static long FloorDiv(Int128 value, long divisor)
    {
        var quotient = value / divisor;
        if (value < 0 && quotient * divisor != value)
        {
            quotient -= 1;
        }

        return (long)quotient;
    }
}

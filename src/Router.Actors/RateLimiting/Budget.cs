using Router.Contracts.RateLimiting;

namespace Router.Actors.RateLimiting;

/// <summary>
/// A key's spending limit over a UTC calendar period (day, month) or over its whole life. Spend is recorded
/// after a request completes, so admission can overshoot the limit by what is in flight when it is reached;
/// the alternative (reserving a cost estimate per request) would refuse requests that would have fit.
/// Pure: the wall-clock time comes as an argument; calendar periods need wall-clock, not monotonic, time.
/// </summary>
public sealed class Budget
{
    private decimal _spent;

    public Budget(decimal? limitUsd, BudgetPeriod period, DateTimeOffset now)
    {
        ThrowIfInvalid(limitUsd);
        LimitUsd = limitUsd;
        Period = period;
        PeriodStart = StartOf(period, now);
    }

    /// <summary>The limit in USD; null means no limit (spend is still counted).</summary>
    public decimal? LimitUsd { get; private set; }

    public BudgetPeriod Period { get; private set; }

    /// <summary>Start of the period <see cref="SpentUsd"/> belongs to (UTC).</summary>
    public DateTimeOffset PeriodStart { get; private set; }

    /// <summary>Spend in the period starting at <see cref="PeriodStart"/>; call <see cref="Spent"/> for "now".</summary>
    public decimal SpentUsd => _spent;

    /// <summary>Rebuilds a budget from a snapshot; it rolls over on first use if the period has ended.</summary>
    public static Budget Restore(decimal? limitUsd, BudgetPeriod period, decimal spentUsd, DateTimeOffset periodStart)
    {
        return new Budget(limitUsd, period, periodStart) { _spent = spentUsd, PeriodStart = periodStart };
    }

    /// <summary>Spend in the period containing <paramref name="now"/>.</summary>
    public decimal Spent(DateTimeOffset now)
    {
        Roll(now);
        return _spent;
    }

    public bool IsExhausted(DateTimeOffset now) => LimitUsd is { } limit && Spent(now) >= limit;

    /// <summary>
    /// Adds <paramref name="costUsd"/> spent at <paramref name="at"/>. Spend dated before the current period
    /// is ignored: it belongs to a period that is over (a late or replayed record must not count twice).
    /// </summary>
    /// <returns>True when the spend counted against the current period.</returns>
    public bool Record(decimal costUsd, DateTimeOffset at)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(costUsd);
        if (at < PeriodStart)
        {
            return false;
        }

        Roll(at);
        _spent += costUsd;
        return true;
    }

    /// <summary>When the period containing <paramref name="now"/> ends; null for <see cref="BudgetPeriod.Total"/>.</summary>
    public DateTimeOffset? ResetsAt(DateTimeOffset now)
    {
        Roll(now);
        return EndOf(Period, PeriodStart);
    }

    /// <summary>
    /// Changes limit and period. Spend so far is kept when the period changes: it is the best available
    /// figure (the new period's exact spend is not known), and forgetting it would hand out budget.
    /// </summary>
    public void Reconfigure(decimal? limitUsd, BudgetPeriod period, DateTimeOffset now)
    {
        ThrowIfInvalid(limitUsd);
        LimitUsd = limitUsd;
        if (period != Period)
        {
            Period = period;
            PeriodStart = StartOf(period, now);
        }
    }

    public static DateTimeOffset StartOf(BudgetPeriod period, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return period switch
        {
            BudgetPeriod.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            BudgetPeriod.Total => DateTimeOffset.MinValue,
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, "Unknown budget period"),
        };
    }

    public static DateTimeOffset? EndOf(BudgetPeriod period, DateTimeOffset periodStart) => period switch
    {
        BudgetPeriod.Day => periodStart.AddDays(1),
        BudgetPeriod.Month => periodStart.AddMonths(1),
        _ => null,
    };

    private void Roll(DateTimeOffset now)
    {
        if (EndOf(Period, PeriodStart) is { } end && now >= end)
        {
            PeriodStart = StartOf(Period, now);
            _spent = 0;
        }
    }

    private static void ThrowIfInvalid(decimal? limitUsd)
    {
        if (limitUsd < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limitUsd), "A budget cannot be negative");
        }
    }
}

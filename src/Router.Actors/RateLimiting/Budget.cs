using Router.Contracts.RateLimiting;

namespace Router.Actors.RateLimiting;

/// <summary>
/// A key's spending limit over a UTC calendar period (day, month) or over its whole life. Spend is recorded
/// after a request completes, so admission can overshoot the limit by what is in flight when it is reached;
/// the alternative (reserving a cost estimate per request) would refuse requests that would have fit.
/// Pure and immutable (it is part of <see cref="ApiKeyState"/>): the wall-clock time comes as an argument;
/// calendar periods need wall-clock, not monotonic, time. Reads roll over lazily: a period that has ended
/// reads as an empty one, and <see cref="Record"/> starts the new period.
/// </summary>
public sealed record Budget
{
    public Budget(decimal? limitUsd, BudgetPeriod period, DateTimeOffset now)
    {
        ThrowIfInvalid(limitUsd);
        LimitUsd = limitUsd;
        Period = period;
        PeriodStart = StartOf(period, now);
    }

    /// <summary>The limit in USD; null means no limit (spend is still counted).</summary>
    public decimal? LimitUsd { get; private init; }

    public BudgetPeriod Period { get; private init; }

    /// <summary>Start of the period <see cref="SpentUsd"/> belongs to (UTC); see <see cref="CurrentPeriodStart"/> for "now".</summary>
    public DateTimeOffset PeriodStart { get; private init; }

    /// <summary>Spend in the period starting at <see cref="PeriodStart"/>; call <see cref="Spent"/> for "now".</summary>
    public decimal SpentUsd { get; private init; }

    /// <summary>Rebuilds a budget from a snapshot; it rolls over on first use if the period has ended.</summary>
    public static Budget Restore(decimal? limitUsd, BudgetPeriod period, decimal spentUsd, DateTimeOffset periodStart) =>
        new(limitUsd, period, periodStart) { SpentUsd = spentUsd, PeriodStart = periodStart };

    /// <summary>Start of the period containing <paramref name="now"/>.</summary>
    public DateTimeOffset CurrentPeriodStart(DateTimeOffset now) => HasEnded(now) ? StartOf(Period, now) : PeriodStart;

    /// <summary>Spend in the period containing <paramref name="now"/>.</summary>
    public decimal Spent(DateTimeOffset now) => HasEnded(now) ? 0m : SpentUsd;

    /// <summary>Whether the limit is reached, counting <paramref name="extraUsd"/> (spent in the current period, not recorded here) on top.</summary>
    public bool IsExhausted(DateTimeOffset now, decimal extraUsd = 0m) => LimitUsd is { } limit && Spent(now) + extraUsd >= limit;

    /// <summary>
    /// Adds <paramref name="costUsd"/> spent at <paramref name="at"/>. Spend dated before the current period
    /// is ignored (the same budget comes back): it belongs to a period that is over, and a late or replayed
    /// record must not count twice.
    /// </summary>
    public Budget Record(decimal costUsd, DateTimeOffset at)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(costUsd);
        if (at < PeriodStart)
        {
            return this;
        }

        var current = HasEnded(at) ? this with { PeriodStart = StartOf(Period, at), SpentUsd = 0m } : this;
        return current with { SpentUsd = current.SpentUsd + costUsd };
    }

    /// <summary>When the period containing <paramref name="now"/> ends; null for <see cref="BudgetPeriod.Total"/>.</summary>
    public DateTimeOffset? ResetsAt(DateTimeOffset now) => EndOf(Period, CurrentPeriodStart(now));

    /// <summary>
    /// Changes limit and period. Spend of the period containing <paramref name="now"/> is kept when the period
    /// changes: it is the best available figure (the new period's exact spend is not known), and forgetting it
    /// would hand out budget. Spend of a period already over is not carried into the new one.
    /// </summary>
    public Budget Reconfigure(decimal? limitUsd, BudgetPeriod period, DateTimeOffset now)
    {
        ThrowIfInvalid(limitUsd);
        // Rolling first gives what the mutable budget gave live, where every read rolled it.
        var current = HasEnded(now) ? this with { PeriodStart = StartOf(Period, now), SpentUsd = 0m } : this;
        return period == Period
            ? current with { LimitUsd = limitUsd }
            : current with { LimitUsd = limitUsd, Period = period, PeriodStart = StartOf(period, now) };
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

    private bool HasEnded(DateTimeOffset now) => EndOf(Period, PeriodStart) is { } end && now >= end;

    private static void ThrowIfInvalid(decimal? limitUsd)
    {
        if (limitUsd < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limitUsd), "A budget cannot be negative");
        }
    }
}

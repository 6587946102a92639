using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;

namespace Router.Actors.Tests.RateLimiting;

public sealed class BudgetTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0) =>
        new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void Is_exhausted_once_spend_reaches_the_limit()
    {
        var now = Utc(2026, 3, 10, 12);
        var budget = new Budget(10m, BudgetPeriod.Day, now);

        budget = budget.Record(9.99m, now);
        Assert.False(budget.IsExhausted(now));

        budget = budget.Record(0.01m, now);
        Assert.True(budget.IsExhausted(now));
    }

    [Fact]
    public void Without_a_limit_spend_is_counted_but_never_exhausts()
    {
        var now = Utc(2026, 3, 10);
        var budget = new Budget(null, BudgetPeriod.Total, now).Record(1_000_000m, now);

        Assert.False(budget.IsExhausted(now));
        Assert.Equal(1_000_000m, budget.Spent(now));
    }

    [Fact]
    public void A_zero_limit_blocks_from_the_start()
    {
        Assert.True(new Budget(0m, BudgetPeriod.Month, Utc(2026, 3, 10)).IsExhausted(Utc(2026, 3, 10)));
    }

    [Fact]
    public void Daily_budget_rolls_over_at_utc_midnight()
    {
        var budget = new Budget(5m, BudgetPeriod.Day, Utc(2026, 3, 10, 8)).Record(5m, Utc(2026, 3, 10, 23, 59));

        Assert.True(budget.IsExhausted(Utc(2026, 3, 10, 23, 59)));
        Assert.Equal(Utc(2026, 3, 11), budget.ResetsAt(Utc(2026, 3, 10, 23, 59)));
        Assert.False(budget.IsExhausted(Utc(2026, 3, 11)));
        Assert.Equal(0m, budget.Spent(Utc(2026, 3, 11)));
        Assert.Equal(Utc(2026, 3, 12), budget.ResetsAt(Utc(2026, 3, 11, 1)));
    }

    [Fact]
    public void Day_boundaries_are_utc_whatever_the_offset_of_now()
    {
        var plusSeven = TimeSpan.FromHours(7);
        // 2026-03-11 05:00 at +07:00 is still 2026-03-10 in UTC.
        var now = new DateTimeOffset(2026, 3, 11, 5, 0, 0, plusSeven);
        var budget = new Budget(1m, BudgetPeriod.Day, now);

        Assert.Equal(Utc(2026, 3, 10), budget.PeriodStart);
        Assert.Equal(Utc(2026, 3, 11), budget.ResetsAt(now));
    }

    [Fact]
    public void Monthly_budget_rolls_over_on_the_first_including_across_a_year()
    {
        var budget = new Budget(100m, BudgetPeriod.Month, Utc(2026, 12, 5)).Record(100m, Utc(2026, 12, 31, 23));

        Assert.True(budget.IsExhausted(Utc(2026, 12, 31, 23, 59)));
        Assert.Equal(Utc(2027, 1, 1), budget.ResetsAt(Utc(2026, 12, 20)));
        Assert.False(budget.IsExhausted(Utc(2027, 1, 1)));
        Assert.Equal(Utc(2027, 2, 1), budget.ResetsAt(Utc(2027, 1, 1)));
    }

    [Fact]
    public void Total_budget_never_resets()
    {
        var budget = new Budget(3m, BudgetPeriod.Total, Utc(2026, 1, 1)).Record(3m, Utc(2026, 1, 1));

        Assert.Null(budget.ResetsAt(Utc(2026, 1, 1)));
        Assert.True(budget.IsExhausted(Utc(2036, 1, 1)));
    }

    [Fact]
    public void Recording_in_a_later_period_starts_that_period_from_zero()
    {
        var budget = new Budget(10m, BudgetPeriod.Day, Utc(2026, 3, 10)).Record(8m, Utc(2026, 3, 10, 10));

        budget = budget.Record(1m, Utc(2026, 3, 12, 10));

        Assert.Equal(1m, budget.Spent(Utc(2026, 3, 12, 11)));
        Assert.Equal(Utc(2026, 3, 12), budget.PeriodStart);
    }

    [Fact]
    public void Spend_dated_before_the_current_period_is_ignored()
    {
        var budget = new Budget(10m, BudgetPeriod.Day, Utc(2026, 3, 11, 1));

        Assert.Same(budget, budget.Record(4m, Utc(2026, 3, 10, 23)));
        Assert.Equal(0m, budget.Spent(Utc(2026, 3, 11, 2)));
    }

    [Fact]
    public void Reconfigure_keeps_spend_and_applies_the_new_limit()
    {
        var now = Utc(2026, 3, 10, 12);
        var budget = new Budget(10m, BudgetPeriod.Day, now).Record(6m, now);

        budget = budget.Reconfigure(5m, BudgetPeriod.Month, now);

        Assert.True(budget.IsExhausted(now));
        Assert.Equal(Utc(2026, 3, 1), budget.PeriodStart);
        Assert.Equal(Utc(2026, 4, 1), budget.ResetsAt(now));
    }

    [Fact]
    public void Reconfigure_does_not_carry_spend_of_a_period_already_over()
    {
        var budget = new Budget(10m, BudgetPeriod.Day, Utc(2026, 3, 10)).Record(6m, Utc(2026, 3, 10, 12));

        budget = budget.Reconfigure(10m, BudgetPeriod.Month, Utc(2026, 3, 12));

        Assert.Equal((Utc(2026, 3, 1), 0m), (budget.PeriodStart, budget.Spent(Utc(2026, 3, 12))));
    }

    [Fact]
    public void Restore_rolls_over_a_period_that_ended_while_stored()
    {
        var budget = Budget.Restore(5m, BudgetPeriod.Day, 5m, Utc(2026, 3, 10));

        Assert.True(budget.IsExhausted(Utc(2026, 3, 10, 20)));
        Assert.False(budget.IsExhausted(Utc(2026, 3, 11, 0, 1)));
    }

    [Fact]
    public void Negative_limits_and_costs_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Budget(-1m, BudgetPeriod.Day, Utc(2026, 1, 1)));
        var budget = new Budget(1m, BudgetPeriod.Day, Utc(2026, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.Record(-0.5m, Utc(2026, 1, 1)));
    }

    [Fact]
    public void Reading_a_later_period_changes_nothing_and_the_next_record_starts_it()
    {
        var budget = new Budget(5m, BudgetPeriod.Day, Utc(2026, 3, 10)).Record(4m, Utc(2026, 3, 10, 9));

        Assert.Equal(0m, budget.Spent(Utc(2026, 3, 11, 9)));
        Assert.Equal(Utc(2026, 3, 11), budget.CurrentPeriodStart(Utc(2026, 3, 11, 9)));
        Assert.Equal(Utc(2026, 3, 10), budget.PeriodStart);
        Assert.Equal(4m, budget.SpentUsd);

        var next = budget.Record(1m, Utc(2026, 3, 11, 10));
        Assert.Equal((Utc(2026, 3, 11), 1m), (next.PeriodStart, next.SpentUsd));
        Assert.Equal(4m, budget.SpentUsd);
    }

    [Fact]
    public void Extra_spend_not_recorded_counts_towards_exhaustion()
    {
        var now = Utc(2026, 3, 10, 12);
        var budget = new Budget(1m, BudgetPeriod.Day, now).Record(0.6m, now);

        Assert.False(budget.IsExhausted(now, 0.3m));
        Assert.True(budget.IsExhausted(now, 0.4m));
    }
}

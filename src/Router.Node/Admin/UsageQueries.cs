using System.Globalization;
using Router.Actors.Usage;

namespace Router.Node.Admin;

/// <summary>
/// The usage query both admin surfaces accept (<c>GET /admin/usage</c> and <c>router.v1.Admin/GetUsage</c>), parsed
/// in one place so a look-back like <c>1h</c> means the same thing over HTTP and from <c>routerctl</c>.
/// </summary>
public static class UsageQueries
{
    /// <summary><paramref name="from"/>/<paramref name="to"/> take ISO-8601 times or a look-back like <c>1h</c>, <c>7d</c>, <c>30m</c>.</summary>
    public static UsageQuery Parse(string? key, string? model, string? from, string? to, string? groupBy, DateTimeOffset now)
    {
        var group = (groupBy ?? "") switch
        {
            "" or "none" => UsageGroupBy.None,
            "key" => UsageGroupBy.Key,
            "model" => UsageGroupBy.Model,
            "deployment" => UsageGroupBy.Deployment,
            "day" => UsageGroupBy.Day,
            "hour" => UsageGroupBy.Hour,
            var other => throw new AdminException(400, $"groupBy '{other}' is not one of none, key, model, deployment, day, hour", "groupBy"),
        };
        var fromTime = Time(from, now, "from");
        var toTime = Time(to, now, "to");
        if (fromTime is not null && toTime is not null && fromTime >= toTime) throw new AdminException(400, "from must be before to", "from");
        return new UsageQuery
        {
            KeyId = string.IsNullOrEmpty(key) ? null : key,
            Model = string.IsNullOrEmpty(model) ? null : model,
            From = fromTime,
            To = toTime,
            GroupBy = group,
        };
    }

    /// <summary>Parses <c>30s</c>, <c>15m</c>, <c>1h</c>, <c>7d</c>.</summary>
    public static TimeSpan? LookBack(string value)
    {
        if (value.Length < 2 || !int.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return null;
        return value[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    private static DateTimeOffset? Time(string? value, DateTimeOffset now, string field)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (LookBack(value) is { } ago) return now - ago;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return at;
        throw new AdminException(400, $"{field} must be an ISO-8601 time or a look-back like 1h, 7d", field);
    }
}

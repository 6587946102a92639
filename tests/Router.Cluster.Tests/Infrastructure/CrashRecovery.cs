namespace Router.Cluster.Tests.Infrastructure;

/// <summary>
/// When each key was served again after a crash, and the cluster's own timeline from the survivors' logs: each line
/// starts with the time since the SIGKILL (<c>+3.6 s</c>), read from the log line's UTC timestamp.
/// </summary>
public sealed record CrashRecoveryResult(IReadOnlyDictionary<string, TimeSpan> ServedAgainAfter, IReadOnlyList<string> Timeline)
{
    /// <summary>Time from the SIGKILL until the last key was served again.</summary>
    public TimeSpan AllServedAfter => ServedAgainAfter.Values.Max();
}

/// <summary>
/// The crash measurement shared by the cluster tests and the cluster bench: SIGKILL one node while every key is
/// being asked for on the survivors, and note for each key when a request for it completes again.
/// </summary>
public static class CrashRecovery
{
    /// <param name="keys">Keys whose entities are already started (each served once), so some live on the victim.</param>
    public static async Task<CrashRecoveryResult> MeasureAsync(RouterCluster cluster, int victim, IReadOnlyList<CreatedKey> keys,
        TimeSpan giveUpAfter, CancellationToken ct = default)
    {
        var survivors = Enumerable.Range(0, cluster.Count).Where(i => i != victim && cluster.IsRunning(i)).ToArray();
        using var client = new ChatClient(cluster.HttpBases, timeout: TimeSpan.FromSeconds(10));
        var killedAt = client.Now;
        var killedUtc = DateTime.UtcNow;
        cluster.Node(victim).Kill();

        // One sequential prober per key: a request that waits in a shard region's buffer is answered as soon as
        // the shard has a home again, so the next attempt after a 503 (ask timeout) starts right away.
        var probes = keys.Select(async (key, n) =>
        {
            var round = n;
            while (client.Now - killedAt < giveUpAfter && !ct.IsCancellationRequested)
            {
                var attempt = await client.SendOnceAsync(survivors[round++ % survivors.Length], key.Secret, ct: ct);
                if (attempt.Kind == AttemptKind.Completed) return (key.Id, After: client.Now - killedAt);
                if (attempt.Kind is AttemptKind.Refused or AttemptKind.NoResponse) await Task.Delay(50, ct);
            }
            return (key.Id, After: TimeSpan.MaxValue);
        }).ToList();
        var served = await Task.WhenAll(probes);

        var timeline = survivors
            .SelectMany(i => cluster.Node(i).ReadLog().Split('\n').Select(l => (Node: cluster.Specs[i].Name, Line: l)))
            .Where(x => x.Line.Contains(cluster.Specs[victim].AkkaAddress, StringComparison.Ordinal)
                        && (x.Line.Contains("unreachable", StringComparison.OrdinalIgnoreCase)
                            || x.Line.Contains("SBR took decision", StringComparison.Ordinal)
                            || x.Line.Contains("Removed", StringComparison.Ordinal)
                            || x.Line.Contains("Marking", StringComparison.Ordinal)))
            .Select(x => $"{SinceKill(x.Line, killedUtc)}{x.Node}: {x.Line.Trim()}")
            .Take(20)
            .ToList();
        return new CrashRecoveryResult(served.ToDictionary(s => s.Id, s => s.After), timeline);
    }

    /// <summary>"+3.6 s " from a node log line that starts with its UTC time of day (<c>HH:mm:ss.fff</c>), else "".</summary>
    private static string SinceKill(string line, DateTime killedUtc)
    {
        if (line.Length < 12 || !TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture, out var at))
            return "";
        var delta = at - killedUtc.TimeOfDay;
        if (delta < TimeSpan.FromHours(-12)) delta += TimeSpan.FromDays(1); // the log line is from after midnight
        return FormattableString.Invariant($"+{delta.TotalSeconds:0.0} s ");
    }
}

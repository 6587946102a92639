using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>Cluster timings and the simulated upstream the nodes get; null timings leave the shipped defaults.</summary>
public sealed record ClusterSettings
{
    public int? StableAfterSeconds { get; init; }
    public double? HeartbeatPauseSeconds { get; init; }
    public double? DownRemovalMarginSeconds { get; init; }
    public int DrainSeconds { get; init; } = 10;
    /// <summary>Latency of model <c>fast</c> (the simulated provider <c>sim</c>).</summary>
    public int FastLatencyMs { get; init; } = 20;
    /// <summary>Latency of model <c>slow</c>, for requests that must be in flight during a stop.</summary>
    public int SlowLatencyMs { get; init; } = 2500;
}

/// <summary>
/// N real Router.Node processes forming one cluster (the first two are the seeds, as on Kubernetes), sharing one
/// PostgreSQL database. Nodes can be stopped, killed and started again with the same address and ports.
/// </summary>
public sealed class RouterCluster : IAsyncDisposable
{
    public const string AdminKey = "sk-cluster-test-admin";

    private readonly Func<int, string> _connectionStringFor;
    private readonly Func<int, string?> _netnsFor;
    private readonly NodeProcess?[] _nodes;
    private readonly HttpClient _admin;

    public RouterCluster(IReadOnlyList<NodeSpec> specs, Func<int, string> connectionStringFor, ClusterSettings settings, string dir,
        Func<int, string?>? netnsFor = null)
    {
        Specs = specs;
        _connectionStringFor = connectionStringFor;
        _netnsFor = netnsFor ?? (_ => null);
        Settings = settings;
        Directory = dir;
        _nodes = new NodeProcess?[specs.Count];
        _admin = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        _admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public IReadOnlyList<NodeSpec> Specs { get; }

    public ClusterSettings Settings { get; }

    /// <summary>Where configuration files and node logs go.</summary>
    public string Directory { get; }

    public int Count => Specs.Count;

    public NodeProcess Node(int i) => _nodes[i] ?? throw new InvalidOperationException($"{Specs[i].Name} was never started");

    public bool IsRunning(int i) => _nodes[i] is { HasExited: false };

    public IReadOnlyList<Uri> HttpBases => Specs.Select(s => s.HttpBase).ToArray();

    /// <summary>Specs for <paramref name="count"/> nodes on 127.0.0.1 with free HTTP, gRPC and Akka ports.</summary>
    public static IReadOnlyList<NodeSpec> Loopback(int count)
    {
        var ports = FreePorts.Take(count * 3);
        return Enumerable.Range(0, count)
            .Select(i => new NodeSpec($"n{i + 1}", "127.0.0.1", "127.0.0.1", ports[3 * i], ports[3 * i + 1], "127.0.0.1", ports[3 * i + 2]))
            .ToArray();
    }

    public JsonObject ConfigFor(int i)
    {
        var s = Specs[i];
        var seeds = new JsonArray(Specs.Take(Math.Min(2, Specs.Count)).Select(x => (JsonNode)JsonValue.Create(x.AkkaAddress)!).ToArray());
        var cluster = new JsonObject
        {
            ["Hostname"] = s.AkkaHost,
            ["Port"] = s.AkkaPort,
            ["Seeds"] = seeds,
        };
        if (Settings.StableAfterSeconds is { } stable) cluster["StableAfterSeconds"] = stable;
        if (Settings.HeartbeatPauseSeconds is { } pause) cluster["HeartbeatPauseSeconds"] = pause;
        if (Settings.DownRemovalMarginSeconds is { } margin) cluster["DownRemovalMarginSeconds"] = margin;
        // A --config file's Providers and Models replace appsettings.json's lists whole; Keys (the demo key) stay.
        return new JsonObject
        {
            // One line per entry, with a UTC timestamp: node logs are read as timelines and grepped.
            ["Logging"] = new JsonObject
            {
                ["Console"] = new JsonObject
                {
                    // Named, or the console logger ignores FormatterOptions for its legacy settings.
                    ["FormatterName"] = "simple",
                    ["FormatterOptions"] = new JsonObject { ["SingleLine"] = true, ["TimestampFormat"] = "HH:mm:ss.fff ", ["UseUtcTimestamp"] = true },
                },
            },
            ["Router"] = new JsonObject
            {
                ["Http"] = new JsonObject { ["Host"] = s.BindHost, ["Port"] = s.HttpPort },
                ["Grpc"] = new JsonObject { ["Host"] = s.BindHost, ["Port"] = s.GrpcPort },
                ["AdminKey"] = AdminKey,
                ["Persistence"] = new JsonObject { ["Provider"] = "postgresql", ["ConnectionString"] = _connectionStringFor(i) },
                ["Cluster"] = cluster,
                ["Shutdown"] = new JsonObject { ["DrainSeconds"] = Settings.DrainSeconds },
                ["Providers"] = new JsonArray(
                    new JsonObject { ["Name"] = "sim", ["Kind"] = "simulated", ["LatencyMs"] = Settings.FastLatencyMs, ["TokensPerSecond"] = 100000, ["CompletionTokens"] = 8 },
                    new JsonObject { ["Name"] = "slow", ["Kind"] = "simulated", ["LatencyMs"] = Settings.SlowLatencyMs, ["TokensPerSecond"] = 100000, ["CompletionTokens"] = 8 }),
                ["Models"] = new JsonArray(
                    new JsonObject { ["Id"] = "sim-small", ["Aliases"] = new JsonArray("fast"), ["Deployments"] = new JsonArray(new JsonObject { ["Provider"] = "sim", ["Model"] = "sim-small-v1" }) },
                    new JsonObject { ["Id"] = "slow", ["Deployments"] = new JsonArray(new JsonObject { ["Provider"] = "slow", ["Model"] = "slow-v1" }) }),
            },
        };
    }

    /// <summary>Starts node <paramref name="i"/> (again) with its original address and ports; does not wait.</summary>
    public NodeProcess StartNode(int i)
    {
        if (IsRunning(i)) throw new InvalidOperationException($"{Specs[i].Name} is already running");
        _nodes[i] = NodeProcess.Start(Specs[i], ConfigFor(i), Directory, _netnsFor(i));
        return _nodes[i]!;
    }

    /// <summary>Starts every node that is not running and waits until all of them are ready and see all members.</summary>
    public async Task StartAllAsync(TimeSpan timeout)
    {
        for (var i = 0; i < Count; i++)
            if (!IsRunning(i)) StartNode(i);
        await WaitAllReadyAsync(timeout);
    }

    public async Task WaitAllReadyAsync(TimeSpan timeout) =>
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Node(i).WaitReadyAsync(timeout, Count)));

    /// <summary>Index of the oldest member (it hosts the shard coordinators) as node <paramref name="askFrom"/> sees it.</summary>
    public async Task<int> OldestAsync(int askFrom)
    {
        var ready = await Node(askFrom).ReadinessAsync() ?? throw new InvalidOperationException($"{Specs[askFrom].Name} does not answer");
        var oldest = ready.Check("oldest");
        var index = Specs.ToList().FindIndex(s => s.AkkaAddress == oldest);
        return index >= 0 ? index : throw new InvalidOperationException($"oldest member '{oldest}' is not one of ours");
    }

    /// <summary>
    /// A virtual key created through the admin API of node <paramref name="via"/>. A 503 ("the cluster did not answer
    /// in time; retry", e.g. while a cold cluster allocates its first shards) is retried for up to 30 s.
    /// </summary>
    public async Task<CreatedKey> CreateKeyAsync(string name, int? rpm, int via = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var body = new JsonObject { ["name"] = name, ["rpm"] = rpm, ["models"] = new JsonArray("*") };
            using var response = await _admin.PostAsJsonAsync(new Uri(Specs[via].HttpBase, "admin/keys"), body);
            var json = await response.Content.ReadFromJsonAsync<JsonObject>();
            if (response.IsSuccessStatusCode) return new CreatedKey(json!["id"]!.GetValue<string>(), json["key"]!.GetValue<string>(), rpm);
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"creating key {name} failed: {(int)response.StatusCode} {json}");
            await Task.Delay(500);
        }
    }

    /// <summary>Reads the key through every running node's admin API, so each node's shard region knows where it lives.</summary>
    public async Task WarmAsync(CreatedKey key)
    {
        for (var i = 0; i < Count; i++)
        {
            if (!IsRunning(i)) continue;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                using var response = await _admin.GetAsync(new Uri(Specs[i].HttpBase, $"admin/keys/{key.Id}"));
                if (response.IsSuccessStatusCode) break;
                if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"key {key.Id} not readable on {Specs[i].Name}: {(int)response.StatusCode}");
                await Task.Delay(500);
            }
        }
    }

    /// <summary>
    /// Every log entry of every node, for "nothing of this kind was logged" assertions. An entry is one line in
    /// Akka's own format (<c>[WARNING][date][thread][source] message</c>) or a Microsoft.Extensions.Logging console
    /// entry (<c>warn: Category[id]</c> and its indented message lines), whichever the node uses.
    /// </summary>
    public IEnumerable<(string Node, string Entry)> AllLogEntries() =>
        Enumerable.Range(0, Count).Where(i => _nodes[i] is not null)
            .SelectMany(i => LogEntries(Node(i).ReadLog()).Select(e => (Specs[i].Name, e)));

    public static IEnumerable<string> LogEntries(string log)
    {
        var current = new System.Text.StringBuilder();
        foreach (var line in log.Split('\n'))
        {
            // Continuation: the indented message of an MEL entry, or an exception's stack trace.
            if (current.Length > 0 && (line.StartsWith("      ", StringComparison.Ordinal) || line.StartsWith("   at ", StringComparison.Ordinal)))
            {
                current.Append('\n').Append(line.TrimEnd());
                continue;
            }
            if (current.Length > 0) yield return current.ToString();
            current.Clear().Append(line.TrimEnd());
        }
        if (current.Length > 0) yield return current.ToString();
    }

    public string LogTails(int lines = 30) =>
        string.Join('\n', Enumerable.Range(0, Count).Where(i => _nodes[i] is not null).Select(i => Node(i).LogTail(lines)));

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        foreach (var node in _nodes)
            if (node is not null) await node.DisposeAsync();
    }
}

/// <summary>A virtual key: its id (ledger <c>key_id</c>) and its secret.</summary>
public sealed record CreatedKey(string Id, string Secret, int? Rpm);

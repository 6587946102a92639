using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>Where one node listens, and how to reach it from the test process.</summary>
/// <param name="Name">Short name for logs and file names (<c>n1</c>).</param>
/// <param name="ReachAt">Host the test process uses for HTTP (127.0.0.1, or the node's address inside a namespace).</param>
/// <param name="BindHost">Address Kestrel binds (HTTP and gRPC).</param>
/// <param name="AkkaHost">Address Akka.Remote binds and publishes.</param>
public sealed record NodeSpec(string Name, string ReachAt, string BindHost, int HttpPort, int GrpcPort, string AkkaHost, int AkkaPort)
{
    public string AkkaAddress => $"akka.tcp://router@{AkkaHost}:{AkkaPort}";

    public Uri HttpBase => new($"http://{ReachAt}:{HttpPort}/");
}

/// <summary>What <c>/healthz/ready</c> answered.</summary>
public sealed record Readiness(bool Ready, IReadOnlyDictionary<string, string> Checks)
{
    public string Check(string name) => Checks.TryGetValue(name, out var v) ? v : "";

    public override string ToString() => $"ready={Ready} " + string.Join(" ", Checks.Select(c => $"{c.Key}={c.Value}"));
}

/// <summary>
/// A real Router.Node process: started from a generated configuration file, its stdout and stderr captured in a
/// file per node (kept after the run for diagnostics), stopped with <c>kill -TERM</c> (graceful) or SIGKILL (crash).
/// Optionally started inside a network namespace (<c>ip netns exec</c>, which execs, so the pid is the node's).
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private static readonly HttpClient Probe = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(3),
    };

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _logGate = new();
    private bool _logClosed;

    private NodeProcess(NodeSpec spec, Process process, StreamWriter log, string logPath, string configPath, DateTimeOffset startedAt)
    {
        Spec = spec;
        _process = process;
        _log = log;
        LogPath = logPath;
        ConfigPath = configPath;
        StartedAt = startedAt;
    }

    public NodeSpec Spec { get; }

    public string LogPath { get; }

    public string ConfigPath { get; }

    public DateTimeOffset StartedAt { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The Router.Node.dll built beside this assembly's project (same configuration).</summary>
    public static string RouterNodeDll
    {
        get
        {
            var path = typeof(NodeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "RouterNodeDll")?.Value
                ?? throw new InvalidOperationException("The RouterNodeDll assembly metadata is missing from the project file.");
            return File.Exists(path) ? path : throw new FileNotFoundException($"Router.Node is not built at {path}; build the solution first.", path);
        }
    }

    /// <summary>Writes <paramref name="config"/> to <c>{dir}/{name}.json</c> and starts the node (log: <c>{dir}/{name}.log</c>, appended).</summary>
    public static NodeProcess Start(NodeSpec spec, JsonObject config, string dir, string? netns = null)
    {
        Directory.CreateDirectory(dir);
        var configPath = Path.Combine(dir, spec.Name + ".json");
        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var logPath = Path.Combine(dir, spec.Name + ".log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        log.WriteLine($"==== {DateTimeOffset.Now:O} starting {spec.Name} ({spec.AkkaAddress}, http {spec.HttpBase}){(netns is null ? "" : " in netns " + netns)}");

        var psi = new ProcessStartInfo
        {
            FileName = netns is null ? "dotnet" : "ip",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        if (netns is not null)
        {
            foreach (var a in new[] { "netns", "exec", netns, "dotnet" }) psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(RouterNodeDll);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(configPath);
        // Workstation GC: three server-GC nodes on two cores spend their time fighting over heaps.
        psi.Environment["DOTNET_gcServer"] = "0";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var node = new NodeProcess(spec, process, log, logPath, configPath, DateTimeOffset.UtcNow);
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data is null ? null : "[stderr] " + e.Data);
        process.Exited += (_, _) => node.Append($"==== {DateTimeOffset.Now:O} process exited with code {SafeExitCode(process)}");
        if (!process.Start()) throw new InvalidOperationException($"could not start {spec.Name}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private static string SafeExitCode(Process p)
    {
        try
        {
            return p.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_logGate)
        {
            if (!_logClosed) _log.WriteLine(line);
        }
    }

    /// <summary>The node's log so far (for assertions and failure messages).</summary>
    public string ReadLog()
    {
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The last lines of the log, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        var all = ReadLog().Split('\n');
        return $"--- last {lines} lines of {LogPath} ---\n" + string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public async Task<Readiness?> ReadinessAsync(CancellationToken ct = default)
    {
        try
        {
            using var response = await Probe.GetAsync(new Uri(Spec.HttpBase, "healthz/ready"), ct);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
            var checks = body?["checks"]?.AsObject().ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "") ?? [];
            return new Readiness(response.IsSuccessStatusCode, checks);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the node is ready and, with <paramref name="members"/>, sees exactly that many members, all
    /// reachable. Fails with the node's log tail when it exits or the time runs out.
    /// </summary>
    public async Task WaitReadyAsync(TimeSpan timeout, int? members = null, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        Readiness? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (HasExited) throw new InvalidOperationException($"{Spec.Name} exited with code {ExitCode} before it was ready.\n{LogTail()}");
            last = await ReadinessAsync(ct);
            if (last is { Ready: true } && (members is null || last.Check("quorum") == $"yes ({members}/{members} reachable)")) return;
            await Task.Delay(200, ct);
        }
        throw new TimeoutException($"{Spec.Name} was not ready{(members is null ? "" : $" with {members} members")} within {timeout.TotalSeconds:0} s; last answer: {last?.ToString() ?? "none"}.\n{LogTail()}");
    }

    /// <summary>Graceful stop, as Kubernetes does it: <c>kill -TERM pid</c>.</summary>
    public void Terminate()
    {
        Append($"==== {DateTimeOffset.Now:O} test sends SIGTERM");
        Process kill;
        try
        {
            kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"could not run `kill -TERM {Pid}`: {ex.Message}. The cluster tests need the kill binary from procps (apt-get install procps; ./test.sh installs it).", ex);
        }
        using var _ = kill;
        kill.WaitForExit();
        if (kill.ExitCode != 0 && !HasExited) throw new InvalidOperationException($"kill -TERM {Pid} failed with {kill.ExitCode}");
    }

    /// <summary>A crash: SIGKILL, no shutdown of any kind.</summary>
    public void Kill()
    {
        Append($"==== {DateTimeOffset.Now:O} test sends SIGKILL");
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>Waits for the process to end; returns its exit code, or null if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            Kill();
            await WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        lock (_logGate)
        {
            _logClosed = true;
            _log.Dispose();
        }
        _process.Dispose();
    }
}

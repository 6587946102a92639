using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Router.Node.Tests.Infrastructure;

/// <summary>
/// A Router node as a real OS process (<c>dotnet Router.Node.dll --config FILE</c> from the build output), for
/// tests that kill, restart or signal a node: what an in-process host cannot show (a kill -9 loses everything
/// not yet on disk; SIGTERM runs the real shutdown path). Output is kept (last lines) for failure messages.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private const int OutputLines = 300;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private NodeProcess(Process process, Uri httpBase)
    {
        _process = process;
        HttpBase = httpBase;
    }

    /// <summary>Router.Node.dll built beside this test assembly's configuration (Debug/Release).</summary>
    public static string NodeDll { get; } = FindNodeDll();

    public Uri HttpBase { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the node wrote (stdout and stderr).</summary>
    public string Output
    {
        get { lock (_output) return string.Join('\n', _output); }
    }

    /// <summary>Starts the node and waits until <c>/healthz/ready</c> answers 200 (or the process exits).</summary>
    /// <param name="httpBase">The node's HTTP address, as the config file sets it.</param>
    public static async Task<NodeProcess> StartAsync(
        string configFile, Uri httpBase, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? readyTimeout = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(NodeDll)!,
        };
        start.ArgumentList.Add(NodeDll);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(Path.GetFullPath(configFile));
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(process, httpBase);
        process.OutputDataReceived += (_, e) => node.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => node.Keep(e.Data);
        if (!process.Start()) throw new InvalidOperationException("dotnet did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await node.WaitReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        return node;
    }

    /// <summary>Polls <c>/healthz/ready</c> until it answers 200; fails early when the process exits.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = HttpBase, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The node exited with code {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                using var response = await http.GetAsync("/healthz/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The node was not ready within {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL to the whole process tree: nothing runs on the way out.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM (the graceful path: drain, hand off, exit) and the exit code once it has exited.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
            })!;
            await kill.WaitForExitAsync();
        }
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The node did not exit within {timeout} of SIGTERM:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>A TCP port free on 127.0.0.1 right now (for config files, which must name their ports).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLines) _output.Dequeue();
        }
    }

    private static string FindNodeDll()
    {
        var baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var configuration = new DirectoryInfo(baseDir).Parent?.Name ?? "Debug"; // …/bin/{Configuration}/{tfm}/
        var tfm = new DirectoryInfo(baseDir).Name;
        for (var dir = new DirectoryInfo(baseDir); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Router.sln"))) continue;
            var dll = Path.Combine(dir.FullName, "src", "Router.Node", "bin", configuration, tfm, "Router.Node.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build src/Router.Node ({configuration}) first: {dll} is missing.");
        }
        throw new DirectoryNotFoundException($"No Router.sln above {baseDir}.");
    }
}

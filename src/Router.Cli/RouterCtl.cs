using System.CommandLine;
using Grpc.Core;

namespace Router.Cli;

/// <summary>
/// <c>routerctl</c>: the command tree (words follow Petabridge.Cmd's <c>pbm</c>) and the exit-code contract. A public
/// entry that takes its writers, so tests and the cluster test project can run it in-process or as a process.
/// </summary>
public static class RouterCtl
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;
    /// <summary>The node refused the operation (unknown key id, leave of a non-member, …).</summary>
    public const int Refused = 1;
    /// <summary>The command line (or an argument the node checked) is wrong.</summary>
    public const int BadUsage = 2;
    /// <summary>The node could not be reached, or did not answer within the deadline.</summary>
    public const int Unreachable = 3;
    /// <summary>The admin key is missing or wrong, or the node has no admin key configured.</summary>
    public const int Unauthorized = 4;

    public const string DefaultHost = "127.0.0.1:8081";
    public const string AdminKeyVariable = "ROUTER_ADMIN_KEY";

    /// <summary>Runs one command line; results go to <paramref name="output"/>, the one-line reason for a failure to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new Commands(output, error).Root;
        var parse = root.Parse(args);
        // Help and version clear parse errors; anything else with errors is bad usage, said in one line.
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            // "Required command was not provided" comes first even when a misspelt command explains it.
            var first = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            error.WriteLine($"routerctl: {OneLine(first.Message)} (see 'routerctl --help')");
            return BadUsage;
        }
        // No termination-signal handler: an in-process caller (tests, the cluster suite) keeps its own signals, and
        // every call has a 5 s deadline anyway, so Ctrl+C may simply end the process.
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }, cancellationToken);
    }

    internal static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Runs one admin call with the global options and turns failures into the exit-code contract.</summary>
    internal static async Task<int> WithSessionAsync(
        ParseResult parse, GlobalOptions globals, TextWriter output, TextWriter error, CancellationToken ct,
        Func<AdminSession, Output, Task<int>> action)
    {
        var host = parse.GetValue(globals.Host) ?? DefaultHost;
        if (AdminSession.ParseHost(host) is not { } address)
        {
            error.WriteLine($"routerctl: --host '{host}' is not host:port (e.g. {DefaultHost})");
            return BadUsage;
        }
        var key = parse.GetValue(globals.AdminKey);
        if (string.IsNullOrEmpty(key)) key = Environment.GetEnvironmentVariable(AdminKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            error.WriteLine($"routerctl: no admin key: pass --admin-key or set {AdminKeyVariable}");
            return Unauthorized;
        }
        using var session = AdminSession.Open(host, address, key, ct);
        try
        {
            return await action(session, new Output(output, parse.GetValue(globals.Json)));
        }
        catch (RpcException ex) when (AdminSession.IsConnectFailure(ex))
        {
            error.WriteLine($"routerctl: cannot reach {host}: {OneLine(AdminSession.ConnectFailureReason(ex))}");
            return Unreachable;
        }
        catch (RpcException ex)
        {
            var (code, prefix) = ex.StatusCode switch
            {
                StatusCode.Unauthenticated or StatusCode.PermissionDenied => (Unauthorized, "unauthorized: "),
                StatusCode.InvalidArgument => (BadUsage, ""),
                StatusCode.Unavailable => (Unreachable, ""),
                StatusCode.Unimplemented => (Unreachable, $"{host} does not serve router.v1.Admin (not a Router gRPC port?): "),
                _ => (Refused, ""),
            };
            error.WriteLine($"routerctl: {prefix}{OneLine(ex.Status.Detail)}");
            return code;
        }
    }
}

/// <summary>Options every command accepts, before or after the command words.</summary>
internal sealed class GlobalOptions
{
    public Option<string> Host { get; } = new("--host", "-H")
    {
        Description = "Node's gRPC address, host:port",
        DefaultValueFactory = _ => RouterCtl.DefaultHost,
        Recursive = true,
    };

    public Option<string> AdminKey { get; } = new("--admin-key")
    {
        Description = $"Admin key (default: ${RouterCtl.AdminKeyVariable})",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };
}

using System.Diagnostics;

namespace Router.Cluster.Tests.Infrastructure;

/// <summary>
/// One network namespace per node, so a node can be cut off from the others on one machine. Each namespace has
/// two links:
/// <list type="bullet">
/// <item>cluster link: a veth into a bridge shared by all nodes, address <c>10.99.R.i</c>; Akka talks over it, and
/// <see cref="Cut"/> takes its host end down (<c>ip link set … down</c>), which is the partition;</item>
/// <item>management link: a point-to-point veth to the host (<c>10.98.R.4(i-1)+1</c> host side,
/// <c>+2</c> node side) that the partition never touches, so the test keeps watching the cut-off node's HTTP
/// answers and every node keeps reaching PostgreSQL through a forwarder on the host.</item>
/// </list>
/// R is random per run. Everything is removed on dispose (deleting a namespace deletes its veths).
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = [];
    private readonly int _subnet;
    private readonly string _prefix;

    private NetworkLab(int subnet, string prefix)
    {
        _subnet = subnet;
        _prefix = prefix;
    }

    public int Count => _namespaces.Count;

    public string Namespace(int i) => _namespaces[i];

    /// <summary>Node <paramref name="i"/>'s cluster address (Akka binds and publishes it).</summary>
    public string ClusterAddress(int i) => $"10.99.{_subnet}.{i + 1}";

    /// <summary>Node <paramref name="i"/>'s management address (the test's HTTP client uses it).</summary>
    public string ManagementAddress(int i) => $"10.98.{_subnet}.{4 * i + 2}";

    /// <summary>The host's end of node <paramref name="i"/>'s management link (where the PostgreSQL forwarder listens).</summary>
    public string HostAddressFor(int i) => $"10.98.{_subnet}.{4 * i + 1}";

    private string ClusterLink(int i) => $"{_prefix}c{i + 1}";

    /// <summary>
    /// Creates the namespaces and links, or fails with a message that says what is missing (root, iproute2,
    /// permission to create namespaces): the partition test must fail, not skip, where it cannot run.
    /// </summary>
    public static async Task<NetworkLab> CreateAsync(int nodes)
    {
        var subnet = Random.Shared.Next(1, 250);
        var lab = new NetworkLab(subnet, $"rt{Random.Shared.Next(0x1000, 0xffff):x4}");
        try
        {
            await lab.BuildAsync(nodes);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(int nodes)
    {
        var bridge = _prefix + "br";
        await RequireAsync($"link add {bridge} type bridge", "creating a bridge");
        _links.Add(bridge);
        await IpAsync($"link set {bridge} up");
        for (var i = 0; i < nodes; i++)
        {
            var ns = $"{_prefix}-n{i + 1}";
            await RequireAsync($"netns add {ns}", "creating a network namespace");
            _namespaces.Add(ns);
            await IpAsync($"netns exec {ns} ip link set lo up");

            // Cluster link into the bridge.
            var c = ClusterLink(i);
            await IpAsync($"link add {c} type veth peer name {c}p");
            _links.Add(c);
            await IpAsync($"link set {c}p netns {ns}");
            await IpAsync($"link set {c} master {bridge}");
            await IpAsync($"link set {c} up");
            await IpAsync($"netns exec {ns} ip addr add {ClusterAddress(i)}/24 dev {c}p");
            await IpAsync($"netns exec {ns} ip link set {c}p up");

            // Management link to the host.
            var m = $"{_prefix}m{i + 1}";
            await IpAsync($"link add {m} type veth peer name {m}p");
            _links.Add(m);
            await IpAsync($"link set {m}p netns {ns}");
            await IpAsync($"addr add {HostAddressFor(i)}/30 dev {m}");
            await IpAsync($"link set {m} up");
            await IpAsync($"netns exec {ns} ip addr add {ManagementAddress(i)}/30 dev {m}p");
            await IpAsync($"netns exec {ns} ip link set {m}p up");
        }
    }

    /// <summary>The partition: node <paramref name="i"/>'s cluster link goes down; its management link stays up.</summary>
    public Task CutAsync(int i) => IpAsync($"link set {ClusterLink(i)} down");

    public Task HealAsync(int i) => IpAsync($"link set {ClusterLink(i)} up");

    private static async Task RequireAsync(string args, string what)
    {
        var (code, output) = await RunAsync("ip", args);
        if (code != 0)
            throw new InvalidOperationException(
                $"The partition test needs root and iproute2 with network namespaces, and {what} failed " +
                $"(`ip {args}` exited {code}: {output.Trim()}). Run the cluster tests as root on a machine that allows " +
                "`ip netns add` (a privileged container or a VM).");
    }

    private static async Task IpAsync(string args)
    {
        var (code, output) = await RunAsync("ip", args);
        if (code != 0) throw new InvalidOperationException($"`ip {args}` exited {code}: {output.Trim()}");
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (127, $"{file} could not be started: {ex.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Deleting a namespace deletes the veth ends inside it, and with them their host ends.
        foreach (var ns in _namespaces) await RunAsync("ip", $"netns del {ns}");
        foreach (var link in _links) await RunAsync("ip", $"link del {link}");
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Router.Node.Configuration;
using Router.Node.Hosting;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Configuration;

/// <summary>
/// A bad configuration stops start-up with one line naming the field: through <see cref="RouterHost.Build"/>
/// in-process, and once through the real executable (exit code 2, one line on stderr).
/// </summary>
public sealed class ConfigurationTests
{
    private static JsonObject ValidRouter() => new()
    {
        ["Http"] = new JsonObject { ["Port"] = 0 },
        ["Grpc"] = new JsonObject { ["Port"] = 0 },
        ["Cluster"] = new JsonObject { ["Port"] = 0 },
        ["Providers"] = new JsonArray
        {
            E2e.SimulatedProvider("sim"),
            new JsonObject
            {
                ["Name"] = "openai", ["Kind"] = "openai", ["BaseUrl"] = "http://127.0.0.1:9/v1",
                ["Keys"] = new JsonArray { new JsonObject { ["Id"] = "primary", ["Secret"] = "sk-literal" } },
            },
        },
        ["Models"] = new JsonArray { E2e.Model("a", "sim", "a-1"), E2e.Model("b", "sim", "b-1") },
        ["Keys"] = new JsonArray { E2e.Key("demo", "sk-test-demo", "*") },
    };

    private static WebApplication Build(JsonObject router)
    {
        var json = new JsonObject { ["Router"] = router }.ToJsonString();
        return RouterHost.Build([], config =>
        {
            config.Sources.Clear();
            config.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        });
    }

    private static ConfigurationException Refused(JsonObject router) => Assert.Throws<ConfigurationException>(() => Build(router));

    [Fact]
    public async Task The_valid_baseline_builds()
    {
        // Guards the tests below: each fails for the one mistake it makes, not for something in the baseline.
        await using var app = Build(ValidRouter());

        var options = app.Services.GetRequiredService<RouterOptions>();
        Assert.Equal(["sim", "openai"], options.Providers.Select(p => p.Name));
        Assert.Equal(["a", "b"], options.Models.Select(m => m.Id));
        Assert.Equal(["demo"], options.Keys.Select(k => k.Name));
    }

    [Fact]
    public async Task Lists_in_a_config_file_replace_those_of_appsettings_instead_of_merging_by_index()
    {
        // appsettings.json (next to the binaries) ships the demo key with Rpm 60 and a budget; a --config file
        // with one key of its own must not inherit those limits element by element.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "appsettings.json")));
        var file = Path.Combine(Path.GetTempPath(), $"router-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            { "Router": { "Http": { "Port": 0 }, "Grpc": { "Port": 0 },
                          "Keys": [ { "Name": "only", "Key": "sk-only" } ] } }
            """);
        try
        {
            await using var app = RouterHost.Build(["--config", file]);
            var options = app.Services.GetRequiredService<RouterOptions>();
            var key = Assert.Single(options.Keys);
            Assert.Equal("only", key.Name);
            Assert.Null(key.Rpm);
            Assert.Null(key.BudgetUsd);
            // Lists the file does not name still come from appsettings.json.
            Assert.Contains(options.Models, m => m.Id == "sim-small");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_deployment_naming_an_unknown_provider_is_refused_naming_the_field()
    {
        var router = ValidRouter();
        router["Models"]![0]!["Deployments"]![0]!["Provider"] = "opena";

        var ex = Refused(router);

        Assert.Equal("Router:Models:0:Deployments:0:Provider", ex.Field);
        Assert.StartsWith("Router:Models:0:Deployments:0:Provider: ", ex.Message);
        Assert.Contains("'opena'", ex.Message);
    }

    [Fact]
    public void A_fallback_cycle_is_refused()
    {
        var router = ValidRouter();
        router["Models"]![0]!["Fallbacks"] = new JsonArray("b");
        router["Models"]![1]!["Fallbacks"] = new JsonArray("a");

        var ex = Refused(router);

        Assert.StartsWith("Router:Models", ex.Field);
        Assert.Contains("cycle", ex.Message);
        Assert.Contains("a -> b -> a", ex.Message);
    }

    [Fact]
    public void An_unset_env_secret_of_a_provider_key_is_refused_naming_the_field()
    {
        var variable = $"ROUTER_E2E_UNSET_{Guid.NewGuid():N}";
        var router = ValidRouter();
        router["Providers"]![1]!["Keys"]![0]!["Secret"] = "env:" + variable;

        var ex = Refused(router);

        Assert.Equal("Router:Providers:1:Keys:0:Secret", ex.Field);
        Assert.Contains(variable, ex.Message);
    }

    [Fact]
    public void An_unset_env_virtual_key_is_refused_naming_the_field()
    {
        var variable = $"ROUTER_E2E_UNSET_{Guid.NewGuid():N}";
        var router = ValidRouter();
        router["Keys"]![0]!["Key"] = "env:" + variable;

        var ex = Refused(router);

        Assert.Equal("Router:Keys:0:Key", ex.Field);
        Assert.Contains(variable, ex.Message);
    }

    [Fact]
    public async Task A_keys_models_list_replaces_the_allow_everything_default()
    {
        var router = ValidRouter();
        router["Keys"] = new JsonArray { E2e.Key("restricted", "sk-test-restricted", "a") };

        await using var app = Build(router);

        // The binder appends to a list property that already has items; a default of ["*"] would survive.
        Assert.Equal(["a"], app.Services.GetRequiredService<RouterOptions>().Keys[0].Models);
    }

    [Fact]
    public async Task The_real_process_exits_with_2_and_one_line_naming_the_field()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Router.Node.dll");
        Assert.True(File.Exists(dll), $"Router.Node.dll is not next to the test assembly in {AppContext.BaseDirectory}.");
        Assert.True(File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")), "Router.Node.runtimeconfig.json is missing.");
        var dir = Directory.CreateTempSubdirectory("router-e2e-config-");
        try
        {
            var bad = Path.Combine(dir.FullName, "bad.json");
            var router = ValidRouter();
            router["Models"]![0]!["Deployments"]![0]!["Provider"] = "opena";
            await File.WriteAllTextAsync(bad, new JsonObject { ["Router"] = router }.ToJsonString());

            var (exitCode, stdout, stderr) = await RunAsync(DotnetHost(), [dll, "--config", bad], dir.FullName);

            Assert.True(exitCode == 2, $"exit code {exitCode}\nstdout: {stdout}\nstderr: {stderr}");
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.Equal("router: configuration error: Router:Models:0:Deployments:0:Provider: unknown provider 'opena'", line);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The <c>dotnet</c> host running this test, so the child uses the same runtime.</summary>
    private static string DotnetHost()
    {
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, string[] args, string workingDirectory)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A node that did not refuse its configuration would run forever: stop the one we started.
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"The process did not exit within 60 s. stderr: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}

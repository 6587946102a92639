using Router.Node.Configuration;
using Router.Node.Hosting;

try
{
    var app = RouterHost.Build(args);
    await app.RunAsync();
    // 0 after a SIGTERM; AkkaSetup sets 3 when the cluster removed this node (e.g. downed by the split-brain resolver).
    return Environment.ExitCode;
}
catch (ConfigurationException ex)
{
    // One clear line naming the field; no stack trace for a configuration mistake.
    Console.Error.WriteLine($"router: configuration error: {ex.Message}");
    return 2;
}

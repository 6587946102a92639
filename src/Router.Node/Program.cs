using Router.Node.Configuration;
using Router.Node.Hosting;

try
{
    var app = RouterHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (ConfigurationException ex)
{
    // One clear line naming the field; no stack trace for a configuration mistake.
    Console.Error.WriteLine($"router: configuration error: {ex.Message}");
    return 2;
}

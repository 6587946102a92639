namespace Router.Cli;

/// <summary>Process entry; everything else is in <see cref="RouterCtl"/> so tests can run it in-process.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => RouterCtl.RunAsync(args, Console.Out, Console.Error);
}

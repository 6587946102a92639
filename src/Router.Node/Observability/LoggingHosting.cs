using System.Text.Json;
using Router.Node.Configuration;

namespace Router.Node.Observability;

/// <summary><c>Router:Logging</c>.</summary>
public sealed class LoggingOptions
{
    public const string Text = "text";
    public const string Json = "json";

    /// <summary><c>text</c> (default, human-readable) or <c>json</c> (one JSON object per line on stdout).</summary>
    public string Format { get; set; } = Text;
}

/// <summary>
/// The console log format. Scopes are always written: inside a request every line then carries ASP.NET Core's
/// <c>RequestId</c> and the request's <c>TraceId</c>/<c>SpanId</c> (the host tracks the request's Activity).
/// </summary>
public static class LoggingHosting
{
    public static ILoggingBuilder AddRouterLogging(this ILoggingBuilder logging, RouterOptions options)
    {
        var format = options.Logging.Format?.Trim().ToLowerInvariant();
        switch (format)
        {
            case null or "" or LoggingOptions.Text:
                logging.AddSimpleConsole(o => o.IncludeScopes = true);
                break;
            case LoggingOptions.Json:
                logging.AddJsonConsole(o =>
                {
                    o.IncludeScopes = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    o.JsonWriterOptions = new JsonWriterOptions { Indented = false };
                });
                break;
            default:
                throw new ConfigurationException("Router:Logging:Format", $"'{options.Logging.Format}' is not one of text, json");
        }
        return logging;
    }
}

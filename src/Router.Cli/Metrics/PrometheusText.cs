using System.Globalization;
using System.Text;

namespace Router.Cli.Metrics;

/// <summary>One sample line of a scrape: <c>name{label="value",…} value</c>.</summary>
public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// A parsed <c>/metrics</c> answer in the Prometheus text exposition format (version 0.0.4, what the OpenTelemetry
/// Prometheus exporter writes): comments and <c># TYPE</c> lines are skipped, timestamps ignored.
/// </summary>
public sealed class PrometheusText
{
    private PrometheusText(IReadOnlyList<PromSample> samples) => Samples = samples;

    public IReadOnlyList<PromSample> Samples { get; }

    /// <summary>Every sample named <paramref name="name"/>.</summary>
    public IEnumerable<PromSample> Named(string name) => Samples.Where(s => s.Name == name);

    /// <summary>Parses a scrape; a malformed line throws <see cref="FormatException"/> naming its line number.</summary>
    public static PrometheusText Parse(string text)
    {
        var samples = new List<PromSample>();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            try
            {
                samples.Add(ParseLine(line));
            }
            catch (FormatException ex)
            {
                throw new FormatException($"line {lineNumber}: {ex.Message}: {line}");
            }
        }
        return new PrometheusText(samples);
    }

    private static PromSample ParseLine(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ' && line[i] != '\t') i++;
        var name = line[..i];
        if (name.Length == 0) throw new FormatException("no metric name");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && (line[i] == ' ' || line[i] == ',')) i++;
                if (i >= line.Length) throw new FormatException("unterminated label set");
                if (line[i] == '}') { i++; break; }
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"') throw new FormatException("label without a quoted value");
                var label = line[i..eq].Trim();
                i = eq + 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException("unterminated label value");
                    var c = line[i++];
                    if (c == '"') break;
                    if (c == '\\' && i < line.Length)
                    {
                        var e = line[i++];
                        value.Append(e switch { 'n' => '\n', _ => e });
                    }
                    else value.Append(c);
                }
                labels[label] = value.ToString();
            }
        }
        var rest = line[i..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2) throw new FormatException("expected a value and an optional timestamp");
        return new PromSample(name, labels, ParseValue(rest[0]));
    }

    /// <summary>A sample value or an <c>le</c> bound: a float, <c>+Inf</c>, <c>-Inf</c> or <c>NaN</c>.</summary>
    public static double ParseValue(string text) => text switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"'{text}' is not a number"),
    };
}

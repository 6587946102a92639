using System.Globalization;

namespace Router.Node.Tests.Observability;

/// <summary>One sample of a Prometheus text scrape: metric name, labels, value.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A small parser for the Prometheus text exposition format (enough for asserting on a scrape).</summary>
public static class PrometheusText
{
    public static IReadOnlyList<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = line.IndexOf('{');
            string name;
            string rest;
            if (brace >= 0)
            {
                name = line[..brace];
                var i = brace + 1;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq].Trim();
                    var sb = new System.Text.StringBuilder();
                    var j = eq + 2; // past ="
                    for (; line[j] != '"'; j++)
                    {
                        if (line[j] == '\\')
                        {
                            j++;
                            sb.Append(line[j] == 'n' ? '\n' : line[j]);
                        }
                        else sb.Append(line[j]);
                    }
                    labels[key] = sb.ToString();
                    i = j + 1;
                    if (line[i] == ',') i++;
                }
                rest = line[(i + 1)..].Trim();
            }
            else
            {
                var space = line.IndexOf(' ');
                name = line[..space];
                rest = line[(space + 1)..].Trim();
            }
            var value = rest.Split(' ')[0];
            samples.Add(new Sample(name, labels, value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            }));
        }
        return samples;
    }

    /// <summary>The sum of <paramref name="name"/>'s samples whose labels include every pair given.</summary>
    public static double Sum(this IReadOnlyList<Sample> samples, string name, params (string Label, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Sum(s => s.Value);

    public static bool Has(this IReadOnlyList<Sample> samples, string name) => samples.Any(s => s.Name == name);
}

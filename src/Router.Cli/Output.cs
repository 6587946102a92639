using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Router.Cli;

/// <summary>
/// Where results go: Spectre tables for people, or one indented JSON document for scripts (<c>--json</c>). Table cells
/// are plain <see cref="Text"/>, never markup, so a value with brackets prints as it is.
/// </summary>
internal sealed class Output
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly TextWriter _writer;
    private readonly IAnsiConsole _console;

    public Output(TextWriter writer, bool json)
    {
        _writer = writer;
        Json = json;
        var terminal = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        // Redirected output has no width to detect; wide enough that tables do not wrap in files and tests.
        if (!terminal) _console.Profile.Width = 200;
    }

    public bool Json { get; }

    public void WriteJson(object value) => _writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public void Line(string text) => _writer.WriteLine(text);

    /// <summary>A table; a column whose header is in <paramref name="optional"/> is left out when every cell is empty.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, params string[] optional)
    {
        var all = rows.ToList();
        var keep = Enumerable.Range(0, headers.Count)
            .Where(i => !optional.Contains(headers[i]) || all.Any(r => r[i].Length > 0))
            .ToArray();
        var table = new Table { Border = TableBorder.Rounded };
        foreach (var i in keep) table.AddColumn(new TableColumn(new Text(headers[i])));
        foreach (var row in all) table.AddRow(keep.Select(i => (IRenderable)new Text(row[i])).ToArray());
        _console.Write(table);
    }

    /// <summary>A field/value listing for one object (<c>keys show</c>).</summary>
    public void Fields(IReadOnlyList<(string Field, string Value)> fields)
    {
        var width = fields.Max(f => f.Field.Length) + 2;
        foreach (var (f, v) in fields) _writer.WriteLine(f.PadRight(width) + v);
    }

    /// <summary>Money and prices as decimals in JSON (<c>0.00004635</c>, not <c>4.635E-05</c>).</summary>
    public static decimal Dec(double value) => (decimal)value;

    public static decimal? Dec(double? value) => value is { } v ? (decimal)v : null;

    public static string Time(long? unixMs) =>
        unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    public static DateTimeOffset? JsonTime(long? unixMs) => unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    public static string Num(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";

    public static string Usd(double? usd) => usd is { } v ? "$" + v.ToString("0.######", CultureInfo.InvariantCulture) : "-";

    public static string Ms(long? ms) => ms is { } v ? TimeSpan.FromMilliseconds(v).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "-";

    public static string List(IEnumerable<string> items)
    {
        var text = string.Join(", ", items);
        return text.Length == 0 ? "-" : text;
    }
}

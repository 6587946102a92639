using System.Buffers;
using System.Text;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Node.Wire.Anthropic;
using Router.Node.Wire.OpenAi;

namespace Router.Node.Tests.Wire.Properties;

/// <summary>The trips the properties take: canonical → wire bytes → canonical, and SSE framing.</summary>
internal static class Wires
{
    public const int DefaultMaxTokens = 4096;

    public static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses <paramref name="json"/> with a wire's request parser, as an ingress does.</summary>
    public static ChatRequest Parse(string json, Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> parse)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        using var doc = JsonDocument.Parse(bytes);
        return parse(doc.RootElement, bytes);
    }

    public static string OpenAiRequest(ChatRequest r) =>
        Write(w => OpenAiChatWire.WriteRequest(w, r, r.Model, r.Stream));

    public static string AnthropicRequest(ChatRequest r) =>
        Write(w => AnthropicWire.WriteRequest(w, r, r.Model, r.Stream, DefaultMaxTokens));

    /// <summary>The request an OpenAI Chat upstream would receive, read back as an OpenAI ingress would read it.</summary>
    public static ChatRequest ViaOpenAi(ChatRequest r, out string json)
    {
        json = OpenAiRequest(r);
        return Parse(json, OpenAiChatWire.ParseRequest);
    }

    /// <summary>The request an Anthropic upstream would receive, read back as the Anthropic ingress would read it.</summary>
    public static ChatRequest ViaAnthropic(ChatRequest r, out string json)
    {
        json = AnthropicRequest(r);
        return Parse(json, AnthropicWire.ParseRequest);
    }

    public static JsonElement Element(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public sealed record SseEvent(string? Name, string Data);

    /// <summary>
    /// Splits an SSE stream into events as the HTML living standard says: blank lines end events, <c>event:</c> names
    /// them, <c>data:</c> lines (one leading space removed) join with newlines.
    /// </summary>
    public static List<SseEvent> Sse(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        Assert.EndsWith("\n\n", text);
        var events = new List<SseEvent>();
        string? name = null;
        StringBuilder? data = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                if (data is not null) events.Add(new SseEvent(name, data.ToString()));
                name = null;
                data = null;
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "event":
                    name = value;
                    break;
                case "data":
                    if (data is null) data = new StringBuilder(value);
                    else data.Append('\n').Append(value);
                    break;
                default:
                    Assert.Fail($"Unexpected SSE line: {line}");
                    break;
            }
        }
        return events;
    }
}

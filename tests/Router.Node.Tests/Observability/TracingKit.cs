using System.Diagnostics;
using System.Text.Json.Nodes;
using OpenTelemetry.Trace;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Observability;

/// <summary>
/// A node recording its spans into memory (OpenTelemetry's in-memory exporter, attached through the overrides hook),
/// and a client trace context to send with a request. Listeners are process-wide, so spans are always picked by the
/// trace id the test sent.
/// </summary>
internal sealed class TracingKit
{
    private readonly SpanList _spans = new();

    /// <summary>A client's own span: its <c>traceparent</c> is what Router must continue.</summary>
    public ActivityTraceId TraceId { get; } = ActivityTraceId.CreateRandom();
    public ActivitySpanId ClientSpanId { get; } = ActivitySpanId.CreateRandom();
    public string TraceParent => $"00-{TraceId.ToHexString()}-{ClientSpanId.ToHexString()}-01";

    public static JsonObject WithTracing(JsonObject router)
    {
        router["Tracing"] = new JsonObject { ["Enabled"] = true };
        return router;
    }

    public Action<IServiceCollection> Overrides => services =>
        services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans));

    /// <summary>Router's SERVER span of the trace: the one continuing the client's span (the in-process fake upstream has its own).</summary>
    public Activity RouterSpan(IReadOnlyList<Activity> trace) => Assert.Single(trace, a => a.Kind == ActivityKind.Server && a.ParentSpanId == ClientSpanId);

    /// <summary>
    /// Sends with the client's <c>traceparent</c> as given: this process's own HttpClient spans (the exporter listens
    /// process-wide) must not replace it.
    /// </summary>
    public async Task<ChatAnswer> SendAsync(RouterTestNode node, HttpRequestMessage request)
    {
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = node.HttpBase, Timeout = FailoverKit.Bound };
        request.Headers.Add("traceparent", TraceParent);
        using (request)
        {
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            return new ChatAnswer(response.StatusCode, body, response.Headers);
        }
    }

    /// <summary>This trace's spans, once its SERVER span has ended (the server span ends last, after the response).</summary>
    public async Task<IReadOnlyList<Activity>> TraceAsync()
    {
        var deadline = DateTime.UtcNow + FailoverKit.Bound;
        while (DateTime.UtcNow < deadline)
        {
            var trace = _spans.Snapshot().Where(a => a.TraceId == TraceId).ToList();
            if (trace.Any(a => a.Kind == ActivityKind.Server && a.ParentSpanId == ClientSpanId)) return trace;
            await Task.Delay(20);
        }
        var seen = string.Join("; ", _spans.Snapshot().Select(a => $"{a.Source.Name}/{a.Kind}/{a.DisplayName}/{a.TraceId}"));
        throw new TimeoutException($"No SERVER span of trace {TraceId} within {FailoverKit.Bound}; exported: {seen}");
    }

    /// <summary>The exporter writes from the thread that ends a span; the test reads from its own.</summary>
    private sealed class SpanList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public Activity[] Snapshot()
        {
            lock (_items) return [.. _items];
        }

        public void Add(Activity item)
        {
            lock (_items) _items.Add(item);
        }

        public void Clear()
        {
            lock (_items) _items.Clear();
        }

        public bool Contains(Activity item)
        {
            lock (_items) return _items.Contains(item);
        }

        public void CopyTo(Activity[] array, int arrayIndex)
        {
            lock (_items) _items.CopyTo(array, arrayIndex);
        }

        public bool Remove(Activity item)
        {
            lock (_items) return _items.Remove(item);
        }

        public int Count
        {
            get { lock (_items) return _items.Count; }
        }

        public bool IsReadOnly => false;
        public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

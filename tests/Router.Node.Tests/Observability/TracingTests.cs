using System.Diagnostics;
using System.Net;
using Router.Node.Tests.Infrastructure;
using Router.Testing;
using static Router.Node.Tests.Infrastructure.FailoverKit;

namespace Router.Node.Tests.Observability;

/// <summary>
/// Traces of real requests through a real node: the client's trace is continued, the request's SERVER span carries
/// the GenAI attributes, admission and every upstream attempt are its children, HttpClient's span nests under the
/// attempt and the upstream receives the same trace; nothing secret is recorded.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class TracingTests
{
    [Fact]
    public async Task A_request_continues_the_client_trace_through_admission_and_the_attempt_to_the_upstream()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Answer("hello there", promptTokens: 11, completionTokens: 7));
        var kit = new TracingKit();
        await using var node = await RouterTestNode.StartAsync(
            TracingKit.WithTracing(Config([Provider("openai", fake.BaseUrl)], [Model("gpt", "openai")])), overrides: kit.Overrides);

        var request = node.Post("/v1/chat/completions", OpenAiBody("gpt"));
        var answer = await kit.SendAsync(node, request);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var trace = await kit.TraceAsync();

        // The SERVER span continues the client's span and is named as the GenAI conventions name it.
        var server = kit.RouterSpan(trace);
        Assert.Equal(kit.ClientSpanId, server.ParentSpanId);
        Assert.Equal("chat gpt", server.DisplayName);
        Assert.Equal("chat", server.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("gpt", server.GetTagItem("gen_ai.request.model"));
        Assert.Equal("upstream-gpt", server.GetTagItem("gen_ai.response.model"));
        Assert.Equal("openai", server.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(11, server.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(7, server.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(new[] { "stop" }, server.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(1, server.GetTagItem("router.attempts"));
        Assert.Equal(answer.Header("x-router-request-id"), server.GetTagItem("router.request_id"));

        // Admission (on the key's owner, here the same node) and the attempt are its children.
        var admission = Assert.Single(trace, a => a.DisplayName == "router.admission");
        Assert.Equal(server.SpanId, admission.ParentSpanId);
        Assert.Equal(true, admission.GetTagItem("router.admission.admitted"));
        var attempt = Assert.Single(trace, a => a.Source.Name == "Router" && a.Kind == ActivityKind.Client);
        Assert.Equal(server.SpanId, attempt.ParentSpanId);
        Assert.Equal("chat upstream-gpt", attempt.DisplayName);
        Assert.Equal("gpt/openai", attempt.GetTagItem("router.deployment"));
        Assert.Equal("k", attempt.GetTagItem("router.provider_key"));

        // HttpClient's span nests under the attempt, and the upstream received that span as its parent.
        var http = Assert.Single(trace, a => a.Source.Name == "System.Net.Http");
        Assert.Equal(attempt.SpanId, http.ParentSpanId);
        var sent = fake.LastRequest.Header("traceparent");
        Assert.Equal($"00-{kit.TraceId.ToHexString()}-{http.SpanId.ToHexString()}-01", sent);
    }

    [Fact]
    public async Task A_retried_request_has_a_failed_attempt_a_backoff_and_a_successful_attempt_as_siblings()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Enqueue(Behaviour.Status(500)).Always(Behaviour.Answer("ok"));
        var kit = new TracingKit();
        await using var node = await RouterTestNode.StartAsync(
            TracingKit.WithTracing(Config([Provider("openai", fake.BaseUrl)], [Model("gpt", "openai")])), overrides: kit.Overrides);

        var request = node.Post("/v1/chat/completions", OpenAiBody("gpt", stream: true));
        var answer = await kit.SendAsync(node, request);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var trace = await kit.TraceAsync();

        var server = kit.RouterSpan(trace);
        Assert.Equal(2, server.GetTagItem("router.attempts"));
        Assert.Equal(true, server.GetTagItem("router.stream"));
        var attempts = trace.Where(a => a.Source.Name == "Router" && a.Kind == ActivityKind.Client).OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(server.SpanId, a.ParentSpanId));
        Assert.Equal(1, attempts[0].GetTagItem("router.attempt"));
        Assert.Equal("ServerError", attempts[0].GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(2, attempts[1].GetTagItem("router.attempt"));
        Assert.Null(attempts[1].GetTagItem("error.type"));
        var backoff = Assert.Single(trace, a => a.DisplayName == "router.backoff");
        Assert.Equal(server.SpanId, backoff.ParentSpanId);
        // Each upstream call nests under its own attempt.
        var calls = trace.Where(a => a.Source.Name == "System.Net.Http").ToList();
        Assert.Equal(attempts.Select(a => a.SpanId.ToHexString()).Order(), calls.Select(c => c.ParentSpanId.ToHexString()).Order());
    }

    [Fact]
    public async Task A_grpc_call_is_traced_the_same_way()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Always(Behaviour.Answer("over grpc", promptTokens: 6, completionTokens: 3));
        var kit = new TracingKit();
        await using var node = await RouterTestNode.StartAsync(
            TracingKit.WithTracing(Config([Provider("openai", fake.BaseUrl)], [Model("gpt", "openai")])), overrides: kit.Overrides);
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(node.GrpcBase, new global::Grpc.Net.Client.GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ActivityHeadersPropagator = null },
        });
        var client = new global::Router.Contracts.Grpc.Router.RouterClient(channel);
        var headers = E2e.Bearer(RouterTestNode.DemoKey);
        headers.Add("traceparent", kit.TraceParent);

        using var call = client.CompleteAsync(E2e.GrpcRequest("gpt", "hello"), headers, deadline: DateTime.UtcNow + Bound);
        var response = await call.ResponseAsync;
        Assert.Equal("over grpc", response.Content);
        var trace = await kit.TraceAsync();

        var server = kit.RouterSpan(trace);
        Assert.Equal("chat gpt", server.DisplayName);
        Assert.Equal(6, server.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3, server.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(server.SpanId, Assert.Single(trace, a => a.DisplayName == "router.admission").ParentSpanId);
        var attempt = Assert.Single(trace, a => a.Source.Name == "Router" && a.Kind == ActivityKind.Client);
        Assert.Equal(server.SpanId, attempt.ParentSpanId);
        Assert.StartsWith($"00-{kit.TraceId.ToHexString()}-", fake.LastRequest.Header("traceparent"));
    }

    [Fact]
    public async Task No_span_attribute_holds_the_virtual_key_or_a_provider_secret()
    {
        await using var fake = await FakeUpstream.StartAsync();
        fake.Enqueue(Behaviour.ProviderError(401, "invalid_request_error", $"Incorrect API key provided: {Secret("openai", "a")}.", "invalid_api_key"))
            .Always(Behaviour.Answer("fine"));
        var kit = new TracingKit();
        await using var node = await RouterTestNode.StartAsync(
            TracingKit.WithTracing(Config([Provider("openai", fake.BaseUrl, "a", "b")], [Model("gpt", "openai")])), overrides: kit.Overrides);

        var request = node.Post("/v1/chat/completions", OpenAiBody("gpt"));
        var answer = await kit.SendAsync(node, request);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var trace = await kit.TraceAsync();

        Assert.True(trace.Count >= 5, $"expected server, admission, two attempts and their calls; got {trace.Count}");
        string[] secrets = [RouterTestNode.DemoKey, Secret("openai", "a"), Secret("openai", "b")];
        foreach (var span in trace)
        {
            var texts = span.TagObjects.Select(t => $"{t.Key}={Flatten(t.Value)}")
                .Append(span.DisplayName).Append(span.StatusDescription ?? "")
                .Concat(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={Flatten(t.Value)}")));
            foreach (var text in texts)
                Assert.DoesNotContain(secrets, s => text.Contains(s, StringComparison.Ordinal));
        }
    }

    private static string Flatten(object? value) =>
        value is System.Collections.IEnumerable items and not string ? string.Join(",", items.Cast<object?>()) : value?.ToString() ?? "";
}

using System.Text;
using OpenAI.Chat;
using Router.Testing;
using Router.Node.Tests.Infrastructure;

namespace Router.Node.Tests.Ingress;

/// <summary>
/// What an OpenAI SDK application asks for beyond text, served by an Anthropic upstream: a JSON-schema response
/// format (carried by a forced tool, its input handed back as the message text) and an inline image.
/// </summary>
public sealed class ContentTranslationTests(ProtocolFixture fixture) : IClassFixture<ProtocolFixture>
{
    public static TheoryData<bool> Streamed => new() { false, true };

    private const string PersonSchema =
        """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""";

    private const string PersonJson = """{"name":"Ada Lovelace","age":36}""";

    /// <summary>What Anthropic answers to a forced tool: a tool_use block, stop_reason tool_use.</summary>
    private const string ForcedToolAnswer = """
        {
          "id": "msg_01JsonSchema0000000001",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [
            { "type": "tool_use", "id": "toolu_01Q1w2e3r4t5y6u7i8o9p0", "name": "person", "input": { "name": "Ada Lovelace", "age": 36 } }
          ],
          "stop_reason": "tool_use",
          "stop_sequence": null,
          "usage": { "input_tokens": 120, "output_tokens": 24 }
        }
        """;

    private static string[] ForcedToolStream =>
    [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01JsonSchema0000000002\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":120,\"output_tokens\":1},\"content\":[],\"stop_reason\":null}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01Q1w2e3r4t5y6u7i8o9p1\",\"name\":\"person\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"name\\\": \\\"Ada Lovelace\\\",\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"age\\\": 36}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":24}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];

    [Theory]
    [MemberData(nameof(Streamed))]
    public async Task Json_schema_response_format_becomes_a_forced_tool_upstream_and_its_input_comes_back_as_the_content(bool stream)
    {
        var prompt = $"Extract the person: Ada Lovelace died at 36. {Upstream.Marker()}";
        fixture.Anthropic.Enqueue(stream ? Behaviour.RawStream(ForcedToolStream) : Behaviour.RawJson(ForcedToolAnswer));
        var client = fixture.OpenAiChat(ProtocolFixture.AnthropicModel);
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(PersonSchema),
                "A person mentioned in the text", jsonSchemaIsStrict: true),
        };

        string text;
        ChatFinishReason? finish;
        if (stream)
        {
            var sb = new StringBuilder();
            finish = null;
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], options))
            {
                foreach (var part in update.ContentUpdate) sb.Append(part.Text);
                Assert.Empty(update.ToolCallUpdates);
                finish ??= update.FinishReason;
            }
            text = sb.ToString();
        }
        else
        {
            var completion = (await client.CompleteChatAsync([new UserChatMessage(prompt)], options)).Value;
            Assert.Empty(completion.ToolCalls);
            text = Assert.Single(completion.Content).Text;
            finish = completion.FinishReason;
        }

        // The application parses the content as the schema's JSON and never sees the tool.
        Json.Equal(PersonJson, text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        var sent = fixture.Anthropic.Single(prompt).Node();
        var tool = Assert.Single(sent["tools"]!.AsArray())!;
        Assert.Equal("person", (string?)tool["name"]);
        Assert.Equal("A person mentioned in the text", (string?)tool["description"]);
        Json.Equal(PersonSchema, tool["input_schema"]);
        Json.Equal("""{"type":"tool","name":"person"}""", sent["tool_choice"]);
        Assert.Null(sent["response_format"]);
    }

    /// <summary>A real 1×1 PNG.</summary>
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    [Fact]
    public async Task Image_bytes_from_the_openai_sdk_reach_an_anthropic_upstream_as_a_base64_image_block()
    {
        var prompt = $"What is in this image? {Upstream.Marker()}";
        var client = fixture.OpenAiChat(ProtocolFixture.AnthropicModel);

        var completion = (await client.CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateTextPart(prompt),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(Png), "image/png"))])).Value;

        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.AnthropicFakeText, Assert.Single(completion.Content).Text);
        var sent = fixture.Anthropic.Single(prompt).Node();
        var user = Assert.Single(sent["messages"]!.AsArray())!;
        Assert.Equal("user", (string?)user["role"]);
        var blocks = user["content"]!.AsArray();
        Assert.Equal(["text", "image"], blocks.Select(b => (string?)b!["type"]));
        Assert.Equal(prompt, (string?)blocks[0]!["text"]);
        var source = blocks[1]!["source"]!;
        Assert.Equal("base64", (string?)source["type"]);
        Assert.Equal("image/png", (string?)source["media_type"]);
        Assert.Equal(Png, Convert.FromBase64String((string)source["data"]!));
    }

    [Fact]
    public async Task A_base64_image_block_from_the_anthropic_sdk_reaches_an_openai_upstream_as_a_data_url()
    {
        var prompt = $"What is in this image? {Upstream.Marker()}";
        using var client = fixture.AnthropicSdk();

        var message = await client.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = ProtocolFixture.OpenAiModel,
            MaxTokens = 64,
            Messages =
            [
                new Anthropic.Models.Messages.UserMessageParam(new List<Anthropic.Models.Messages.ContentBlockParam>
                {
                    new Anthropic.Models.Messages.ImageBlockParam(new Anthropic.Models.Messages.Base64ImageSource
                    {
                        Data = Convert.ToBase64String(Png), MediaType = Anthropic.Models.Messages.MediaType.ImagePng,
                    }),
                    new Anthropic.Models.Messages.TextBlockParam(prompt),
                }),
            ],
        });

        Assert.True(Assert.Single(message.Content).TryPickText(out var text));
        Assert.Equal(Router.Node.Tests.Infrastructure.E2e.OpenAiFakeText, text.Text);
        var user = Assert.Single(fixture.OpenAi.Single(prompt).Node()["messages"]!.AsArray())!;
        var parts = user["content"]!.AsArray();
        Assert.Equal(["image_url", "text"], parts.Select(p => (string?)p!["type"]));
        Assert.Equal("data:image/png;base64," + Convert.ToBase64String(Png), (string?)parts[0]!["image_url"]!["url"]);
        Assert.Equal(prompt, (string?)parts[1]!["text"]);
    }
}

using System.Buffers;
using System.Text.Json;
using Router.Contracts.Chat;
using Router.Contracts.Errors;
using Router.Node.Pipeline;

namespace Router.Node.Ingress;

/// <summary>Writes one translated (not passed-through) answer in a wire's JSON shape.</summary>
public delegate void WriteChatAnswer(Utf8JsonWriter w, string id, long created, string model, ChatCompletion completion, ChatRequest request);

/// <summary>What a streamed answer needs to know to be written in a wire's shape.</summary>
public readonly record struct ChatStreamContext(string Id, long Created, string Model, ChatRequest Request, ChatExecution Execution);

/// <summary>
/// How one streamed answer is written: each translated event, the error event after the first byte, the closing event
/// (OpenAI's <c>[DONE]</c>), and whether a passthrough stream's <c>usage</c> members are the client's to see.
/// </summary>
public readonly record struct ChatStreamWriters(
    Action<ChatStreamEvent, IBufferWriter<byte>> Write,
    Action<RouterException, IBufferWriter<byte>> WriteError,
    Action<IBufferWriter<byte>>? End = null,
    bool DropUsage = false);

/// <summary>
/// One HTTP chat wire (Chat Completions, Responses, legacy Completions, Messages): how its requests are read and its
/// answers and errors written. <see cref="HttpIngress.ServeChatAsync"/> does the rest the same way for all of them.
/// </summary>
public sealed record HttpChatWire(
    bool AllowXApiKey,
    string IdPrefix,
    Func<JsonElement, ReadOnlyMemory<byte>, ChatRequest> Parse,
    Func<HttpResponse, RouterException, Task> WriteError,
    WriteChatAnswer WriteAnswer,
    Func<ChatStreamContext, ChatStreamWriters> OpenStream);

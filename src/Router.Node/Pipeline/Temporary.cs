using Router.Contracts.Chat;
namespace Router.Node.Pipeline;
public sealed class EstimatingTokenCounter : IPromptTokenCounter
{
    public int CountPrompt(ChatRequest request) => request.Messages.Sum(m => (m.Content.Length + 3) / 4 + 3) + 3;
}
public sealed class DiscardingUsageRecorder : IUsageRecorder { public void Record(UsageEntry entry) { } }

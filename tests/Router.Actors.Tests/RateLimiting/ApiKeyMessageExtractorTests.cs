using Router.Actors.RateLimiting;
using Router.Contracts.RateLimiting;

namespace Router.Actors.Tests.RateLimiting;

public sealed class ApiKeyMessageExtractorTests
{
    private static readonly ApiKeyId Id = ApiKeyHash.IdOf("sk-extractor-test");
    private readonly ApiKeyMessageExtractor _extractor = new();

    [Fact]
    public void Routes_every_key_message_to_the_entity_named_by_the_key_id()
    {
        object[] messages =
        [
            new ApiKeyCommands.Admit(Id, "r", 1, "m"),
            new ApiKeyCommands.Complete(Id, "r", 1, 1, 0m),
            new ApiKeyCommands.Revoke(Id),
            new ApiKeyCommands.GetState(Id),
        ];

        Assert.All(messages, m => Assert.Equal(Id.Value, _extractor.EntityId(m)));
        Assert.Single(messages.Select(m => _extractor.ShardId(_extractor.EntityId(m)!, m)).Distinct());
    }

    [Fact]
    public void Shard_ids_are_stable_across_processes_and_within_the_shard_count()
    {
        // MurmurHash, not string.GetHashCode (randomised per process): a pinned value catches a change.
        Assert.Equal("95", _extractor.ShardId("0123456789abcdef"));
        Assert.Equal(100, ApiKeyMessageExtractor.ShardCount);
        for (var i = 0; i < 500; i++)
        {
            var shard = int.Parse(_extractor.ShardId(ApiKeyHash.IdOf($"k{i}").Value));
            Assert.InRange(shard, 0, ApiKeyMessageExtractor.ShardCount - 1);
        }
    }

    [Fact]
    public void Ignores_messages_without_a_key_id()
    {
        Assert.Null(_extractor.EntityId("hello"));
    }
}

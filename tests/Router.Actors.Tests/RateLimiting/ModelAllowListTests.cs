using Router.Actors.RateLimiting;

namespace Router.Actors.Tests.RateLimiting;

public sealed class ModelAllowListTests
{
    [Theory]
    [InlineData("gpt-4o-mini", true)]
    [InlineData("GPT-4O-MINI", true)]
    [InlineData("claude-haiku", true)]
    [InlineData("claude-sonnet-4", true)]
    [InlineData("gpt-4o", false)]
    [InlineData("gemini-pro", false)]
    public void Allows_exact_names_and_prefixes_ignoring_case(string model, bool allowed)
    {
        string[] patterns = ["gpt-4o-mini", "claude-*"];

        Assert.Equal(allowed, ModelAllowList.Allows(patterns, model));
    }

    [Fact]
    public void Star_and_an_empty_list_allow_every_model()
    {
        Assert.True(ModelAllowList.Allows(["*"], "anything"));
        Assert.True(ModelAllowList.Allows([], "anything"));
    }
}

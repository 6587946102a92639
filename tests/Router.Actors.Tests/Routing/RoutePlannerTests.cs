using Router.Actors.Routing;
using Router.Contracts.Errors;

namespace Router.Actors.Tests.Routing;

public sealed class RoutePlannerTests
{
    private static Deployment D(string id, string model, decimal inPrice = 1m, decimal outPrice = 1m, int window = 128_000) =>
        new(id, model, id.Split('/')[0], model + "-upstream", inPrice, outPrice, window);

    private static ModelEntry M(string id, Deployment[] deployments, string[]? aliases = null, string[]? fallbacks = null, string? tier = null) =>
        new(id, aliases ?? [], 128_000, deployments, fallbacks ?? [], tier);

    private static string[] Ids(RoutePlan plan) => plan.Candidates.Select(d => d.Id).ToArray();

    [Fact]
    public void An_alias_resolves_to_its_model_ignoring_case()
    {
        var planner = new RoutePlanner([M("gpt-4o-mini", [D("openai/gpt-4o-mini", "gpt-4o-mini")], aliases: ["fast"])]);

        var plan = planner.Plan("FAST", promptTokens: 10);

        Assert.Equal("FAST", plan.RequestedModel);
        Assert.Equal("gpt-4o-mini", plan.Model.Id);
        Assert.Equal(["openai/gpt-4o-mini"], Ids(plan));
        Assert.Null(plan.AutoTier);
    }

    [Fact]
    public void Candidates_are_the_models_own_deployments_in_order_then_each_fallback_depth_first()
    {
        var planner = new RoutePlanner([
            M("a", [D("p1/a", "a"), D("p2/a", "a")], fallbacks: ["b", "c"]),
            M("b", [D("p1/b", "b")], fallbacks: ["d"]),
            M("c", [D("p1/c", "c")]),
            M("d", [D("p1/d", "d")]),
        ]);

        Assert.Equal(["p1/a", "p2/a", "p1/b", "p1/d", "p1/c"], Ids(planner.Plan("a", 10)));
    }

    [Fact]
    public void A_model_reached_twice_through_fallbacks_is_tried_once()
    {
        var planner = new RoutePlanner([
            M("a", [D("p/a", "a")], fallbacks: ["b", "c"]),
            M("b", [D("p/b", "b")], fallbacks: ["c"]),
            M("c", [D("p/c", "c")], fallbacks: ["a"]),
        ]);

        Assert.Equal(["p/a", "p/b", "p/c"], Ids(planner.Plan("a", 10)));
    }

    [Fact]
    public void Deployments_too_small_for_the_prompt_are_skipped_and_zero_means_no_limit()
    {
        var planner = new RoutePlanner([
            M("a", [D("p/small", "a", window: 8_000), D("p/unbounded", "a", window: 0)], fallbacks: ["b"]),
            M("b", [D("p/b", "b", window: 200_000)]),
        ]);

        Assert.Equal(["p/small", "p/unbounded", "p/b"], Ids(planner.Plan("a", 8_000)));
        Assert.Equal(["p/unbounded", "p/b"], Ids(planner.Plan("a", 8_001)));
    }

    [Fact]
    public void A_prompt_no_deployment_can_hold_is_a_400_on_messages()
    {
        var planner = new RoutePlanner([M("a", [D("p/a", "a", window: 1_000)])]);

        var ex = Assert.Throws<RouterException>(() => planner.Plan("a", 1_001));

        Assert.Equal(RouterErrorCode.InvalidRequest, ex.Code);
        Assert.Equal("messages", ex.Param);
        Assert.Equal(
            "The prompt has about 1001 tokens, more than the context window of every deployment of 'a' and its fallbacks.",
            ex.Message);
    }

    [Fact]
    public void An_unknown_model_is_model_not_found_on_model()
    {
        var planner = new RoutePlanner([M("a", [D("p/a", "a")])]);

        var ex = Assert.Throws<RouterException>(() => planner.Plan("gpt-9", 10));

        Assert.Equal(RouterErrorCode.ModelNotFound, ex.Code);
        Assert.Equal("model", ex.Param);
        Assert.Equal("The model 'gpt-9' does not exist or you do not have access to it.", ex.Message);
    }

    [Fact]
    public void A_model_without_deployments_is_model_not_found()
    {
        var planner = new RoutePlanner([M("empty", [])]);

        var ex = Assert.Throws<RouterException>(() => planner.Plan("empty", 10));

        Assert.Equal(RouterErrorCode.ModelNotFound, ex.Code);
        Assert.Equal("The model 'empty' has no deployments.", ex.Message);
    }

    private static RoutePlanner Tiered() => new([
        M("mini", [D("p/mini", "mini", 0.15m, 0.60m)], tier: "simple"),
        M("nano", [D("p/nano", "nano", 0.05m, 0.20m)], tier: "simple"),
        M("mid", [D("p/mid", "mid", 1m, 4m)], tier: "standard"),
        M("big", [D("p/big", "big", 5m, 15m)], tier: "complex"),
        M("untiered", [D("p/untiered", "untiered")]),
    ]);

    [Fact]
    public void Auto_sends_a_simple_task_to_the_cheapest_simple_model_first_then_every_tier_above()
    {
        var plan = Tiered().Plan("auto", 10, ComplexityTier.Simple);

        Assert.Equal("simple", plan.AutoTier);
        Assert.Equal("nano", plan.Model.Id);
        Assert.Equal(["p/nano", "p/mini", "p/mid", "p/big"], Ids(plan));
    }

    [Fact]
    public void Auto_never_routes_a_task_below_its_tier()
    {
        var standard = Tiered().Plan("Auto", 10, ComplexityTier.Standard);
        var complex = Tiered().Plan("auto", 10, ComplexityTier.Complex);

        Assert.Equal("standard", standard.AutoTier);
        Assert.Equal(["p/mid", "p/big"], Ids(standard));
        Assert.Equal("complex", complex.AutoTier);
        Assert.Equal("big", complex.Model.Id);
        Assert.Equal(["p/big"], Ids(complex));
    }

    [Fact]
    public void Auto_with_nothing_at_or_above_the_tier_takes_the_nearest_tier_below()
    {
        var planner = new RoutePlanner([
            M("mini", [D("p/mini", "mini")], tier: "simple"),
            M("mid", [D("p/mid", "mid")], tier: "standard"),
        ]);

        var plan = planner.Plan("auto", 10, ComplexityTier.Complex);

        Assert.Equal("complex", plan.AutoTier);
        Assert.Equal(["p/mid"], Ids(plan));
    }

    [Fact]
    public void Auto_without_any_tiered_model_is_model_not_found()
    {
        var planner = new RoutePlanner([M("a", [D("p/a", "a")])]);

        var ex = Assert.Throws<RouterException>(() => planner.Plan("auto", 10, ComplexityTier.Simple));

        Assert.False(planner.HasAuto);
        Assert.Equal(RouterErrorCode.ModelNotFound, ex.Code);
        Assert.Equal("The model 'auto' needs at least one model with a Tier in configuration.", ex.Message);
        Assert.True(Tiered().HasAuto);
    }

    [Fact]
    public void A_model_configured_with_the_name_auto_is_served_as_itself()
    {
        var planner = new RoutePlanner([
            M("router-auto", [D("p/own", "router-auto")], aliases: ["auto"]),
            M("mini", [D("p/mini", "mini")], tier: "simple"),
        ]);

        var plan = planner.Plan("auto", 10, ComplexityTier.Simple);

        Assert.Null(plan.AutoTier);
        Assert.Equal(["p/own"], Ids(plan));
    }

    [Fact]
    public void Auto_tiers_follow_fallbacks_of_each_root_and_list_each_deployment_once()
    {
        var planner = new RoutePlanner([
            M("mini", [D("p/mini", "mini", 0.1m, 0.1m)], fallbacks: ["big"], tier: "simple"),
            M("big", [D("p/big", "big", 9m, 9m)], tier: "complex"),
        ]);

        Assert.Equal(["p/mini", "p/big"], Ids(planner.Plan("auto", 10, ComplexityTier.Simple)));
    }

    [Fact]
    public void Validate_names_duplicate_names_and_unknown_fallbacks_by_configuration_path()
    {
        var problems = RoutePlanner.Validate([
            M("a", [D("p/a", "a")], aliases: ["fast"]),
            M("b", [D("p/b", "b")], aliases: ["FAST"], fallbacks: ["a", "nope"]),
        ]);

        Assert.Equal(
            [
                "Router:Models:1: the name 'FAST' is used by 'a' too",
                "Router:Models:1:Fallbacks:1: unknown model 'nope'",
            ],
            problems);
    }

    [Fact]
    public void Validate_refuses_a_fallback_cycle_and_names_it()
    {
        var problems = RoutePlanner.Validate([
            M("a", [D("p/a", "a")], fallbacks: ["b"]),
            M("b", [D("p/b", "b")], fallbacks: ["a"]),
        ]);

        Assert.Equal(["Router:Models: fallback cycle a -> b -> a"], problems);
    }

    [Fact]
    public void Validate_accepts_a_catalog_whose_fallbacks_share_a_model()
    {
        Assert.Empty(RoutePlanner.Validate([
            M("a", [D("p/a", "a")], fallbacks: ["b", "c"]),
            M("b", [D("p/b", "b")], fallbacks: ["c"]),
            M("c", [D("p/c", "c")]),
        ]));
    }
}

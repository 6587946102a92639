using Router.Contracts.Chat;

namespace Router.Actors.Routing;

public enum ComplexityTier { Simple = 0, Standard = 1, Complex = 2 }

/// <summary>
/// Scores how demanding a request is, for the <c>auto</c> model. Cheap heuristics only (this runs on every
/// <c>auto</c> request): prompt length, conversation depth, code, and words that ask for reasoning.
/// Documented in docs/routing.md; deterministic, so the same prompt always lands on the same tier.
/// </summary>
public static class ComplexityClassifier
{
    private static readonly string[] ReasoningMarkers =
    [
        "step by step", "prove", "proof", "derive", "analyze", "analyse", "architecture", "design a", "refactor",
        "optimize", "optimise", "trade-off", "tradeoff", "debug", "algorithm", "complexity", "theorem", "compare and contrast",
    ];

    public static ComplexityTier Classify(ChatRequest request, int promptTokens)
    {
        var score = 0;
        if (promptTokens > 2_000) score += 2;
        else if (promptTokens > 300) score += 1;
        if (request.Messages.Count > 8) score += 1;
        if (request.MaxTokens is > 2_000) score += 1;

        var last = LastUserMessage(request);
        if (last.Contains("```", StringComparison.Ordinal)) score += 1;
        var markers = 0;
        foreach (var marker in ReasoningMarkers)
            if (last.Contains(marker, StringComparison.OrdinalIgnoreCase)) markers++;
        score += Math.Min(markers, 2);

        return score switch { 0 => ComplexityTier.Simple, <= 2 => ComplexityTier.Standard, _ => ComplexityTier.Complex };
    }

    private static string LastUserMessage(ChatRequest request)
    {
        for (var i = request.Messages.Count - 1; i >= 0; i--)
            if (request.Messages[i].Role == ChatRole.User) return request.Messages[i].Text;
        return "";
    }
}

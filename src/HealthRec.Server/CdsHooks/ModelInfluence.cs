using Hl7.Fhir.Model;

namespace HealthRec.Server.CdsHooks;

/// <summary>The trained models behind one suggestion, as references to their Devices (HL7 AI Transparency).</summary>
internal static class ModelInfluence
{
    /// <summary>
    /// The learned ranker when it placed the suggestion, and the outcome model whose estimate gave its expected benefit
    /// (not a published equation: that is not a trained model). Empty when rules and equations alone made it.
    /// </summary>
    public static IReadOnlyCollection<ResourceReference> Of(Recommendation recommendation, string? rankerVersion)
    {
        var models = new List<ResourceReference>(2);
        if (recommendation.RankerScore is not null && rankerVersion is not null)
        {
            models.Add(AiTransparency.ModelReference(HybridRanker.Folder, rankerVersion, $"HealthRec recommender {rankerVersion}"));
        }

        if (recommendation.Benefit is { } benefit && !Clinical.Risk.ReferenceModels.All.ContainsKey(benefit.ModelVersion))
        {
            models.Add(AiTransparency.ModelReference(benefit.Outcome, benefit.ModelVersion));
        }

        return models;
    }
}

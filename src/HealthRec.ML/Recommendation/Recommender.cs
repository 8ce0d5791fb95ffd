using System.Globalization;
using HealthRec.Clinical.Features;
using HealthRec.Clinical.Knowledge;
using HealthRec.Clinical.Records;
using HealthRec.ML.Serving;

namespace HealthRec.ML.Recommendation;

/// <summary>The benefit expected for this patient: an estimate from an outcome model and the effect the catalog states.</summary>
public sealed record ExpectedBenefit(string Outcome, string OutcomeTitle, string ModelVersion, double RiskNow, double RiskWith, string Source)
{
    public double AbsoluteReduction => RiskNow - RiskWith;

    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"estimated {OutcomeTitle.ToLowerInvariant()}: {RiskNow:P0} → {RiskWith:P0} (an estimate: model {Outcome} {ModelVersion}, effect from {Source})");
}

/// <summary>One suggestion: what, how strongly, why, on what evidence, and the benefit expected.</summary>
public sealed record Recommendation(
    Intervention Intervention,
    int Rank,
    double Score,
    ExpectedBenefit? Benefit,
    IReadOnlyList<string> Reasons,
    IReadOnlyList<string> Cautions,
    IReadOnlyList<Evidence> Evidence);

/// <summary>The suggestions for one patient, and what was left out by the hard filters, with why.</summary>
public sealed record RecommendationSet(string PatientId, DateTimeOffset At, IReadOnlyList<Recommendation> Recommendations, IReadOnlyList<Exclusion> Excluded);

/// <summary>
/// Content-based recommendations: every catalog item whose indication holds for the patient, scored by the absolute
/// risk reduction expected for this patient (the outcome model's estimate, times the relative risk the catalog states)
/// or, for items without a stated effect, by the strength of the guideline recommendation; then the hard filters
/// (contraindication, already taking, done recently — rules, applied last and never overridden by a score), and one
/// item per group. With phenotypes and learned treatment responses, each suggestion also says what followed in
/// similar patients (the collaborative signal; the learned hybrid ranker that weighs it comes next). Deterministic.
/// </summary>
public sealed class Recommender(InterventionCatalog catalog, Featurizer featurizer, IReadOnlyDictionary<string, OutcomePredictor> predictors,
    Phenotypes.PhenotypeModel? phenotypes = null, TreatmentResponse? responses = null)
{
    public RecommendationSet Recommend(PatientRecord record, DateTimeOffset at, int top = 5)
    {
        var features = featurizer.Featurize(record, at);
        var context = new RecordRuleContext(record, at, features, featurizer.Columns);
        var risks = new Dictionary<string, (double Risk, string Title, string Version)>(StringComparer.Ordinal);
        foreach (var (outcome, predictor) in predictors)
        {
            if (predictor.Definition.Kind == Clinical.Outcomes.OutcomeKind.Binary && predictor.Predict(record, at) is { } prediction)
            {
                risks[outcome] = (prediction.Estimate, predictor.Definition.Title, prediction.ModelVersion);
            }
        }

        double DaysSince(string analyte) => record.DaysSinceLast(analyte, at);

        var phenotype = phenotypes is not null && responses is not null ? phenotypes.Assign(features) : (int?)null;
        var candidates = new List<Recommendation>();
        var excluded = new List<Exclusion>();
        foreach (var item in catalog.Items)
        {
            if (!item.Indication.Rule.Evaluate(context))
            {
                continue;
            }

            ExpectedBenefit? benefit = null;
            foreach (var effect in item.Effects)
            {
                if (risks.TryGetValue(effect.Outcome, out var risk))
                {
                    var candidate = new ExpectedBenefit(effect.Outcome, risk.Title, risk.Version, risk.Risk, risk.Risk * effect.RelativeRisk, effect.Source);
                    if (benefit is null || candidate.AbsoluteReduction > benefit.AbsoluteReduction)
                    {
                        benefit = candidate;
                    }
                }
            }

            var score = benefit?.AbsoluteReduction ?? (0.01 * Strength(item));
            var cautions = item.Cautions.Where(c => c.Rule.Evaluate(context)).Select(c => c.Reason).ToList();
            var reasons = new List<string> { $"indicated: {item.Indication.Reason}" };
            if (phenotype is { } cluster && responses!.For(item.Id, cluster) is { Patients: >= 5 } response)
            {
                reasons.Add(response.Text);
            }

            candidates.Add(new Recommendation(item, 0, score, benefit, reasons, cautions, item.Evidence));
        }

        // Rank, then the hard filters, then one per group: a filtered item never reaches the list, whatever its score.
        var ranked = new List<Recommendation>();
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in candidates.OrderByDescending(c => c.Score).ThenBy(c => c.Intervention.Id, StringComparer.Ordinal))
        {
            if (InterventionCatalog.Exclude(candidate.Intervention, context, DaysSince) is { } exclusion)
            {
                excluded.Add(exclusion);
                continue;
            }

            if (!groups.Add(candidate.Intervention.Class))
            {
                excluded.Add(new Exclusion(candidate.Intervention.Id, $"a {candidate.Intervention.Class} suggestion ranks higher"));
                continue;
            }

            if (ranked.Count < top)
            {
                ranked.Add(candidate with { Rank = ranked.Count + 1 });
            }
        }

        return new RecommendationSet(record.PatientId, at, ranked, excluded);
    }

    // Guideline strength as a number: A / I / 1 (strongest) down to expert opinion.
    private static double Strength(Intervention item) => item.Evidence.Max(e => e.Strength.Trim() switch
    {
        var s when s.StartsWith('A') || s.StartsWith("I (", StringComparison.Ordinal) || s.StartsWith('1') => 1.0,
        var s when s.StartsWith('B') || s.StartsWith("IIa", StringComparison.Ordinal) => 0.7,
        var s when s.StartsWith('C') || s.StartsWith("IIb", StringComparison.Ordinal) => 0.4,
        _ => 0.2,
    });
}

namespace HealthRec.ML.Recommendation;

/// <summary>An outcome model's estimate for the patient, as the recommender uses it.</summary>
public readonly record struct OutcomeRisk(double Risk, string Title, string Version);

/// <summary>
/// One patient at one date as the recommender sees it, computed once: the feature vector, the rule context, and the
/// binary outcome models' estimates.
/// </summary>
public sealed class PatientSnapshot
{
    private PatientSnapshot(PatientRecord record, DateTimeOffset at, float[] features, RecordRuleContext rules, Dictionary<string, OutcomeRisk> risks)
    {
        Record = record;
        At = at;
        Features = features;
        Rules = rules;
        Risks = risks;
    }

    public PatientRecord Record { get; }

    public DateTimeOffset At { get; }

    public float[] Features { get; }

    public RecordRuleContext Rules { get; }

    public IReadOnlyDictionary<string, OutcomeRisk> Risks { get; }

    public static PatientSnapshot Take(PatientRecord record, DateTimeOffset at, Featurizer featurizer, IReadOnlyDictionary<string, OutcomePredictor> predictors)
    {
        var features = featurizer.Featurize(record, at);
        var risks = new Dictionary<string, OutcomeRisk>(StringComparer.Ordinal);
        foreach (var (outcome, predictor) in predictors)
        {
            if (predictor.Definition.Kind == OutcomeKind.Binary && predictor.Predict(record, at, features) is { } prediction)
            {
                risks[outcome] = new OutcomeRisk(prediction.Estimate, predictor.Definition.Title, prediction.ModelVersion);
            }
        }

        return new PatientSnapshot(record, at, features, new RecordRuleContext(record, at, features, featurizer.Columns), risks);
    }

    /// <summary>The snapshot from estimates the caller already has (with their explanations), so that nothing is predicted twice.</summary>
    public static PatientSnapshot From(PatientRecord record, DateTimeOffset at, float[] features, Featurizer featurizer, IEnumerable<RiskPrediction> predictions)
    {
        var risks = new Dictionary<string, OutcomeRisk>(StringComparer.Ordinal);
        foreach (var prediction in predictions)
        {
            if (prediction.Kind == OutcomeKind.Binary)
            {
                risks[prediction.Outcome] = new OutcomeRisk(prediction.Estimate, prediction.Title, prediction.ModelVersion);
            }
        }

        return new PatientSnapshot(record, at, features, new RecordRuleContext(record, at, features, featurizer.Columns), risks);
    }

    public double DaysSince(string analyte) => Record.DaysSinceLast(analyte, At);

    /// <summary>The content signal of one item for this patient.</summary>
    public ContentSignal Content(Intervention item)
    {
        ExpectedBenefit? benefit = null;
        foreach (var effect in item.Effects)
        {
            if (Risks.TryGetValue(effect.Outcome, out var risk))
            {
                var candidate = new ExpectedBenefit(effect.Outcome, risk.Title, risk.Version, risk.Risk, risk.Risk * effect.RelativeRisk, effect.Source);
                if (benefit is null || candidate.AbsoluteReduction > benefit.AbsoluteReduction)
                {
                    benefit = candidate;
                }
            }
        }

        var strength = ContentSignal.Strength(item);
        return new ContentSignal(item.Indication.Rule.Evaluate(Rules), benefit, strength, benefit?.AbsoluteReduction ?? (0.01 * strength));
    }
}

/// <summary>
/// How well an item fits the patient by its content: whether the catalog's indication holds, the benefit expected
/// (the outcome model's estimate times the relative risk the catalog states), the guideline's strength, and the content
/// score — the expected absolute risk reduction, or for items without a stated effect 0.01 × the strength.
/// </summary>
public readonly record struct ContentSignal(bool Indicated, ExpectedBenefit? Benefit, double GuidelineStrength, double Score)
{
    /// <summary>Guideline strength as a number: A / I / 1 (strongest) down to expert opinion.</summary>
    public static double Strength(Intervention item) => item.Evidence.Max(e => e.Strength.Trim() switch
    {
        var s when s.StartsWith('A') || s.StartsWith("I (", StringComparison.Ordinal) || s.StartsWith('1') => 1.0,
        var s when s.StartsWith('B') || s.StartsWith("IIa", StringComparison.Ordinal) => 0.7,
        var s when s.StartsWith('C') || s.StartsWith("IIb", StringComparison.Ordinal) => 0.4,
        _ => 0.2,
    });
}

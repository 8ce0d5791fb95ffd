using ConfusionMatrix = HealthRec.ML.Evaluation.ConfusionMatrix;
using RegressionMetrics = HealthRec.ML.Evaluation.RegressionMetrics;

namespace HealthRec.ML.Training;

/// <summary>A baseline's fitted pipeline, and whether its output is a probability (else a raw score or a value).</summary>
public sealed record BaselineModel(ITransformer Model, bool Probability)
{
    public double[] Scores(IDataView data)
    {
        var scored = Model.Transform(data);
        return [.. scored.GetColumn<float>(Probability ? "Probability" : "Score").Select(v => (double)v)];
    }
}

/// <summary>An algorithm's test metrics, in the shape <c>metrics.json</c> writes.</summary>
public sealed class OutcomeMetrics
{
    public required string Algorithm { get; init; }

    public int N { get; init; }

    public int Train { get; set; }

    public int Validation { get; set; }

    public double? Prevalence { get; init; }

    public double? RocAuc { get; init; }

    public (double Low, double High)? RocAucCi { get; init; }

    public double? PrAuc { get; init; }

    public double? Brier { get; init; }

    public double? CalibrationSlope { get; init; }

    public double? CalibrationIntercept { get; init; }

    public double? Threshold { get; init; }

    public ConfusionMatrix? Confusion { get; init; }

    public double? Mae { get; init; }

    public double? Rmse { get; init; }

    public double? R2 { get; init; }

    public Dictionary<string, OutcomeMetrics> Subgroups { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, OutcomeMetrics> Baselines { get; } = new(StringComparer.Ordinal);

    /// <summary>Complete-case binary outcomes: the test patients' Kaplan–Meier incidence against the mean estimate over all their at-risk landmarks.</summary>
    public CalibrationInTheLarge? InTheLarge { get; set; }

    /// <summary>The out-of-time check: trained before <see cref="From"/>, tested on later index dates (null when the data is too short).</summary>
    public OutcomeMetrics? OutOfTime { get; set; }

    /// <summary>For the out-of-time metrics: the first index date tested.</summary>
    public DateTimeOffset? From { get; set; }

    /// <summary>
    /// The fairness audit at the operating threshold (binary outcomes with a threshold): TPR, FPR, PPV and flag rate
    /// per sex and age band, and per race and ethnicity where the data states them (US Core), as ratios to each
    /// dimension's largest group, flagged outside 0.8–1.25. Race and ethnicity are never model inputs.
    /// </summary>
    public FairnessReport? Fairness { get; private set; }

    /// <summary>The scored examples behind the metrics, for the report's curves (binary outcomes).</summary>
    public double[] Probabilities { get; private init; } = [];

    public bool[] Labels { get; private init; } = [];

    /// <summary>The examples' censoring weights, aligned with <see cref="Labels"/>.</summary>
    public double[] Weights { get; private init; } = [];

    /// <summary>
    /// Binary metrics, each weighted by the examples' censoring weights (so each estimates what full follow-up would
    /// have shown); with a threshold also the confusion matrix, net benefit, subgroups and a bootstrap interval for ROC-AUC.
    /// </summary>
    public static OutcomeMetrics Binary(string algorithm, List<OutcomeExample> test, double[] probabilities, double? threshold)
    {
        var labels = test.Select(e => e.Label).ToArray();
        var weights = test.Select(e => e.Weight).ToArray();
        var (slope, intercept) = BinaryMetrics.Calibration(probabilities, labels, weights);
        var metrics = new OutcomeMetrics
        {
            Algorithm = algorithm,
            N = test.Count,
            Prevalence = BinaryMetrics.EventRate(labels, weights),
            RocAuc = BinaryMetrics.RocAuc(probabilities, labels, weights),
            RocAucCi = threshold is null ? null : BinaryMetrics.BootstrapInterval(probabilities, labels, [.. test.Select(e => e.PatientId)],
                (s, l, w) => BinaryMetrics.RocAuc(s, l, w), weights),
            PrAuc = BinaryMetrics.PrAuc(probabilities, labels, weights),
            Brier = BinaryMetrics.Brier(probabilities, labels, weights),
            CalibrationSlope = slope,
            CalibrationIntercept = intercept,
            Threshold = threshold,
            Confusion = threshold is { } t ? BinaryMetrics.At(probabilities, labels, t, weights) : null,
            Probabilities = probabilities,
            Labels = labels,
            Weights = weights,
        };
        if (threshold is { } at)
        {
            // Sex and age band always; race and ethnicity when the data states them (US Core), never as model inputs.
            List<(string, string?[])> dimensions =
            [
                ("sex", [.. test.Select(e => Cohorts.SexOf(e.Sex))]),
                ("age", [.. test.Select(e => Cohorts.AgeBandOf(e.Age))]),
            ];
            if (test.Any(e => e.Race is not null))
            {
                dimensions.Add(("race", [.. test.Select(e => e.Race)]));
            }

            if (test.Any(e => e.Ethnicity is not null))
            {
                dimensions.Add(("ethnicity", [.. test.Select(e => e.Ethnicity)]));
            }

            metrics.Fairness = FairnessAudit.Audit(probabilities, labels, weights, at, dimensions);
            foreach (var (name, member) in Subgroups_(test))
            {
                var index = Enumerable.Range(0, test.Count).Where(i => member(test[i])).ToArray();
                var subLabels = index.Select(i => labels[i]).ToArray();
                var subWeights = index.Select(i => weights[i]).ToArray();
                if (index.Length > 0)
                {
                    metrics.Subgroups[name] = new OutcomeMetrics
                    {
                        Algorithm = algorithm,
                        N = index.Length,
                        Prevalence = BinaryMetrics.EventRate(subLabels, subWeights),
                        RocAuc = BinaryMetrics.RocAuc([.. index.Select(i => probabilities[i])], subLabels, subWeights),
                    };
                }
            }
        }

        return metrics;
    }

    public static OutcomeMetrics Regression(string algorithm, List<OutcomeExample> test, double[] predictions)
    {
        var actual = test.Select(e => (double)e.Value).ToArray();
        var (mae, rmse, r2) = RegressionMetrics.Compute(predictions, actual);
        var metrics = new OutcomeMetrics { Algorithm = algorithm, N = test.Count, Mae = mae, Rmse = rmse, R2 = r2 };
        foreach (var (name, member) in Subgroups_(test))
        {
            var index = Enumerable.Range(0, test.Count).Where(i => member(test[i])).ToArray();
            if (index.Length > 1)
            {
                var (subMae, subRmse, subR2) = RegressionMetrics.Compute([.. index.Select(i => predictions[i])], [.. index.Select(i => actual[i])]);
                metrics.Subgroups[name] = new OutcomeMetrics { Algorithm = algorithm, N = index.Length, Mae = subMae, Rmse = subRmse, R2 = subR2 };
            }
        }

        return metrics;
    }

    private static IEnumerable<(string Name, Func<OutcomeExample, bool> Member)> Subgroups_(List<OutcomeExample> test)
    {
        _ = test;
        yield return ("sex=female", e => e.Sex == Sex.Female);
        yield return ("sex=male", e => e.Sex == Sex.Male);
        yield return ("age<45", e => e.Age < 45);
        yield return ("age=45-64", e => e.Age is >= 45 and < 65);
        yield return ("age>=65", e => e.Age >= 65);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Algorithm}: n={N} auc={RocAuc:0.000} brier={Brier:0.0000} mae={Mae:0.000}");
}

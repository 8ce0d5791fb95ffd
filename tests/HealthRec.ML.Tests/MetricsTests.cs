using HealthRec.ML.Evaluation;
using Microsoft.ML;

namespace HealthRec.ML.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void GivenTheHandExample_WhenKaplanMeierIsComputed_ThenEachEventTimeMultipliesByTheShareOfThoseAtRiskWhoEscaped()
    {
        // Six patients: events at 2 and 5, censored at 3, 4 and 7, one followed to the horizon 10 (no event).
        // S(2) = 5/6 (6 at risk); the censored at 3 and 4 leave; S(5) = 5/6 × 2/3 (3 at risk, 1 event); 1 − S(10) = 1 − 5/9.
        (double, bool)[] data = [(2, true), (3, false), (4, false), (5, true), (7, false), (10, false)];

        Assert.Equal(1 - (5.0 / 9), KaplanMeier.CumulativeIncidence(data, 10), 12);
        Assert.Equal(1.0 / 6, KaplanMeier.CumulativeIncidence(data, 4), 12);
        // Without censoring it is the plain share with the event.
        Assert.Equal(0.5, KaplanMeier.CumulativeIncidence([(1, true), (9, true), (10, false), (10, false)], 10), 12);
        // An event and a censoring at the same time: the censored one still counts as at risk then.
        Assert.Equal(1.0 / 3, KaplanMeier.CumulativeIncidence([(3, true), (3, false), (8, false)], 8), 12);
    }

    // Eight patients, checked by hand (see each test).
    private static readonly double[] Scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
    private static readonly bool[] Labels = [true, true, false, true, false, false, true, false];

    [Fact]
    public void GivenTheHandExample_WhenAucIsComputed_ThenItIsTwelvePairsOfSixteen()
    {
        // Positives 0.9, 0.8, 0.6, 0.3 outrank 4 + 4 + 3 + 1 of the 4 negatives' 16 pairs.
        Assert.Equal(0.75, BinaryMetrics.RocAuc(Scores, Labels), 12);
    }

    [Fact]
    public void GivenTies_WhenAucIsComputed_ThenATieCountsHalf()
    {
        Assert.Equal(0.5, BinaryMetrics.RocAuc([0.5, 0.5], [true, false]), 12);
        Assert.Equal(0.75, BinaryMetrics.RocAuc([0.5, 0.5, 0.1], [true, false, false]), 12);
        Assert.True(double.IsNaN(BinaryMetrics.RocAuc([0.5, 0.4], [true, true])));
    }

    [Fact]
    public void GivenTheHandExample_WhenAveragePrecisionIsComputed_ThenItWeightsPrecisionByAddedRecall()
    {
        // Recall steps of 1/4 at precisions 1, 1, 3/4 and 4/7.
        Assert.Equal((1 + 1 + 0.75 + (4.0 / 7)) / 4, BinaryMetrics.PrAuc(Scores, Labels), 12);
    }

    [Fact]
    public void GivenTheHandExample_WhenBrierIsComputed_ThenItIsTheMeanSquaredError()
    {
        Assert.Equal((0.01 + 0.04 + 0.49 + 0.16 + 0.3025 + 0.16 + 0.49 + 0.04) / 8, BinaryMetrics.Brier(Scores, Labels), 12);
    }

    [Fact]
    public void GivenTheHandExample_WhenTheMaxF1ThresholdIsChosen_ThenItIs0Point6WithF1ThreeQuarters()
    {
        var threshold = BinaryMetrics.MaxF1Threshold(Scores, Labels);
        var matrix = BinaryMetrics.At(Scores, Labels, threshold);

        Assert.Equal(0.6, threshold);
        Assert.Equal(new ConfusionMatrix(0.6, 3, 1, 3, 1), matrix);
        Assert.Equal(0.75, matrix.F1, 12);
        Assert.Equal(0.75, matrix.Accuracy, 12);
        Assert.Equal(0.3, BinaryMetrics.SensitivityThreshold(Scores, Labels, 1.0));
        Assert.Equal(0.8, BinaryMetrics.SensitivityThreshold(Scores, Labels, 0.5));
    }

    [Fact]
    public void GivenPerfectlyCalibratedProbabilities_WhenCalibrationIsFitted_ThenSlopeIsOneAndInterceptZero()
    {
        var random = new Random(3);
        var p = Enumerable.Range(0, 20_000).Select(_ => 0.02 + (0.9 * random.NextDouble())).ToArray();
        var y = p.Select(v => random.NextDouble() < v).ToArray();

        var (slope, intercept) = BinaryMetrics.Calibration(p, y);

        Assert.Equal(1.0, slope, 0.08);
        Assert.Equal(0.0, intercept, 0.05);
    }

    [Fact]
    public void GivenOverconfidentProbabilities_WhenCalibrationIsFitted_ThenTheSlopeIsTheShrinkage()
    {
        // True risk expit(z); the model says expit(2z): the fitted slope recovers 1/2.
        var random = new Random(4);
        var z = Enumerable.Range(0, 40_000).Select(_ => (random.NextDouble() * 4) - 2).ToArray();
        var y = z.Select(v => random.NextDouble() < 1 / (1 + Math.Exp(-v))).ToArray();
        var p = z.Select(v => 1 / (1 + Math.Exp(-2 * v))).ToArray();

        var (slope, _) = BinaryMetrics.Calibration(p, y);

        Assert.Equal(0.5, slope, 0.04);
    }

    [Fact]
    public void GivenRandomScores_WhenAucIsComputed_ThenItAgreesWithMlNetsEvaluator()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 3000).Select(_ =>
        {
            var label = random.NextDouble() < 0.3;
            var score = (float)((label ? 0.6 : 0) + random.NextDouble());
            return new Row { Label = label, Score = score, Probability = score / 2, PredictedLabel = score > 1 };
        }).ToArray();
        var ml = new MLContext(seed: 1);

        var expected = ml.BinaryClassification.Evaluate(ml.Data.LoadFromEnumerable(rows)).AreaUnderRocCurve;

        Assert.Equal(expected, BinaryMetrics.RocAuc(rows.Select(r => (double)r.Score).ToArray(), rows.Select(r => r.Label).ToArray()), 6);
    }

    [Fact]
    public void GivenPatientsWithSeveralExamples_WhenBootstrapped_ThenTheIntervalHoldsThePointEstimateAndIsReproducible()
    {
        var random = new Random(6);
        var n = 2000;
        var labels = Enumerable.Range(0, n).Select(_ => random.NextDouble() < 0.2).ToArray();
        var scores = labels.Select(l => (l ? 0.5 : 0) + random.NextDouble()).ToArray();
        var patients = Enumerable.Range(0, n).Select(i => $"p{i / 3}").ToArray();
        double Auc(double[] s, bool[] l) => BinaryMetrics.RocAuc(s, l);

        var (low, high) = BinaryMetrics.BootstrapInterval(scores, labels, patients, Auc);
        var again = BinaryMetrics.BootstrapInterval(scores, labels, patients, Auc);

        var point = BinaryMetrics.RocAuc(scores, labels);
        Assert.InRange(point, low, high);
        Assert.InRange(high - low, 0.01, 0.12);
        Assert.Equal((low, high), again);
    }

    [Fact]
    public void GivenPredictions_WhenRegressionMetricsAreComputed_ThenTheyMatchTheHandCalculation()
    {
        // Errors 1, -1, 0, 2: MAE 1, RMSE sqrt(6/4); actual mean 5.5, total sum of squares 11, R² 1 - 6/11.
        var (mae, rmse, r2) = RegressionMetrics.Compute([4, 6, 5, 9], [3, 7, 5, 7]);

        Assert.Equal(1, mae, 12);
        Assert.Equal(Math.Sqrt(1.5), rmse, 12);
        Assert.Equal(1 - (6.0 / 11), r2, 12);
    }

    private sealed class Row
    {
        public bool Label { get; set; }

        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }
}

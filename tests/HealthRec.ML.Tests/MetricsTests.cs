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

    [Fact]
    public void GivenADeathWithoutTheEvent_WhenTheIncidenceIsComputed_ThenItIsAalenJohansenNotKaplanMeierWithTheDeathCensored()
    {
        // Events at 2 and 5, a death at 3, censored at 7, followed to 10. At 2: 1/5 of 5 at risk, incidence 0.2, free
        // 0.8; at 3 the death: free 0.8 × 3/4 = 0.6; at 5: 0.6 × 1/3 more, incidence 0.4. With the death censored
        // instead, 1 − 4/5 × 2/3 = 0.467: the risk as if nobody died, higher.
        SurvivalOutcome[] data = [new(2, true), new(3, false, Competing: true), new(5, true), new(7, false), new(10, false)];

        Assert.Equal(0.4, KaplanMeier.CumulativeIncidence(data, 10), 12);
        Assert.Equal(1 - (4.0 / 5 * 2 / 3), KaplanMeier.CumulativeIncidence(data.Select(d => (d.Time, d.Event)), 10), 12);
        Assert.Equal(0.2, KaplanMeier.CumulativeIncidence(data, 4), 12);
    }

    [Fact]
    public void GivenTheHandExample_WhenTheCensoringSurvivalIsComputed_ThenCensoringsAreItsEventsAndEventsComeFirstAtATie()
    {
        // The same six patients, the roles swapped: censorings at 3, 4 and 7 are G's events; the outcome events at 2
        // and 5 and the full follow-up at 10 leave its risk set. G(3) = 4/5 (5 at risk after the event at 2),
        // G(4) = 4/5 × 3/4, G(7) = 4/5 × 3/4 × 1/2.
        var g = new CensoringSurvival([(2, false), (3, true), (4, true), (5, false), (7, true), (10, false)]);

        Assert.Equal(1, g.Before(2), 12);
        Assert.Equal(1, g.Before(3), 12);
        Assert.Equal(0.8, g.At(3), 12);
        Assert.Equal(0.6, g.Before(5), 12);
        Assert.Equal(0.3, g.At(10), 12);
        // An event and a censoring at the same time: the event's G(t−) does not include the censoring.
        var tie = new CensoringSurvival([(3, false), (3, true), (8, false)]);
        Assert.Equal(1, tie.Before(3), 12);
        Assert.Equal(2.0 / 3, tie.At(3), 12);
    }

    [Fact]
    public void GivenCensoringWeights_WhenTheEventRateIsWeighted_ThenItIsTheKaplanMeierIncidence()
    {
        // The six patients again: the usable ones are the events at 2 and 5 (weights 1/G(2−) = 1 and 1/G(5−) = 1/0.6)
        // and the one followed to 10 (weight 1/G(10) = 1/0.3); the weighted event rate equals 1 − 5/9, Kaplan–Meier's.
        bool[] labels = [true, true, false];
        double[] weights = [1, 1 / 0.6, 1 / 0.3];

        Assert.Equal(1 - (5.0 / 9), BinaryMetrics.EventRate(labels, weights), 12);
        // Unweighted, the complete cases overstate it: two events among three.
        Assert.Equal(2.0 / 3, BinaryMetrics.EventRate(labels), 12);
    }

    [Fact]
    public void GivenWeights_WhenAucBrierAndCountsAreComputed_ThenAnExampleOfWeightTwoCountsAsTwoCopies()
    {
        double[] weights = [2, 1, 1, 1, 3, 1, 1, 1];
        var copies = Scores.SelectMany((s, i) => Enumerable.Repeat((Score: s, Label: Labels[i]), (int)weights[i])).ToArray();
        double[] copyScores = [.. copies.Select(c => c.Score)];
        bool[] copyLabels = [.. copies.Select(c => c.Label)];

        Assert.Equal(BinaryMetrics.RocAuc(copyScores, copyLabels), BinaryMetrics.RocAuc(Scores, Labels, weights), 12);
        Assert.Equal(BinaryMetrics.PrAuc(copyScores, copyLabels), BinaryMetrics.PrAuc(Scores, Labels, weights), 12);
        Assert.Equal(BinaryMetrics.Brier(copyScores, copyLabels), BinaryMetrics.Brier(Scores, Labels, weights), 12);
        Assert.Equal(BinaryMetrics.At(copyScores, copyLabels, 0.6), BinaryMetrics.At(Scores, Labels, 0.6, weights));
        var (slope, intercept) = BinaryMetrics.Calibration(copyScores, copyLabels);
        var (wSlope, wIntercept) = BinaryMetrics.Calibration(Scores, Labels, weights);
        Assert.Equal(slope, wSlope, 8);
        Assert.Equal(intercept, wIntercept, 8);
        Assert.NotEqual(BinaryMetrics.RocAuc(Scores, Labels), BinaryMetrics.RocAuc(Scores, Labels, weights), 6);
    }

    [Fact]
    public void GivenTheHandExample_WhenNetBenefitIsComputed_ThenItIsTruePositivesLessFalsePositivesAtTheThresholdOdds()
    {
        // At 0.6: 3 true positives and 1 false positive among 8; the odds of 0.6 are 1.5: 3/8 − 1/8 × 1.5.
        Assert.Equal((3.0 / 8) - (1.0 / 8 * 1.5), BinaryMetrics.NetBenefit(Scores, Labels, 0.6), 12);
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
        double Auc(double[] s, bool[] l, double[] w) => BinaryMetrics.RocAuc(s, l, w);

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

namespace HealthRec.ML.Tests;

/// <summary>
/// The promotion gate against a validated equation, on a population whose true risks are known: a challenger that is
/// the truth beats a noisier equation on every count; one that is miscalibrated or ranks worse does not.
/// </summary>
public sealed class ReferenceGateTests
{
    private const double Threshold = 0.075;
    private readonly double[] _truth;
    private readonly double[] _equation;
    private readonly bool[] _labels;
    private readonly double[] _weights;

    public ReferenceGateTests()
    {
        // 20,000 patients: a risk score x ~ N(0, 1), true 10-year risk expit(−2.6 + 0.9x) (mean about 10 %); the
        // equation sees x with noise (it ranks less well, but is calibrated on average).
        var random = new Random(11);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        const int n = 20_000;
        _truth = new double[n];
        _equation = new double[n];
        _labels = new bool[n];
        _weights = new double[n];
        for (var i = 0; i < n; i++)
        {
            var x = Normal();
            _truth[i] = Expit(-2.6 + (0.9 * x));
            _equation[i] = Expit(-2.6 + (0.9 * ((0.75 * x) + (0.66 * Normal()))));
            _labels[i] = random.NextDouble() < _truth[i];
            _weights[i] = 1 + (random.NextDouble() * 0.2); // censoring weights, as training gives them
        }
    }

    private static double Expit(double x) => 1 / (1 + Math.Exp(-x));

    private List<GateCheck> Judge(double[] challenger) => PromotionGate.AgainstReference("PREVENT", challenger, _equation, _labels, _weights,
        new CalibrationInTheLarge(_labels.Length, Observed(), challenger.Average()), Threshold, new GateThresholds());

    private double Observed() => Evaluation.BinaryMetrics.EventRate(_labels, _weights);

    [Fact]
    public void GivenAChallengerBetterOnEveryCount_WhenJudgedAgainstTheEquation_ThenEveryCheckPasses()
    {
        var checks = Judge(_truth);

        Assert.All(checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Detail}"));
        Assert.Equal(["discrimination against PREVENT", "calibration slope", "calibration in the large", "net benefit"], checks.Select(c => c.Name));
    }

    [Fact]
    public void GivenAChallengerThatRanksAsWellButRunsThreeTimesHigh_WhenJudged_ThenCalibrationInTheLargeAndNetBenefitKeepTheEquation()
    {
        var inflated = _truth.Select(p => Math.Min(0.999, 3 * p)).ToArray();

        var checks = Judge(inflated);

        Assert.True(checks.Single(c => c.Name == "discrimination against PREVENT").Passed);
        Assert.False(checks.Single(c => c.Name == "calibration in the large").Passed);
        Assert.False(checks.Single(c => c.Name == "net benefit").Passed, checks.Single(c => c.Name == "net benefit").Detail);
    }

    [Fact]
    public void GivenAnOverconfidentChallenger_WhenJudged_ThenTheCalibrationSlopeKeepsTheEquation()
    {
        // The same ranking, stretched: logit × 2 (slope 0.5 when recalibrated).
        var stretched = _truth.Select(p => Expit(2 * Math.Log(p / (1 - p)) + 2.3)).ToArray();

        var checks = Judge(stretched);

        var slope = checks.Single(c => c.Name == "calibration slope");
        Assert.False(slope.Passed, slope.Detail);
    }

    [Fact]
    public void GivenAChallengerThatRanksWorseThanTheEquation_WhenJudged_ThenDiscriminationKeepsTheEquation()
    {
        var random = new Random(5);
        var worse = _truth.Select(p => Expit(Math.Log(p / (1 - p)) + (2 * (random.NextDouble() - 0.5) * 3))).ToArray();

        var checks = Judge(worse);

        Assert.False(checks.Single(c => c.Name == "discrimination against PREVENT").Passed);
    }
}

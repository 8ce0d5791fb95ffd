namespace HealthRec.ML.Tests;

/// <summary>Performance estimated before outcomes arrive (CBPE): by hand, by simulation, and on the generated cohort under a shift.</summary>
public sealed class PerformanceEstimateTests
{
    [Fact]
    public void GivenTwoPatients_WhenEstimated_ThenTheAreaIsTheExpectedShareOfPairsOrderedRight()
    {
        // Ordered right: the 0.9 patient has the event and the 0.1 patient not (0.9 × 0.9); wrong: the reverse (0.1 × 0.1).
        var estimate = PerformanceEstimate.Estimate([0.9, 0.1]);

        Assert.Equal(0.81 / (0.81 + 0.01), estimate.RocAuc, 12);
        Assert.Equal(1.0, estimate.ExpectedEvents, 12);
    }

    [Fact]
    public void GivenOutcomesDrawnFromCalibratedProbabilities_WhenTheyArrive_ThenTheRealizedAreaIsTheEstimatedOne()
    {
        var random = new Random(3);
        var p = Enumerable.Range(0, 20_000).Select(_ => Math.Pow(random.NextDouble(), 3)).ToArray();
        var y = p.Select(pi => random.NextDouble() < pi).ToArray();

        var estimate = PerformanceEstimate.Estimate(p);

        Assert.InRange(estimate.RocAuc - BinaryMetrics.RocAuc(p, y), -0.01, 0.01);
        Assert.InRange(estimate.ExpectedEventRate - y.Average(v => v ? 1.0 : 0.0), -0.01, 0.01);
    }
}

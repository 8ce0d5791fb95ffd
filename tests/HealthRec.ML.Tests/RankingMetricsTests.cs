namespace HealthRec.ML.Tests;

public sealed class RankingMetricsTests
{
    // Ranked a, b, c, d, e; relevant b and d (and f, never ranked).
    private static readonly string[] Ranked = ["a", "b", "c", "d", "e"];
    private static readonly HashSet<string> Relevant = new(["b", "d", "f"], StringComparer.Ordinal);

    [Fact]
    public void GivenTheHandExample_WhenPrecisionAndRecallAreComputed_ThenTheyCountHitsInTheTopK()
    {
        Assert.Equal(1.0 / 3, RankingMetrics.PrecisionAt(Ranked, Relevant, 3), 12);
        Assert.Equal(2.0 / 5, RankingMetrics.PrecisionAt(Ranked, Relevant, 5), 12);
        Assert.Equal(1.0 / 3, RankingMetrics.RecallAt(Ranked, Relevant, 3)!.Value, 12);
        Assert.Equal(2.0 / 3, RankingMetrics.RecallAt(Ranked, Relevant, 5)!.Value, 12);
    }

    [Fact]
    public void GivenTheHandExample_WhenNdcgIsComputed_ThenHitsAreDiscountedByLogRank()
    {
        // Hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal for 3 relevant in 5 slots = 1 + 1/log2(3) + 1/log2(4).
        var expected = ((1 / Math.Log2(3)) + (1 / Math.Log2(5))) / (1 + (1 / Math.Log2(3)) + 0.5);
        Assert.Equal(expected, RankingMetrics.NdcgAt(Ranked, Relevant, 5)!.Value, 12);
        // At k = 3 only the rank-2 hit counts; the ideal has three hits in three slots.
        Assert.Equal((1 / Math.Log2(3)) / (1 + (1 / Math.Log2(3)) + 0.5), RankingMetrics.NdcgAt(Ranked, Relevant, 3)!.Value, 12);
        Assert.Equal(1.0, RankingMetrics.NdcgAt(["b", "d", "f"], Relevant, 3)!.Value, 12);
    }

    [Fact]
    public void GivenAPatientWithNothingRelevant_WhenAveraged_ThenPrecisionCountsThemAndRecallAndNdcgDoNot()
    {
        var patients = new List<(IReadOnlyList<string>, IReadOnlySet<string>)>
        {
            (Ranked, Relevant),
            (["x", "y", "z"], new HashSet<string>(StringComparer.Ordinal)),
        };

        var (precision, recall, ndcg) = RankingMetrics.Mean(patients, 3);

        Assert.Equal(((1.0 / 3) + 0) / 2, precision, 12);
        Assert.Equal(1.0 / 3, recall, 12);
        Assert.Equal(RankingMetrics.NdcgAt(Ranked, Relevant, 3)!.Value, ndcg, 12);
        Assert.Equal(6.0 / 10, RankingMetrics.CoverageAt([Ranked, ["x", "y", "z"]], 10, 3), 12);
    }

    [Fact]
    public void GivenNoPatients_WhenAveraged_ThenEveryMeanIsNotANumberRatherThanAnError()
    {
        var (precision, recall, ndcg) = RankingMetrics.Mean([], 5);

        Assert.True(double.IsNaN(precision) && double.IsNaN(recall) && double.IsNaN(ndcg), $"{precision}, {recall}, {ndcg}");
    }

    [Theory]
    [InlineData(60, "60 days")]
    [InlineData(1, "1 day")]
    [InlineData(365, "1 year")]
    [InlineData(1826, "5 years")]
    [InlineData(3652, "10 years")]
    public void GivenAHorizon_WhenTheReportNamesIt_ThenShortOnesAreInDaysAndOneYearIsSingular(int days, string expected) =>
        Assert.Equal(expected, Evaluation.HtmlReport.Horizon(days));
}

namespace HealthRec.ML.Tests;

/// <summary>The fairness audit at a threshold: rates with intervals per group, ratios to the largest group, the 0.8–1.25 band.</summary>
public sealed class FairnessAuditTests
{
    // Two groups with the same outcome rate; the model's probabilities for group b are shrunk by `gap` (1 = no gap).
    private static (double[] P, bool[] Y, string?[] Group) Cohort(int a, int b, double gap, int seed = 7)
    {
        var random = new Random(seed);
        var n = a + b;
        var p = new double[n];
        var y = new bool[n];
        var group = new string?[n];
        for (var i = 0; i < n; i++)
        {
            group[i] = i < a ? "a" : "b";
            y[i] = random.NextDouble() < 0.2;
            var score = Math.Clamp((y[i] ? 0.65 : 0.25) + ((random.NextDouble() - 0.5) * 0.4), 0, 1);
            p[i] = group[i] == "b" ? score * gap : score;
        }

        return (p, y, group);
    }

    [Fact]
    public void GivenAGroupTheModelUnderEstimates_WhenAudited_ThenItsSensitivityAndFlagRateRatiosAreFlagged()
    {
        var (p, y, group) = Cohort(3000, 2000, gap: 0.6);

        var report = FairnessAudit.Audit(p, y, default, 0.5, [("cohort", group)]);

        var reference = Assert.Single(report.Groups, g => g.Reference);
        Assert.Equal("a", reference.Group);
        var b = Assert.Single(report.Groups, g => g.Group == "b");
        var tpr = Assert.Single(b.Ratios, r => r.Metric == "TPR");
        Assert.True(tpr.Flagged && tpr.Ratio < FairnessAudit.Low, $"TPR ratio {tpr.Ratio}");
        Assert.True(Assert.Single(b.Ratios, r => r.Metric == "flag rate").Flagged);
        Assert.Equal(["cohort=b"], report.Flagged.Select(g => $"{g.Dimension}={g.Group}"));
        // The ratio is the two groups' rates, each counted by hand here.
        double Sensitivity(string g) => (double)Enumerable.Range(0, p.Length).Count(i => group[i] == g && y[i] && p[i] >= 0.5)
            / Enumerable.Range(0, p.Length).Count(i => group[i] == g && y[i]);
        Assert.Equal(Sensitivity("b") / Sensitivity("a"), tpr.Ratio, 9);
    }

    [Fact]
    public void GivenExamplesThatStateRaceAndEthnicity_WhenEvaluated_ThenTheAuditJudgesThoseGroupsToo_AndOnlyWhenStated()
    {
        // Black patients' probabilities shrunk: the audit by race flags them; ethnicity, the same for both, flags nothing.
        var (p, y, group) = Cohort(3000, 2000, gap: 0.6);
        List<OutcomeExample> Examples(bool stated) => [.. p.Select((_, i) => new OutcomeExample($"p{i}", DateTimeOffset.UnixEpoch, [], y[i], 0, i % 2 == 0 ? Sex.Female : Sex.Male, 50, double.NaN)
        {
            Race = stated ? (group[i] == "a" ? "White" : "Black or African American") : null,
            Ethnicity = stated ? (i % 3 == 0 ? "Hispanic or Latino" : "Not Hispanic or Latino") : null,
        })];

        var audited = OutcomeMetrics.Binary("test", Examples(stated: true), p, 0.5).Fairness!;
        Assert.Equal(["sex", "age", "race", "ethnicity"], audited.Groups.Select(g => g.Dimension).Distinct());
        Assert.Contains("race=Black or African American", audited.Flagged.Select(g => $"{g.Dimension}={g.Group}"));
        Assert.DoesNotContain(audited.Flagged, g => g.Dimension == "ethnicity");
        // A data set that states neither is audited by sex and age only: no empty "unknown" group is judged.
        var unstated = OutcomeMetrics.Binary("test", Examples(stated: false), p, 0.5).Fairness!;
        Assert.Equal(["sex", "age"], unstated.Groups.Select(g => g.Dimension).Distinct());
    }

    [Fact]
    public void GivenTheSameModelForBothGroups_WhenAudited_ThenNoRatioLeavesTheBand()
    {
        var (p, y, group) = Cohort(3000, 3000, gap: 1);

        var report = FairnessAudit.Audit(p, y, default, 0.5, [("cohort", group)]);

        Assert.Empty(report.Flagged);
        Assert.All(report.Groups.SelectMany(g => g.Ratios), r => Assert.InRange(r.Ratio, FairnessAudit.Low, FairnessAudit.High));
    }

    [Fact]
    public void GivenAGroupOfAFewPatients_WhenAudited_ThenItsRatiosAreNotJudgedAndSaySo()
    {
        var (p, y, group) = Cohort(2000, 6, gap: 0.2);

        var b = Assert.Single(FairnessAudit.Audit(p, y, default, 0.5, [("cohort", group)]).Groups, g => g.Group == "b");

        Assert.All(b.Ratios, r => Assert.False(r.Flagged));
        Assert.All(b.Ratios, r => Assert.Equal("fewer than 10 in the denominator", r.NotJudged));
    }

    [Fact]
    public void GivenEightOfTen_WhenARateIsTaken_ThenItsIntervalIsWilsons()
    {
        var rate = Rate.Of(8, 10);

        Assert.Equal(0.8, rate.Value, 12);
        // Wilson score interval for 8/10 at z = 1.96: 0.4902 to 0.9433 (Newcombe, Stat Med 1998, method 3).
        Assert.Equal(0.4902, rate.Low, 4);
        Assert.Equal(0.9433, rate.High, 4);
    }

    [Fact]
    public void GivenCensoringWeights_WhenAudited_ThenTheRatesAreWeighted()
    {
        double[] p = [0.9, 0.9, 0.1, 0.1];
        bool[] y = [true, true, true, false];
        double[] w = [1, 3, 4, 1];

        var group = Assert.Single(FairnessAudit.Audit(p, y, w, 0.5, [("all", ["x", "x", "x", "x"])]).Groups);

        // Weighted: 4 of 8 events flagged.
        Assert.Equal(0.5, group.Tpr.Value, 12);
        Assert.Equal(8, group.Tpr.Denominator, 12);
    }

    [Fact]
    public void GivenAChallengerThatUnderEstimatesWomen_WhenTheGateIsToldToRefuseFlags_ThenItsFairnessCheckFailsNamingTheGroup()
    {
        var (p, y, group) = Cohort(3000, 2000, gap: 0.6);
        var test = y.Select((label, i) => new Training.OutcomeExample($"p{i}", DateTimeOffset.UnixEpoch, [], label, 0,
            group[i] == "b" ? Clinical.Records.Sex.Female : Clinical.Records.Sex.Male, 50, double.NaN)).ToList();
        var fair = Cohort(3000, 2000, gap: 1).P;

        var flagged = Registry.PromotionGate.FairnessCheck(Training.OutcomeMetrics.Binary("challenger", test, p, 0.5));
        var passed = Registry.PromotionGate.FairnessCheck(Training.OutcomeMetrics.Binary("challenger", test, fair, 0.5));

        Assert.False(flagged.Passed);
        Assert.Contains("sex=female (TPR", flagged.Detail, StringComparison.Ordinal);
        Assert.True(passed.Passed, passed.Detail);
    }
}

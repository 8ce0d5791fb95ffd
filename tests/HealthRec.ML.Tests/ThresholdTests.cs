using HealthRec.Clinical.Safety;

namespace HealthRec.ML.Tests;

/// <summary>A safety threshold judged against a result reported as a bound: over every value the bound allows.</summary>
public sealed class ThresholdTests
{
    private static readonly Threshold Below30 = new(30, null, null, null);
    private static readonly Threshold From30To45 = new(45, null, 30, null);
    private static readonly Threshold Above5 = new(null, null, null, 5.0);

    public static TheoryData<string, double, ValueBound, bool?> Cases => new()
    {
        { "below 30", 24, ValueBound.Exact, true },
        { "below 30", 30, ValueBound.Exact, false },
        { "below 30", 30, ValueBound.Below, true },
        { "below 30", 30, ValueBound.AtMost, null },
        { "below 30", 45, ValueBound.Below, null },
        { "below 30", 30, ValueBound.AtLeast, false },
        { "below 30", 20, ValueBound.Above, null },
        { "30 to 45", 45, ValueBound.Below, null },
        { "30 to 45", 60, ValueBound.Above, false },
        { "30 to 45", 30, ValueBound.Below, false },
        { "30 to 45", 38, ValueBound.Exact, true },
        { "above 5", 5.5, ValueBound.Above, true },
        { "above 5", 5.0, ValueBound.AtLeast, null },
        { "above 5", 5.0, ValueBound.Above, true },
        { "above 5", 6.0, ValueBound.Below, null },
        { "above 5", 5.0, ValueBound.AtMost, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GivenAResultReportedAsABound_WhenJudged_ThenTheThresholdHoldsForAllOfItsRangeForNoneOrItCannotTell(string threshold, double value, ValueBound bound, bool? expected)
    {
        var rule = threshold switch { "below 30" => Below30, "30 to 45" => From30To45, _ => Above5 };

        Assert.Equal(expected, rule.Holds(value, bound));
    }

    [Fact]
    public void GivenAThreshold_WhenWorded_ThenItReadsAsTheRuleDoes() =>
        Assert.Equal("at least 30 and below 45", From30To45.Text);
}

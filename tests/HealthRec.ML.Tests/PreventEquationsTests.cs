namespace HealthRec.ML.Tests;

/// <summary>
/// The PREVENT base model against published input → output pairs, to three decimals: preventr 0.12.0's test suite
/// (tests/testthat/test-prevent_equations.R and the base-model snapshots of test-estimate_risk.R: the AHA's example
/// patient — 50 years, SBP 160, total cholesterol 200, HDL 45, BMI 35, eGFR 90, no statin, not smoking — with and
/// without diabetes and antihypertensive treatment, each sex) and CVrisk's test of a 55-year-old man (ASCVD 3.9 %).
/// </summary>
public sealed class PreventEquationsTests
{
    public static TheoryData<bool, double, double, double, double, double, double, bool, bool, bool, bool, double, double, double> Published => new()
    {
        // female, age, total chol, HDL, SBP, BMI, eGFR, antihypertensive, statin, smoker, diabetes → total CVD, ASCVD, heart failure
        { true, 50, 200, 45, 160, 35, 90, true, false, false, true, 0.147, 0.092, 0.081 },
        { false, 50, 200, 45, 160, 35, 90, true, false, false, true, 0.163, 0.102, 0.106 },
        { true, 50, 200, 45, 160, 35, 90, false, false, false, true, 0.122, 0.079, 0.067 },
        { false, 50, 200, 45, 160, 35, 90, false, false, false, true, 0.136, 0.089, 0.087 },
        { true, 50, 200, 45, 160, 35, 90, true, false, false, false, 0.059, 0.037, 0.025 },
        { false, 50, 200, 45, 160, 35, 90, true, false, false, false, 0.075, 0.048, 0.039 },
    };

    [Theory]
    [MemberData(nameof(Published))]
    public void GivenAPublishedExample_WhenEstimated_ThenEachOutcomeMatchesToThreeDecimals(bool female, double age, double tc, double hdl, double sbp,
        double bmi, double egfr, bool bpTreated, bool statin, bool smoker, bool diabetic, double totalCvd, double ascvd, double heartFailure)
    {
        var inputs = new PreventInputs(female, age, tc, hdl, sbp, bmi, egfr, bpTreated, statin, smoker, diabetic);

        Assert.Equal(totalCvd, Math.Round(PreventEquations.TenYearRisk(PreventOutcome.TotalCvd, inputs), 3));
        Assert.Equal(ascvd, Math.Round(PreventEquations.TenYearRisk(PreventOutcome.Ascvd, inputs), 3));
        Assert.Equal(heartFailure, Math.Round(PreventEquations.TenYearRisk(PreventOutcome.HeartFailure, inputs), 3));
        Assert.Empty(PreventEquations.OutOfRange(inputs));
    }

    [Fact]
    public void GivenCVrisksMaleExample_WhenAscvdIsEstimated_ThenItIs3Point9Percent()
    {
        var man = new PreventInputs(false, 55, 213, 50, 140, 30, 90, false, false, false, false);

        Assert.Equal(0.039, Math.Round(PreventEquations.TenYearRisk(PreventOutcome.Ascvd, man), 3));
    }

    [Fact]
    public void GivenAPatient_WhenTheTermsAreListed_ThenTheySumToTheLinearPredictorAndTheHeartFailureEquationHasNoCholesterol()
    {
        var woman = new PreventInputs(true, 64, 240, 38, 150, 33, 52, true, true, true, true);

        foreach (var outcome in Enum.GetValues<PreventOutcome>())
        {
            var terms = PreventEquations.Terms(outcome, woman);
            var x = terms.Sum(t => t.Contribution);
            Assert.Equal(PreventEquations.TenYearRisk(outcome, woman), 1 / (1 + Math.Exp(-x)), 12);
            Assert.Equal("constant", terms[^1].Name);
        }

        var heartFailure = PreventEquations.Terms(PreventOutcome.HeartFailure, woman);
        Assert.DoesNotContain(heartFailure, t => t.Name.Contains("cholesterol", StringComparison.Ordinal) || t.Name.Contains("statin", StringComparison.Ordinal));
        Assert.Contains(PreventEquations.Terms(PreventOutcome.Ascvd, woman), t => t.Name == "statin × non-HDL cholesterol");
        // An eGFR of 52 adds through the "below 60" term, 8/15 of a step.
        Assert.Equal(8.0 / 15, PreventEquations.Terms(PreventOutcome.TotalCvd, woman).Single(t => t.Name == "eGFR below 60, per 15 lower").Value, 12);
    }

    [Fact]
    public void GivenInputsOutsideTheValidatedRanges_WhenChecked_ThenEachIsNamedWithItsRange()
    {
        var outside = new PreventInputs(false, 82, 110, 105, 190, 41, 12, false, false, false, false);

        var problems = PreventEquations.OutOfRange(outside);

        Assert.Equal(
        [
            "age 82 years is outside 30–79 years",
            "total cholesterol 110 mg/dL is outside 130–320 mg/dL",
            "HDL cholesterol 105 mg/dL is outside 20–100 mg/dL",
            "systolic pressure 190 mmHg is outside 90–180 mmHg",
            "BMI 41 kg/m² is outside 18.5–39.9 kg/m²",
            "eGFR 12 mL/min/1.73 m² is outside 15–140 mL/min/1.73 m²",
        ], problems);
        Assert.Empty(PreventEquations.OutOfRange(outside with { Age = 30, TotalCholesterol = 320, Hdl = 20, Sbp = 90, Bmi = 18.5, Egfr = 140 }));
        Assert.Single(PreventEquations.OutOfRange(outside with { Age = double.NaN, TotalCholesterol = 200, Hdl = 50, Sbp = 120, Bmi = 25, Egfr = 90 }));
    }
}

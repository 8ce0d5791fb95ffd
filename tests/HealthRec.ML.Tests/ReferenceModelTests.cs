namespace HealthRec.ML.Tests;

/// <summary>PREVENT read from a patient record: which values it takes, what it refuses to guess, and what it says it lacks.</summary>
public sealed class ReferenceModelTests
{
    private static readonly DateTimeOffset At = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReferenceModel Prevent = ReferenceModels.All["prevent-ascvd"];

    // A 60-year-old man (born 1965-06-01) with every input measured a month ago.
    private static PatientRecordBuilder Patient(double tc = 210, double hdl = 45, double sbp = 142, double egfr = 85, int daysAgo = 30)
    {
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1965, 6, 1), Sex = Sex.Male, HasDemographics = true };
        var when = At.AddDays(-daysAgo);
        builder.Add("total_cholesterol", new Measurement(when, tc, false));
        builder.Add("hdl", new Measurement(when, hdl, false));
        builder.Add("sbp", new Measurement(when, sbp, false));
        builder.Add("egfr", new Measurement(when, egfr, false));
        builder.Add("smoking_status", new Measurement(when, 2, false));
        builder.Add(new EncounterEntry(when, null, "AMB"));
        return builder;
    }

    private static MedicationEntry Taking(string @class) =>
        new("http://www.nlm.nih.gov/research/umls/rxnorm", "1", @class, [@class], At.AddYears(-1), null, "active", MedicationSource.Statement);

    [Fact]
    public void GivenARecordWithEveryInput_WhenEvaluated_ThenTheEstimateIsTheEquationsOnTheLastValues_AndTheReasonsAreItsTermsByRiskFactor()
    {
        var builder = Patient();
        builder.Add("total_cholesterol", new Measurement(At.AddYears(-3), 300, false)); // older, not the last
        builder.Add(Taking("statin"));
        builder.Add(Taking("thiazide"));

        var estimate = Prevent.Evaluate(builder.Build(), At);

        var expected = PreventEquations.TenYearRisk(PreventOutcome.Ascvd, new PreventInputs(false, 60, 210, 45, 142, 25, 85, true, true, true, false));
        Assert.Equal(expected, estimate.Estimate!.Value, 12);
        Assert.Empty(estimate.NotGiven);
        Assert.Empty(estimate.Lacks);
        Assert.Equal(At.AddDays(-30), estimate.AsOf);
        // Main effects and interactions summed per risk factor: the terms of each quantity add up to its reason.
        var terms = PreventEquations.Terms(PreventOutcome.Ascvd, new PreventInputs(false, 60, 210, 45, 142, 25, 85, true, true, true, false));
        var sbp = estimate.Reasons.Single(r => r.Quantity == "sbp");
        Assert.Equal(terms.Where(t => t.Quantity == "sbp").Sum(t => t.Contribution), sbp.Contribution, 12);
        Assert.Equal("systolic pressure 142 mmHg", sbp.Text);
        Assert.Contains(estimate.Reasons, r => r.Text == "current smoking" && r.Contribution > 0);
        Assert.Contains(estimate.Reasons, r => r.Text == "on a statin");
        Assert.DoesNotContain(estimate.Reasons, r => r.Quantity == "constant");
        Assert.Equal(estimate.Reasons.OrderByDescending(r => Math.Abs(r.Contribution)), estimate.Reasons);
    }

    [Theory]
    [InlineData(340, 45, 142, "total cholesterol 340 mg/dL is outside 130–320 mg/dL")]
    [InlineData(210, 110, 142, "HDL cholesterol 110 mg/dL is outside 20–100 mg/dL")]
    [InlineData(210, 45, 200, "systolic pressure 200 mmHg is outside 90–180 mmHg")]
    public void GivenAnInputOutsideTheValidRange_WhenEvaluated_ThenThereIsNoNumberAndTheReasonSaysWhich(double tc, double hdl, double sbp, string reason)
    {
        var estimate = Prevent.Evaluate(Patient(tc, hdl, sbp).Build(), At);

        Assert.Null(estimate.Estimate);
        Assert.Contains(estimate.NotGiven, n => n.StartsWith(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void GivenAPatientOlderThan79_WhenEvaluated_ThenThereIsNoNumber()
    {
        var builder = Patient();
        builder.BirthDate = new DateOnly(1940, 1, 1);

        var estimate = Prevent.Evaluate(builder.Build(), At);

        Assert.Null(estimate.Estimate);
        Assert.Contains(estimate.NotGiven, n => n.StartsWith("age 85 years is outside 30–79 years", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenStaleMissingAndUnreadInputs_WhenEvaluated_ThenEachIsNamed_AndNothingIsGuessedButSmoking()
    {
        // Lipids 6 years old: used (within twice the 5-year window) and named.
        var stale = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1965, 6, 1), Sex = Sex.Male, HasDemographics = true };
        stale.Add("total_cholesterol", new Measurement(At.AddYears(-6), 210, false));
        stale.Add("hdl", new Measurement(At.AddYears(-6), 45, false));
        stale.Add("sbp", new Measurement(At.AddDays(-30), 142, false));
        stale.Add("egfr", new Measurement(At.AddDays(-30), 85, false));
        stale.Add(new UnreadFact("egfr", At.AddDays(-5), "Observation/9", "eGFR recorded in 'mL/s' on 2025-05-27: not comparable"));

        var estimate = Prevent.Evaluate(stale.Build(), At);

        Assert.NotNull(estimate.Estimate);
        Assert.Contains("total cholesterol from 6 years ago, older than the 5-year window", estimate.Lacks);
        Assert.Contains(estimate.Lacks, l => l.StartsWith("a newer eGFR (or creatinine) could not be read", StringComparison.Ordinal));
        Assert.Contains(estimate.Lacks, l => l.StartsWith("smoking status not recorded: taken as not smoking", StringComparison.Ordinal));
        Assert.Equal(At.AddDays(-30), estimate.AsOf);

        // Lipids 11 years old (beyond twice the window) and no eGFR at all: no number, each missing input named.
        var missing = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1965, 6, 1), Sex = Sex.Male, HasDemographics = true };
        missing.Add("total_cholesterol", new Measurement(At.AddYears(-11), 210, false));
        missing.Add("hdl", new Measurement(At.AddYears(-11), 45, false));
        missing.Add("sbp", new Measurement(At.AddDays(-30), 142, false));

        var none = Prevent.Evaluate(missing.Build(), At);

        Assert.Null(none.Estimate);
        Assert.Contains("the last total cholesterol is 11 years old (needed within 10)", none.NotGiven);
        Assert.Contains("no eGFR (or creatinine) recorded", none.NotGiven);
    }

    [Fact]
    public void GivenAnOutcomeNamingAReferenceForAnotherOutcome_WhenParsed_ThenItIsRefused()
    {
        var json = """{"id":"t2d-5y","title":"X","target":{"conditionGroups":["t2d"]},"horizonDays":365,"reference":"prevent-ascvd"}""";

        var ex = Assert.Throws<Clinical.Outcomes.OutcomeDefinitionException>(() => Clinical.Outcomes.OutcomeDefinition.Parse(json, "x.json", Repo.Terminology));

        Assert.Contains("reference 'prevent-ascvd' estimates ascvd-10y, not t2d-5y", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAnOutcomeNamingAnUnknownEquationAlongside_OrItsOwnReference_WhenParsed_ThenEachIsRefused()
    {
        var json = """{"id":"ascvd-10y","title":"X","target":{"conditionGroups":["ascvd"]},"horizonDays":3652,"reference":"prevent-ascvd","alongside":["qrisk3","prevent-ascvd","qdiabetes-t2d"]}""";

        var ex = Assert.Throws<Clinical.Outcomes.OutcomeDefinitionException>(() => Clinical.Outcomes.OutcomeDefinition.Parse(json, "x.json", Repo.Terminology));

        Assert.Contains("alongside names unknown equation 'qrisk3'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("alongside names 'prevent-ascvd', which is already the reference", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("qdiabetes-t2d'", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>What a trained model's estimate lacks, read from the committed t2d-5y model and a hand-written record.</summary>
public sealed class ModelLacksTests
{
    private static readonly DateTimeOffset At = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GivenANewerResultInAUnitHealthRecCannotRead_WhenAModelEstimates_ThenItIsListedAsLacking_AndNoGapIsGivenAsAReason()
    {
        // A 58-year-old woman: HbA1c 6.1 % two years ago, and last month an HbA1c the source wrote in a unit HealthRec
        // cannot compare; BMI and pressure recent; no eGFR.
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1967, 2, 1), Sex = Sex.Female, HasDemographics = true };
        builder.Add("hba1c", new Measurement(At.AddYears(-2), 6.1, false));
        builder.Add(new UnreadFact("hba1c", At.AddDays(-30), "Observation/a1c-new", "HbA1c recorded in 'mg/dL' on 2025-05-02: not comparable with %"));
        builder.Add("bmi", new Measurement(At.AddDays(-30), 31.5, false));
        builder.Add("sbp", new Measurement(At.AddDays(-30), 138, false));
        builder.Add(new EncounterEntry(At.AddDays(-30), null, "AMB"));
        using var predictor = ML.Serving.OutcomePredictor.LoadCurrent(Repo.Path_("models"), "t2d-5y", Repo.Featurizer(), Repo.Terminology);

        var prediction = predictor.Predict(builder.Build(), At)!;

        Assert.Equal("a newer HbA1c could not be read: HbA1c recorded in 'mg/dL' on 2025-05-02: not comparable with %", prediction.Lacks[0]);
        Assert.Equal([prediction.Lacks[0]], prediction.Unreadable);
        // Said as unreadable, not also as missing; and one reading of pressure is recorded, its trend is what is missing.
        Assert.DoesNotContain(prediction.Lacks, l => l.StartsWith("HbA1c", StringComparison.Ordinal));
        Assert.DoesNotContain("Systolic blood pressure: not recorded", prediction.Lacks);
        Assert.DoesNotContain(prediction.Factors, f => f.Text.Contains("not recorded", StringComparison.Ordinal) || f.Text.Contains("days ago", StringComparison.Ordinal)
            || f.Feature.EndsWith("_missing", StringComparison.Ordinal) || f.Feature.EndsWith("_days_since", StringComparison.Ordinal));
        // The record's gaps the model weighed (no glucose, no lipids) are listed as what it lacks instead.
        Assert.Contains("Glucose: not recorded", prediction.Lacks);
        // A result's age is a gap only past a year; a recent one is part of its analyte's reason, never a reason itself.
        Assert.All(prediction.Lacks.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"(\d+) days ago")).Where(m => m.Success),
            m => Assert.True(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 365, m.Value));
        Assert.Contains("Triglycerides: not recorded", prediction.Lacks);
        Assert.False(prediction.ByReference);
        Assert.True(prediction.Synthetic);
        Assert.Equal(At.AddDays(-30), prediction.AsOf);
    }
}

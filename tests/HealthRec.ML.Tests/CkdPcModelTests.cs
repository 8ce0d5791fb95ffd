namespace HealthRec.ML.Tests;

/// <summary>CKD-PC read from a patient record: which equation, which values, what it will not use, and what it says it lacks.</summary>
public sealed class CkdPcModelTests
{
    private static readonly DateTimeOffset At = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReferenceModel CkdPc = ReferenceModels.All["ckdpc-egfr60"];

    // A 62-year-old woman (born 1963-06-01) with eGFR, BMI, ACR, pressure and smoking status measured a month ago.
    private static PatientRecordBuilder Patient(double egfr = 72, double? acr = 40, double sbp = 128, double dbp = 78, string? race = null)
    {
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1963, 6, 1), Sex = Sex.Female, HasDemographics = true, Race = race };
        var when = At.AddDays(-30);
        builder.Add("egfr", new Measurement(when, egfr, false));
        builder.Add("bmi", new Measurement(when, 31, false));
        builder.Add("sbp", new Measurement(when, sbp, false));
        builder.Add("dbp", new Measurement(when, dbp, false));
        builder.Add("smoking_status", new Measurement(when, 1, false));
        if (acr is { } ratio)
        {
            builder.Add("uacr", new Measurement(when, ratio, false));
        }

        builder.Add(new EncounterEntry(when, null, "AMB"));
        return builder;
    }

    private static MedicationEntry Taking(string @class) =>
        new("http://www.nlm.nih.gov/research/umls/rxnorm", "1", @class, [@class], At.AddYears(-1), null, "active", MedicationSource.Statement);

    private static ConditionEntry Diagnosed(string group) => new("http://snomed.info/sct", "1", [group], At.AddYears(-3), null, "active", "confirmed");

    [Fact]
    public void GivenARecordWithoutDiabetesStatingBlackRace_WhenEvaluated_ThenTheEquationRunsWithoutItsRaceTerm_AndSaysSo()
    {
        var estimate = CkdPc.Evaluate(Patient(race: "Black or African American").Build(), At);

        // Pressure 128/78 untreated and no diagnosis: no hypertension; an ex-smoker has smoked.
        var expected = CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, false, 72, false, true, false, 31, 40));
        Assert.Equal(expected, estimate.Estimate!.Value, 12);
        Assert.True(CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, true, 72, false, true, false, 31, 40)) > expected);
        Assert.Contains(estimate.Lacks, l => l.Contains("race term is not applied", StringComparison.Ordinal) && l.Contains("1.20", StringComparison.Ordinal));
        Assert.DoesNotContain(estimate.Reasons, r => r.Quantity == "race");
        Assert.Contains(estimate.Reasons, r => r.Text == "eGFR 72 mL/min/1.73 m²" && r.Contribution > 0);
        Assert.Contains(estimate.Reasons, r => r.Text == "urine albumin/creatinine 40 mg/g");
        Assert.Equal(At.AddDays(-30), estimate.AsOf);
    }

    [Fact]
    public void GivenTypeTwoDiabetesOnInsulinAndTreatedPressure_WhenEvaluated_ThenTheDiabetesEquationReadsHba1cTreatmentAndHypertension()
    {
        var builder = Patient();
        builder.Add(Diagnosed("t2d"));
        builder.Add(Diagnosed("heart-failure"));
        builder.Add(Taking("insulin"));
        builder.Add(Taking("metformin"));
        builder.Add(Taking("ace-inhibitor"));
        builder.Add("hba1c", new Measurement(At.AddDays(-60), 8.4, false));

        var estimate = CkdPc.Evaluate(builder.Build(), At);

        var expected = CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, false, 72, true, true, true, 31, 40,
            new CkdPcDiabetes(8.4, DiabetesTreatment.Insulin)));
        Assert.Equal(expected, estimate.Estimate!.Value, 12);
        Assert.Contains(estimate.Reasons, r => r.Text == "on insulin");
        Assert.Contains(estimate.Reasons, r => r.Text == "HbA1c 8.4 %");
    }

    [Fact]
    public void GivenADiagnosisOfDiabetesWithoutAnHba1c_WhenEvaluated_ThenThereIsNoNumber_AndHighPressureAloneIsHypertension()
    {
        var builder = Patient();
        builder.Add(Diagnosed("t2d"));
        Assert.Equal(["no HbA1c recorded"], CkdPc.Evaluate(builder.Build(), At).NotGiven);

        var pressure = CkdPc.Evaluate(Patient(sbp: 150, dbp: 95).Build(), At);
        Assert.Equal(CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, false, 72, false, true, true, 31, 40)), pressure.Estimate!.Value, 12);
    }

    [Fact]
    public void GivenNoAlbuminuriaOrOneBelowTheEquationsLowest_WhenEvaluated_ThenItFollowsTheEquationsRuleOrUsesTheLowest_AndSaysWhich()
    {
        var missing = CkdPc.Evaluate(Patient(acr: null).Build(), At);
        Assert.Equal(CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, false, 72, false, true, false, 31, null)), missing.Estimate!.Value, 12);
        Assert.Contains(missing.Lacks, l => l.StartsWith("no urine albumin/creatinine recorded: taken as expected", StringComparison.Ordinal));

        var low = CkdPc.Evaluate(Patient(acr: 2).Build(), At);
        Assert.Equal(CkdPcEquations.FiveYearRisk(new CkdPcInputs(true, 62, false, 72, false, true, false, 31, 5)), low.Estimate!.Value, 12);
        Assert.Contains("urine albumin/creatinine 2 mg/g used as 5, the lowest the equation takes", low.Read);
    }

    [Fact]
    public void GivenAnEgfrAlreadyBelow60_WhenEvaluated_ThenThereIsNoNumberAndTheReasonSaysTheEquationDoesNotApply()
    {
        var estimate = CkdPc.Evaluate(Patient(egfr: 52).Build(), At);

        Assert.Null(estimate.Estimate);
        Assert.Equal(["eGFR 52 mL/min/1.73 m² is below 60 mL/min/1.73 m², the range the equation was developed for"], estimate.NotGiven);
    }
}

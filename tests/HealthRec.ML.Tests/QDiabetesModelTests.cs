namespace HealthRec.ML.Tests;

/// <summary>QDiabetes-2018 model C read from a patient record: which values, which histories, what it cannot read and says.</summary>
public sealed class QDiabetesModelTests
{
    private static readonly DateTimeOffset At = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ReferenceModel QDiabetes = ReferenceModels.All["qdiabetes-t2d"];

    // A 62-year-old (born 1963-06-01) with HbA1c, BMI and smoking status measured a month ago.
    private static PatientRecordBuilder Patient(Sex sex = Sex.Female, double? hba1c = 6.0, double bmi = 31, double smoking = 1, string? race = null)
    {
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1963, 6, 1), Sex = sex, HasDemographics = true, Race = race };
        var when = At.AddDays(-30);
        if (hba1c is { } value)
        {
            builder.Add("hba1c", new Measurement(when, value, false));
        }

        builder.Add("bmi", new Measurement(when, bmi, false));
        builder.Add("smoking_status", new Measurement(when, smoking, false));
        builder.Add(new EncounterEntry(when, null, "AMB"));
        return builder;
    }

    private static MedicationEntry Taking(string @class) =>
        new("http://www.nlm.nih.gov/research/umls/rxnorm", "1", @class, [@class], At.AddYears(-1), null, "active", MedicationSource.Statement);

    // Diagnosed three years ago; a resolved one ended two years ago (a history still counts where the equation reads one).
    private static ConditionEntry Diagnosed(string group, bool resolved = false) =>
        new("http://snomed.info/sct", "1", [group], At.AddYears(-3), resolved ? At.AddYears(-2) : null, resolved ? "resolved" : "active", "confirmed");

    [Fact]
    public void GivenAWomanWithHistoriesAndTreatments_WhenEvaluated_ThenEachIsAnInput_AndHba1cIsReadInMmolPerMol()
    {
        var builder = Patient();
        builder.Add(Diagnosed("hypertension"));
        builder.Add(Taking("ace-inhibitor"));
        builder.Add(Taking("statin"));
        builder.Add(Taking("oral-corticosteroid"));
        builder.Add(Diagnosed("family-history-diabetes"));
        builder.Add(Diagnosed("gestational-diabetes", resolved: true));

        var estimate = QDiabetes.Evaluate(builder.Build(), At);

        var expected = QDiabetesEquations.TenYearRisk(new QDiabetesInputs(true, 62, 31, (6.0 - 2.152) / 0.09148)
        {
            Smoking = QDiabetesSmoking.Former, TreatedHypertension = true, Statin = true, Corticosteroids = true, FamilyHistory = true,
            GestationalDiabetes = true,
        });
        Assert.Equal(expected, estimate.Estimate!.Value, 12);
        Assert.Contains("HbA1c 6.0 % read as 42 mmol/mol (IFCC–NGSP master equation)", estimate.Read);
        Assert.Contains(estimate.Reasons, r => r.Text == "gestational diabetes" && r.Contribution > 0);
        Assert.Contains(estimate.Reasons, r => r.Text == "HbA1c 42 mmol/mol");
        Assert.Contains(estimate.Lacks, l => l.StartsWith("the Townsend deprivation score", StringComparison.Ordinal));
        Assert.DoesNotContain(estimate.Lacks, l => l.Contains("family history", StringComparison.Ordinal));
        Assert.DoesNotContain(estimate.Lacks, l => l.Contains("smok", StringComparison.Ordinal));
        Assert.Equal(At.AddDays(-30), estimate.AsOf);
    }

    [Fact]
    public void GivenAManWhoSmokesWithALowBmiAndUntreatedHypertension_WhenEvaluated_ThenWhatItAssumesIsSaid()
    {
        var builder = Patient(Sex.Male, bmi: 17.5, smoking: 2, race: "Asian");
        builder.Add(Diagnosed("hypertension"));
        builder.Add(Diagnosed("pcos"));

        var estimate = QDiabetes.Evaluate(builder.Build(), At);

        // Hypertension without treatment is not "treated hypertension"; the women's terms are never read for a man.
        var expected = QDiabetesEquations.TenYearRisk(new QDiabetesInputs(false, 62, 17.5, (6.0 - 2.152) / 0.09148) { Smoking = QDiabetesSmoking.Moderate });
        Assert.Equal(expected, estimate.Estimate!.Value, 12);
        Assert.Contains("BMI 17.5 kg/m² read as 20, the equation's rule", estimate.Read);
        Assert.Contains("how much the patient smokes is not recorded: read as moderate (10–19 a day)", estimate.Lacks);
        Assert.Contains(estimate.Lacks, l => l.StartsWith("no family history of diabetes coded", StringComparison.Ordinal));
        Assert.Contains(estimate.Lacks, l => l.Contains("ethnicity terms are not applied", StringComparison.Ordinal));
        Assert.DoesNotContain(estimate.Reasons, r => r.Quantity is "hypertension" or "pcos" or "ethnicity");
    }

    [Fact]
    public void GivenAnHba1cOfDiabetes_OrAnAgeOutsideItsRange_WhenEvaluated_ThenNoNumberIsGiven_AndTheCardSaysWhy_ButWithoutAnHba1cModelAAnswers()
    {
        var diabetic = QDiabetes.Evaluate(Patient(hba1c: 6.6).Build(), At);
        var old = Patient();
        old.BirthDate = new DateOnly(1938, 1, 1);
        var tooOld = QDiabetes.Evaluate(old.Build(), At);
        var unmeasured = QDiabetes.Evaluate(Patient(hba1c: null).Build(), At);

        Assert.Null(diabetic.Estimate);
        Assert.Equal(["HbA1c 49 mmol/mol is outside 15–47 mmol/mol, the range the equation was developed for"], diabetic.NotGiven);
        Assert.Null(tooOld.Estimate);
        Assert.Equal(["age 87 years is outside 25–84 years, the range the equation was developed for"], tooOld.NotGiven);
        Assert.Equal(QDiabetesEquations.TenYearRisk(new QDiabetesInputs(true, 62, 31, null) { Smoking = QDiabetesSmoking.Former }), unmeasured.Estimate!.Value, 12);
        Assert.Contains("no HbA1c recorded: the equation without a blood test (model A) is used", unmeasured.Lacks);
        Assert.DoesNotContain(unmeasured.Reasons, r => r.Quantity == "hba1c");
    }
}

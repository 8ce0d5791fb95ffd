namespace HealthRec.Clinical.Risk;

/// <summary>
/// QDiabetes-2018 (<see cref="QDiabetesEquations"/>: model C with an HbA1c, model A without) as a reference model: the
/// validated 10-year risk of type 2 diabetes, given beside an outcome of a shorter horizon (never compared with it,
/// never its champion).
/// </summary>
public sealed record QDiabetesModel(string Id, string Name, string Outcome, string Citation, string Url, string Population, string Validation)
    : ReferenceModel(Id, Name, Outcome, Citation, Url, Population, Validation)
{
    /// <summary>The IFCC–NGSP master equation (NGSP % = 0.09148 × IFCC mmol/mol + 2.152), the one the terminology's HbA1c conversion states.</summary>
    public static double Hba1cMmolMol(double percent) => (percent - 2.152) / 0.09148;

    /// <inheritdoc/>
    public override IReadOnlyList<string> Inputs { get; } =
        ["age_years", "sex_female", "bmi", "hba1c", "smoking_status", "ever_ascvd", "on_antihypertensive", "has_hypertension", "on_statin"];

    /// <inheritdoc/>
    /// <remarks>Applied as its model card says (<see cref="ReferenceModel.Card"/>): model C or A by HbA1c, what it cannot read said where it applies.</remarks>
    public override ReferenceEstimate Evaluate(PatientRecord record, DateTimeOffset at)
    {
        var ci = CultureInfo.InvariantCulture;
        var inputs = new ReferenceInputs(record, at);
        var hba1c = inputs.Input("hba1c", "HbA1c", required: false);
        var bmi = inputs.Input("bmi", "BMI", required: true);
        var smoking = inputs.Input("smoking_status", "smoking status", required: false);
        if (inputs.NotGiven.Count > 0 || inputs.Age is not { } age)
        {
            return inputs.NotEstimated(this);
        }

        var female = inputs.Female;
        var p = new QDiabetesInputs(female, age, bmi!.Value, hba1c is { } percent ? Hba1cMmolMol(percent) : null)
        {
            Smoking = smoking switch { >= 2 => QDiabetesSmoking.Moderate, >= 1 => QDiabetesSmoking.Former, _ => QDiabetesSmoking.Never },
            FamilyHistory = record.HadCondition("family-history-diabetes", at),
            TreatedHypertension = record.HasActiveCondition("hypertension", at) && record.TakesAnyOf(Antihypertensives, at),
            Cvd = record.HadCondition("ascvd", at),
            GestationalDiabetes = female && record.HadCondition("gestational-diabetes", at),
            PolycysticOvaries = female && record.HadCondition("pcos", at),
            LearningDisability = record.HadCondition("learning-disability", at),
            SchizophreniaOrBipolar = record.HadCondition("schizophrenia-bipolar", at),
            Corticosteroids = record.Takes("oral-corticosteroid", at),
            Statin = record.Takes("statin", at),
            AtypicalAntipsychotic = record.Takes("atypical-antipsychotic", at),
        };

        var outside = QDiabetesEquations.OutOfRange(p);
        if (outside.Count > 0)
        {
            return inputs.NotEstimated(this, outside);
        }

        if (hba1c is null)
        {
            inputs.Lacks.Add("no HbA1c recorded: the equation without a blood test (model A) is used");
        }
        else
        {
            inputs.UsedAs(string.Create(ci, $"HbA1c {hba1c:0.0} % read as {p.Hba1cMmolMol:0} mmol/mol (IFCC–NGSP master equation)"));
        }

        if (p.Bmi is < QDiabetesEquations.MinBmi or > QDiabetesEquations.MaxBmi)
        {
            inputs.UsedAs(string.Create(ci, $"BMI {p.Bmi:0.#} kg/m² read as {Math.Clamp(p.Bmi, QDiabetesEquations.MinBmi, QDiabetesEquations.MaxBmi):0}, the equation's rule"));
        }

        inputs.NeverSmokedUnlessRecorded(smoking);
        if (p.Smoking == QDiabetesSmoking.Moderate)
        {
            inputs.Lacks.Add("how much the patient smokes is not recorded: read as moderate (10–19 a day)");
        }

        if (!p.FamilyHistory)
        {
            inputs.Lacks.Add("no family history of diabetes coded on the record: taken as none (a parent or sibling with diabetes raises the risk)");
        }

        inputs.Lacks.Add("the Townsend deprivation score (UK) is not known: taken as 0, the average");
        if ((record.Race is { Length: > 0 } race && !string.Equals(race, "White", StringComparison.Ordinal))
            || string.Equals(record.Ethnicity, "Hispanic or Latino", StringComparison.Ordinal))
        {
            inputs.Lacks.Add("the equation's ethnicity terms are not applied (HealthRec takes no input from race or ethnicity); for every group other than White the published estimate is higher");
        }

        return inputs.Estimated(this, QDiabetesEquations.TenYearRisk(p), Reasons(QDiabetesEquations.Terms(p), q => Text(q, p)));
    }

    private static string Text(string quantity, QDiabetesInputs p)
    {
        var ci = CultureInfo.InvariantCulture;
        return quantity switch
        {
            "age" => string.Create(ci, $"age {p.Age:0}"),
            "bmi" => string.Create(ci, $"BMI {p.Bmi:0.#} kg/m²"),
            "hba1c" => string.Create(ci, $"HbA1c {p.Hba1cMmolMol:0} mmol/mol"),
            "smoking" => p.Smoking == QDiabetesSmoking.Former ? "former smoker" : "current smoker",
            "townsend" => "deprivation",
            "antipsychotic" => "on an atypical antipsychotic",
            "corticosteroids" => "on steroid tablets",
            "statin" => "on a statin",
            _ => QDiabetesEquations.FlagName(quantity) ?? quantity,
        };
    }
}

namespace HealthRec.Clinical.Risk;

/// <summary>The CKD-PC incident CKD equations (<see cref="CkdPcEquations"/>) as a reference model: the one for diabetes when the patient has it.</summary>
public sealed record CkdPcModel(string Id, string Name, string Outcome, string Citation, string Url, string Population, string Validation)
    : ReferenceModel(Id, Name, Outcome, Citation, Url, Population, Validation)
{
    /// <summary>The medication classes that count as glucose-lowering treatment other than insulin ("oral" in the equation).</summary>
    public static readonly FrozenSet<string> OtherGlucoseLowering =
        new[] { "metformin", "sglt2-inhibitor", "glp1-agonist", "sulfonylurea" }.ToFrozenSet(StringComparer.Ordinal);

    /// <inheritdoc/>
    public override IReadOnlyList<string> Inputs { get; } =
    [
        "age_years", "sex_female", "egfr", "bmi", "uacr", "hba1c", "sbp", "dbp", "smoking_status", "has_t2d", "has_hypertension", "ever_ascvd",
        "has_heart_failure", "on_antihypertensive", "on_insulin", "on_metformin", "on_sglt2_inhibitor", "on_glp1_agonist", "on_sulfonylurea",
    ];

    /// <inheritdoc/>
    /// <remarks>Applied as its model card says (<see cref="ReferenceModel.Card"/>): the race term never used, the defaults said where they apply.</remarks>
    public override ReferenceEstimate Evaluate(PatientRecord record, DateTimeOffset at)
    {
        var ci = CultureInfo.InvariantCulture;
        var inputs = new ReferenceInputs(record, at);
        var egfr = inputs.Input("egfr", "eGFR (or creatinine)", required: true);
        var bmi = inputs.Input("bmi", "BMI", required: true);
        var diagnosed = record.HasActiveCondition("t2d", at);
        var hba1c = inputs.Input("hba1c", "HbA1c", required: diagnosed);
        var acr = inputs.Input("uacr", "urine albumin/creatinine", required: false);
        var sbp = inputs.Input("sbp", "systolic pressure", required: false);
        var dbp = inputs.Input("dbp", "diastolic pressure", required: false);
        var smoking = inputs.Input("smoking_status", "smoking status", required: false);
        var diabetic = diagnosed || hba1c >= 6.5;
        if (inputs.NotGiven.Count > 0 || inputs.Age is not { } age)
        {
            return inputs.NotEstimated(this);
        }

        inputs.NeverSmokedUnlessRecorded(smoking);

        if (acr is null)
        {
            inputs.Lacks.Add(diabetic
                ? "no urine albumin/creatinine recorded: taken as 10 mg/g, the equation's rule (its small missing-ratio term, a subhazard ratio of 0.96, is not applied)"
                : "no urine albumin/creatinine recorded: taken as expected for the patient's other inputs, the equation's rule");
        }
        else if (acr < CkdPcEquations.MinAcr)
        {
            inputs.UsedAs(string.Create(ci, $"urine albumin/creatinine {acr:0.#} mg/g used as {CkdPcEquations.MinAcr:0}, the lowest the equation takes"));
            acr = CkdPcEquations.MinAcr;
        }

        if (string.Equals(record.Race, "Black or African American", StringComparison.Ordinal))
        {
            inputs.Lacks.Add("the equation's race term is not applied (HealthRec takes no input from race); the published equation's estimate is " +
                (diabetic ? "higher by a subhazard ratio of 1.10" : "higher by a subhazard ratio of 1.20"));
        }

        var treatment = record.Takes("insulin", at) ? DiabetesTreatment.Insulin : record.TakesAnyOf(OtherGlucoseLowering, at) ? DiabetesTreatment.Oral : DiabetesTreatment.None;
        var hypertension = record.HasActiveCondition("hypertension", at) || record.TakesAnyOf(Antihypertensives, at) || sbp >= 140 || dbp >= 90;
        var cvd = record.HasActiveCondition("ascvd", at) || record.HasActiveCondition("heart-failure", at);
        var p = new CkdPcInputs(inputs.Female, age, Black: false, egfr!.Value, cvd, EverSmoker: smoking >= 1, hypertension, bmi!.Value, acr,
            diabetic ? new CkdPcDiabetes(hba1c!.Value, treatment) : null);

        var outside = CkdPcEquations.OutOfRange(p);
        return outside.Count > 0
            ? inputs.NotEstimated(this, outside)
            : inputs.Estimated(this, CkdPcEquations.FiveYearRisk(p), Reasons(CkdPcEquations.Terms(p), q => Text(q, p)));
    }

    private static string Text(string quantity, CkdPcInputs p)
    {
        var ci = CultureInfo.InvariantCulture;
        return quantity switch
        {
            "age" => string.Create(ci, $"age {p.Age:0}"),
            "sex" => "female sex",
            "egfr" => string.Create(ci, $"eGFR {p.Egfr:0} mL/min/1.73 m²"),
            "cvd" => "cardiovascular disease",
            "smoking" => "has smoked",
            "hypertension" => "hypertension",
            "bmi" => string.Create(ci, $"BMI {p.Bmi:0.#} kg/m²"),
            "acr" => string.Create(ci, $"urine albumin/creatinine {p.Acr:0.#} mg/g"),
            "hba1c" => string.Create(ci, $"HbA1c {p.Diabetes?.Hba1c:0.0} %"),
            "diabetes-treatment" => p.Diabetes?.Treatment == DiabetesTreatment.Insulin ? "on insulin" : "no diabetes medication",
            _ => quantity,
        };
    }
}

namespace HealthRec.Clinical.Risk;

/// <summary>One of the PREVENT base equations (<see cref="PreventEquations"/>) as a reference model.</summary>
public sealed record PreventModel(string Id, string Name, string Outcome, string Citation, string Url, string Population, string Validation,
    PreventOutcome Equation) : ReferenceModel(Id, Name, Outcome, Citation, Url, Population, Validation)
{
    /// <inheritdoc/>
    /// <remarks>Smoking not recorded is taken as not smoking, and said; BMI is needed by the heart-failure equation only.</remarks>
    public override ReferenceEstimate Evaluate(PatientRecord record, DateTimeOffset at)
    {
        var inputs = new ReferenceInputs(record, at);
        var tc = inputs.Input("total_cholesterol", "total cholesterol", required: true);
        var hdl = inputs.Input("hdl", "HDL cholesterol", required: true);
        var sbp = inputs.Input("sbp", "systolic pressure", required: true);
        var egfr = inputs.Input("egfr", "eGFR (or creatinine)", required: true);
        var bmi = inputs.Input("bmi", "BMI", required: Equation == PreventOutcome.HeartFailure);
        var hba1c = inputs.Input("hba1c", "HbA1c", required: false);
        var smoking = inputs.Input("smoking_status", "smoking status", required: false);
        if (smoking is null)
        {
            inputs.Lacks.Add("smoking status not recorded: taken as not smoking (if the patient smokes, the risk is higher)");
        }

        var diabetic = record.HasActiveCondition("t2d", at) || hba1c >= 6.5;
        if (inputs.NotGiven.Count > 0 || inputs.Age is not { } age)
        {
            return inputs.NotEstimated(this);
        }

        var p = new PreventInputs(inputs.Female, age, tc!.Value, hdl!.Value, sbp!.Value, bmi ?? 25, egfr!.Value, record.TakesAnyOf(Antihypertensives, at),
            record.Takes("statin", at), smoking >= 2, diabetic);
        var outside = PreventEquations.OutOfRange(p, Equation);
        return outside.Count > 0
            ? inputs.NotEstimated(this, outside)
            : inputs.Estimated(this, PreventEquations.TenYearRisk(Equation, p), Reasons(PreventEquations.Terms(Equation, p), q => Text(q, p)));
    }

    /// <inheritdoc/>
    public override IReadOnlyList<string> Inputs { get; } =
        ["age_years", "sex_female", "bmi", "egfr", "hba1c", "hdl", "sbp", "smoking_status", "total_cholesterol", "has_t2d", "on_antihypertensive", "on_statin"];

    private static string Text(string quantity, PreventInputs p)
    {
        var ci = CultureInfo.InvariantCulture;
        return quantity switch
        {
            "age" => string.Create(ci, $"age {p.Age:0}"),
            "non-hdl" => string.Create(ci, $"non-HDL cholesterol {p.TotalCholesterol - p.Hdl:0} mg/dL"),
            "hdl" => string.Create(ci, $"HDL cholesterol {p.Hdl:0} mg/dL"),
            "sbp" => string.Create(ci, $"systolic pressure {p.Sbp:0} mmHg"),
            "diabetes" => "diabetes",
            "smoking" => "current smoking",
            "bmi" => string.Create(ci, $"BMI {p.Bmi:0.#} kg/m²"),
            "egfr" => string.Create(ci, $"eGFR {p.Egfr:0} mL/min/1.73 m²"),
            "bp-treated" => "on blood-pressure treatment",
            "statin" => "on a statin",
            _ => quantity,
        };
    }
}

using System.Globalization;

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

    /// <inheritdoc/>
    public override ReferenceCardText Card { get; } = new(
        Form: "Published logistic regression equations, sex-specific",
        Checked: "Coefficients from the paper's supplement, checked against published input → output pairs (the R packages preventr and CVrisk) to three decimals.",
        Application:
        [
            "Ages 30–79, total cholesterol 130–320 mg/dL, HDL 20–100 mg/dL, systolic pressure 90–180 mmHg, eGFR 15–140 mL/min/1.73 m² (BMI 18.5–39.9 kg/m² for the equations that read it): outside them no number is given, and the card says why — never an extrapolation.",
            "Inputs are the last result within twice its window (lipids 5 years; pressure, eGFR and BMI 2 years); one older than its window is used and named on the card; none means no number. eGFR may be computed from creatinine (CKD-EPI 2021).",
            "Smoking not recorded is taken as not smoking, and the card says so. Diabetes: an active type 2 diabetes diagnosis or an HbA1c ≥ 6.5 %. Treatment: an active antihypertensive or statin.",
            "Its reasons are its own terms, grouped by risk factor, against the equation's reference person (55 years, non-HDL 135 mg/dL, HDL 50 mg/dL, systolic 110–130 mmHg, eGFR 60–90).",
        ],
        Limitations:
        [
            "Developed in US cohorts; not yet validated on this organisation's patients — the promotion gate's figures on them are in the challenger's card.",
            "The base model: urine albumin, HbA1c and social deprivation, which PREVENT's extended models use, are not read.",
        ]);

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

using System.Globalization;

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
    public override ReferenceCardText Card { get; } = new(
        Form: "Published Fine–Gray competing-risk regression with a Weibull baseline: one equation without diabetes, one with",
        Checked: "Every coefficient agrees with the paper's Table 2 (its subhazard ratios, to two decimals); the constants, Weibull shapes and the albuminuria patch are from its supplement, taken where three independent implementations agree; checked against twelve input → output pairs of one of them to three decimals.",
        Application:
        [
            "Ages 20–80, BMI 20–40 kg/m², urine albumin/creatinine up to 1,000 mg/g and, with diabetes, HbA1c 6–11 %; an eGFR below 60 gives no number (the event it predicts has happened). Outside them the card says why — never an extrapolation.",
            "eGFR and BMI are needed, and with a type 2 diabetes diagnosis an HbA1c (the last result within twice its 2-year window; one older than its window is named on the card). Diabetes — a diagnosis or an HbA1c ≥ 6.5 % — picks the diabetes equation; its treatment is insulin, other glucose-lowering medication, or none.",
            "Hypertension: a diagnosis, an antihypertensive, or 140/90 mmHg or more. Cardiovascular disease: an atherosclerotic disease or heart failure on record.",
            "Said on the card where they apply: smoking not recorded is taken as never; an albumin/creatinine below 5 mg/g is used as 5; a missing one follows the equation's rule (without diabetes the value expected for the other inputs, with diabetes 10 mg/g).",
            "The race term is never applied (HealthRec takes no input from race); for a record stating Black race the card says the published estimate is higher (subhazard ratio 1.20 without diabetes, 1.10 with).",
            "Its reasons are its own terms, grouped by risk factor, against the equation's reference person (a 55-year-old man, eGFR 75, BMI 27, none of the conditions, albumin/creatinine as expected or 10 mg/g, HbA1c 7 % on oral medication).",
        ],
        Limitations:
        [
            "Its outcome counts every eGFR below 60 (all events); this outcome counts a diagnosis or two results 90 days apart, so the equation runs high against it.",
            "Developed with CKD-EPI 2009 eGFR; HealthRec reads eGFR as reported or computes it by CKD-EPI 2021. With diabetes and no albumin/creatinine, the equation's small missing-ratio term (subhazard ratio 0.96) is not applied.",
            "Not yet validated on this organisation's patients — the promotion gate's figures on them are in the challenger's card.",
        ]);

    /// <inheritdoc/>
    /// <remarks>
    /// Applied as published but for three rules, each said where it applies: the race term is never used (HealthRec takes
    /// no input from race: a record stating Black race is told that the published equation's estimate is higher); smoking
    /// not recorded is taken as never; an albumin/creatinine ratio below the equation's lowest (5 mg/g) is used as 5.
    /// A missing ratio follows the equation's own rule (without diabetes, the ratio expected for the other inputs; with
    /// diabetes, 10 mg/g, without the missing-ratio term, whose exact coefficient is unpublished here). Diabetes is an
    /// active type 2 diagnosis or an HbA1c of 6.5 % or more; hypertension a recorded diagnosis, 140/90 mmHg or more,
    /// or blood-pressure treatment; cardiovascular disease an atherosclerotic disease or heart failure on record.
    /// </remarks>
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

        if (smoking is null)
        {
            inputs.Lacks.Add("smoking status not recorded: taken as never smoked (if the patient has smoked, the risk is higher)");
        }

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

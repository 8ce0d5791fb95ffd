namespace HealthRec.Clinical.Risk;

/// <summary>The outcomes of the PREVENT base model over 10 years.</summary>
public enum PreventOutcome
{
    /// <summary>Total cardiovascular disease: ASCVD or heart failure.</summary>
    TotalCvd,

    /// <summary>Atherosclerotic cardiovascular disease: myocardial infarction, coronary death, stroke.</summary>
    Ascvd,

    /// <summary>Heart failure.</summary>
    HeartFailure,
}

/// <summary>
/// What the PREVENT base model reads: sex, age (years), total and HDL cholesterol (mg/dL), systolic pressure (mmHg), BMI
/// (kg/m²), eGFR (mL/min/1.73 m², CKD-EPI 2021), and whether the patient takes antihypertensives or a statin, smokes,
/// has diabetes.
/// </summary>
public sealed record PreventInputs(bool Female, double Age, double TotalCholesterol, double Hdl, double Sbp, double Bmi, double Egfr,
    bool OnAntihypertensive, bool OnStatin, bool Smoker, bool Diabetic);

/// <summary>
/// The American Heart Association PREVENT equations, base model, 10-year risk (Khan SS, Matsushita K, Sang Y, et al.
/// Development and Validation of the American Heart Association's PREVENT Equations. Circulation 2024;149:430–449;
/// coefficients from its Supplemental Table S12A). Sex-specific and race-free, for adults of 30–79 without
/// cardiovascular disease. Logistic: risk = 1 / (1 + e^−x), x the sum of each coefficient times its term, with cholesterol
/// converted to mmol/L (× 0.02586) and the predictors centred and piecewise-linear as the paper defines them.
/// </summary>
/// <remarks>
/// The valid ranges (<see cref="OutOfRange(PreventInputs, PreventOutcome)"/>) are those of the AHA's calculator, as the preventr (R, 0.12.0) and CVrisk
/// (R) packages enforce them. Tests reproduce published input → output pairs (preventr's test suite) to three decimals.
/// </remarks>
public static class PreventEquations
{
    /// <summary>The 10-year risk (a proportion) of <paramref name="outcome"/>, as the equation gives it for these inputs.</summary>
    public static double TenYearRisk(PreventOutcome outcome, PreventInputs inputs) => 1 / (1 + Math.Exp(-LinearPredictor(outcome, inputs, null)));

    /// <summary>
    /// The linear predictor's terms for this patient (the constant last): the equation's own reasons for its number. Terms
    /// whose value is zero for this patient (an interaction with a treatment not taken, say) are left out.
    /// </summary>
    public static IReadOnlyList<EquationTerm> Terms(PreventOutcome outcome, PreventInputs p)
    {
        var terms = new List<EquationTerm>(24);
        LinearPredictor(outcome, p, terms);
        return terms;
    }

    // The linear predictor: the sum of every term, each also added to terms when given (the generator calls this
    // without, many times a patient, so that nothing is allocated).
    private static double LinearPredictor(PreventOutcome outcome, PreventInputs p, List<EquationTerm>? terms)
    {
        var c = Coefficients(outcome, p.Female);
        var age = (p.Age - 55) / 10;
        var nonHdl = ((p.TotalCholesterol - p.Hdl) * MgDlToMmolL) - 3.5;
        var hdl = ((p.Hdl * MgDlToMmolL) - 1.3) / 0.3;
        var sbpLow = (Math.Min(p.Sbp, 110) - 110) / 20;
        var sbpHigh = (Math.Max(p.Sbp, 110) - 130) / 20;
        var bmiLow = (Math.Min(p.Bmi, 30) - 25) / 5;
        var bmiHigh = (Math.Max(p.Bmi, 30) - 30) / 5;
        var egfrLow = (Math.Min(p.Egfr, 60) - 60) / -15;
        var egfrHigh = (Math.Max(p.Egfr, 60) - 90) / -15;
        double bp = p.OnAntihypertensive ? 1 : 0, statin = p.OnStatin ? 1 : 0, smoker = p.Smoker ? 1 : 0, diabetes = p.Diabetic ? 1 : 0;

        var sum = new LinearPredictorSum(terms);
        sum.Add("age, per 10 years from 55", c.Age, age, "age");
        sum.Add("non-HDL cholesterol, mmol/L from 3.5", c.NonHdl, nonHdl, "non-hdl");
        sum.Add("HDL cholesterol, per 0.3 mmol/L from 1.3", c.Hdl, hdl, "hdl");
        sum.Add("systolic pressure below 110, per 20 mmHg", c.SbpLow, sbpLow, "sbp");
        sum.Add("systolic pressure above 130, per 20 mmHg", c.SbpHigh, sbpHigh, "sbp");
        sum.Add("diabetes", c.Diabetes, diabetes, "diabetes");
        sum.Add("current smoking", c.Smoker, smoker, "smoking");
        sum.Add("BMI below 30, per 5 kg/m² from 25", c.BmiLow, bmiLow, "bmi");
        sum.Add("BMI above 30, per 5 kg/m²", c.BmiHigh, bmiHigh, "bmi");
        sum.Add("eGFR below 60, per 15 lower", c.EgfrLow, egfrLow, "egfr");
        sum.Add("eGFR above 60, per 15 lower than 90", c.EgfrHigh, egfrHigh, "egfr");
        sum.Add("antihypertensive treatment", c.BpTreated, bp, "bp-treated");
        sum.Add("statin", c.Statin, statin, "statin");
        sum.Add("antihypertensive treatment × systolic pressure above 130", c.BpTreatedBySbpHigh, bp * sbpHigh, "sbp");
        sum.Add("statin × non-HDL cholesterol", c.StatinByNonHdl, statin * nonHdl, "non-hdl");
        sum.Add("age × non-HDL cholesterol", c.AgeByNonHdl, age * nonHdl, "non-hdl");
        sum.Add("age × HDL cholesterol", c.AgeByHdl, age * hdl, "hdl");
        sum.Add("age × systolic pressure above 130", c.AgeBySbpHigh, age * sbpHigh, "sbp");
        sum.Add("age × diabetes", c.AgeByDiabetes, age * diabetes, "diabetes");
        sum.Add("age × current smoking", c.AgeBySmoker, age * smoker, "smoking");
        sum.Add("age × BMI above 30", c.AgeByBmiHigh, age * bmiHigh, "bmi");
        sum.Add("age × eGFR below 60", c.AgeByEgfrLow, age * egfrLow, "egfr");
        sum.Add("constant", c.Constant, 1, "constant");
        return sum.Total;
    }

    /// <summary>
    /// Why these inputs are outside the population and ranges the equations were developed and validated for (empty when
    /// they are inside): age 30–79, total cholesterol 130–320 mg/dL, HDL 20–100 mg/dL, systolic pressure 90–180 mmHg,
    /// BMI 18.5–39.9 kg/m², eGFR 15–140 mL/min/1.73 m². Outside them the equations extrapolate and give no number here.
    /// </summary>
    public static IReadOnlyList<string> OutOfRange(PreventInputs p) => OutOfRange(p, PreventOutcome.HeartFailure);

    /// <summary>As <see cref="OutOfRange(PreventInputs)"/>, checking BMI only for the equations that read it (heart failure, total CVD).</summary>
    public static IReadOnlyList<string> OutOfRange(PreventInputs p, PreventOutcome outcome)
    {
        var problems = new List<string>();
        void Check(string what, double value, double min, double max, string unit)
        {
            if (double.IsNaN(value) || value < min || value > max)
            {
                problems.Add(FormattableString.Invariant($"{what} {value:0.#} {unit} is outside {min:0.#}–{max:0.#} {unit}"));
            }
        }

        Check("age", p.Age, MinAge, MaxAge, "years");
        Check("total cholesterol", p.TotalCholesterol, 130, 320, "mg/dL");
        Check("HDL cholesterol", p.Hdl, 20, 100, "mg/dL");
        Check("systolic pressure", p.Sbp, 90, 180, "mmHg");
        if (outcome != PreventOutcome.Ascvd)
        {
            Check("BMI", p.Bmi, 18.5, 39.9, "kg/m²");
        }

        Check("eGFR", p.Egfr, 15, 140, "mL/min/1.73 m²");
        return problems;
    }

    /// <summary>The ages the equations were developed for.</summary>
    public const double MinAge = 30, MaxAge = 79;

    // Cholesterol, mg/dL → mmol/L, as the paper converts it.
    private const double MgDlToMmolL = 0.02586;

    // Each outcome's equations for women and men, from the paper's Supplemental Table S12A (Coefficients/prevent-2024.json).
    private static readonly FrozenDictionary<(PreventOutcome Outcome, bool Female), PreventCoefficients> Table = LoadTable();

    private static PreventCoefficients Coefficients(PreventOutcome outcome, bool female) =>
        Table.TryGetValue((outcome, female), out var c) ? c : throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not a PREVENT outcome");

    private static FrozenDictionary<(PreventOutcome, bool), PreventCoefficients> LoadTable()
    {
        var equations = EquationCoefficients.Load<Dictionary<string, PreventCoefficients>>("prevent-2024.json");
        return Enum.GetValues<PreventOutcome>()
            .SelectMany(o => equations[System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(o.ToString())]
                .Select(sex => KeyValuePair.Create((o, sex.Key switch
                {
                    "female" => true,
                    "male" => false,
                    _ => throw new InvalidOperationException($"prevent-2024.json: '{sex.Key}' is neither female nor male"),
                }), sex.Value)))
            .ToFrozenDictionary();
    }

    // One equation's coefficients (a term an equation does not have is zero).
    private sealed record PreventCoefficients(double Age = 0, double NonHdl = 0, double Hdl = 0, double SbpLow = 0, double SbpHigh = 0, double Diabetes = 0,
        double Smoker = 0, double BmiLow = 0, double BmiHigh = 0, double EgfrLow = 0, double EgfrHigh = 0, double BpTreated = 0, double Statin = 0,
        double BpTreatedBySbpHigh = 0, double StatinByNonHdl = 0, double AgeByNonHdl = 0, double AgeByHdl = 0, double AgeBySbpHigh = 0,
        double AgeByDiabetes = 0, double AgeBySmoker = 0, double AgeByBmiHigh = 0, double AgeByEgfrLow = 0, double Constant = 0);
}

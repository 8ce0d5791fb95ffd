namespace HealthRec.Clinical.Risk;

/// <summary>How a patient with diabetes is treated, as the CKD-PC diabetes equation distinguishes it (oral medication is its reference).</summary>
public enum DiabetesTreatment
{
    /// <summary>Glucose-lowering medication other than insulin.</summary>
    Oral,

    Insulin,

    /// <summary>No glucose-lowering medication.</summary>
    None,
}

/// <summary>The diabetes equation's own inputs: HbA1c (%, NGSP) and treatment.</summary>
public sealed record CkdPcDiabetes(double Hba1c, DiabetesTreatment Treatment);

/// <summary>
/// What the CKD-PC incident CKD equations read: sex, age (years), Black race (a term of the published equations), eGFR
/// (mL/min/1.73 m²), a history of cardiovascular disease, ever smoking, hypertension (140/90 mmHg or more, or treated),
/// BMI (kg/m²), the urine albumin/creatinine ratio (mg/g; null when not measured) and, with diabetes, its own inputs.
/// </summary>
public sealed record CkdPcInputs(bool Female, double Age, bool Black, double Egfr, bool Cvd, bool EverSmoker, bool Hypertension, double Bmi,
    double? Acr, CkdPcDiabetes? Diabetes = null);

/// <summary>
/// The CKD Prognosis Consortium equations for the 5-year risk of incident eGFR below 60 mL/min/1.73 m², all events
/// (Nelson RG, Grams ME, Ballew SH, et al. Development of Risk Prediction Equations for Incident Chronic Kidney Disease.
/// JAMA 2019;322:2104–2114): one equation without diabetes, one with. Fine–Gray with a Weibull baseline:
/// risk = 1 − exp(−5^γ · e^x), x the constant plus each coefficient times its term, age and BMI per 5 units centred at
/// 55 years and 27 kg/m², eGFR per 5 mL/min below 75 (up to 90) and per 5 above 90, ACR as log10.
/// </summary>
/// <remarks>
/// The coefficients agree with the paper's Table 2 (every subhazard ratio to its two decimals); the constants, the
/// Weibull shapes and the non-diabetes equation's albuminuria patch (ACR is compared with the log10 ACR expected for
/// the patient's other inputs, so that a missing ACR adds nothing) are from the paper's supplement, which is not
/// reachable here: they are taken where three independent implementations agree to every published digit (EHRBiomarkr
/// for the diabetes equation, a Python and an R implementation for both). Tests reproduce input → output pairs of an
/// independent implementation, its published example among them, to three decimals.
/// </remarks>
public static class CkdPcEquations
{
    /// <summary>The input ranges the equations are applied in (those of the CKD-PC calculator, as EHRBiomarkr documents them).</summary>
    public const double MinAge = 20, MaxAge = 80, MinBmi = 20, MaxBmi = 40, MinAcr = 5, MaxAcr = 1000, MinHba1c = 6, MaxHba1c = 11;

    /// <summary>The eGFR at and above which the equations predict a first eGFR below 60 (mL/min/1.73 m²).</summary>
    public const double MinEgfr = 60;

    /// <summary>The 5-year risk (a proportion) the equation for these inputs gives.</summary>
    public static double FiveYearRisk(CkdPcInputs inputs)
    {
        var c = inputs.Diabetes is null ? WithoutDiabetes : WithDiabetes;
        return 1 - Math.Exp(-Math.Pow(5, c.Shape) * Math.Exp(LinearPredictor(inputs, c, null)));
    }

    /// <summary>The linear predictor's terms for this patient (the constant last), leaving out those worth zero for them.</summary>
    public static IReadOnlyList<EquationTerm> Terms(CkdPcInputs inputs)
    {
        var terms = new List<EquationTerm>(16);
        LinearPredictor(inputs, inputs.Diabetes is null ? WithoutDiabetes : WithDiabetes, terms);
        return terms;
    }

    /// <summary>
    /// Why these inputs are outside what the equations were developed for (empty when inside): age 20–80, eGFR 60 or
    /// more (below it the event has happened), BMI 20–40, ACR up to 1,000 mg/g and, with diabetes, HbA1c 6–11 %.
    /// </summary>
    public static IReadOnlyList<string> OutOfRange(CkdPcInputs p)
    {
        var problems = new List<string>();
        void Check(string what, double value, double min, double max, string unit)
        {
            if (double.IsNaN(value) || value < min || value > max)
            {
                problems.Add(double.IsPositiveInfinity(max)
                    ? FormattableString.Invariant($"{what} {value:0.#} {unit} is below {min:0.#} {unit}")
                    : FormattableString.Invariant($"{what} {value:0.#} {unit} is outside {min:0.#}–{max:0.#} {unit}"));
            }
        }

        Check("age", p.Age, MinAge, MaxAge, "years");
        Check("eGFR", p.Egfr, MinEgfr, double.PositiveInfinity, "mL/min/1.73 m²");
        Check("BMI", p.Bmi, MinBmi, MaxBmi, "kg/m²");
        if (p.Acr is { } acr)
        {
            Check("urine albumin/creatinine", acr, 0, MaxAcr, "mg/g");
        }

        if (p.Diabetes is { } diabetes)
        {
            Check("HbA1c", diabetes.Hba1c, MinHba1c, MaxHba1c, "%");
        }

        return problems;
    }

    // The linear predictor: the sum of every term, each also added to terms when given.
    private static double LinearPredictor(CkdPcInputs p, CkdPcCoefficients c, List<EquationTerm>? terms)
    {
        var age = (p.Age / 5) - 11;
        var egfrLow = 15 - (Math.Min(p.Egfr, 90) / 5);
        var egfrHigh = Math.Max(0, p.Egfr - 90) / 5;
        var bmi = (p.Bmi / 5) - 5.4;
        double female = p.Female ? 1 : 0, black = p.Black ? 1 : 0, cvd = p.Cvd ? 1 : 0, smoker = p.EverSmoker ? 1 : 0, hypertension = p.Hypertension ? 1 : 0;
        var acr = p.Acr is not { } measured || measured <= 0 ? 0
            : p.Diabetes is null ? Math.Log10(measured) - ExpectedLog10Acr(age, female, black, egfrLow, egfrHigh, cvd, smoker, hypertension, bmi)
            : Math.Log10(measured) - 1;
        var hba1c = p.Diabetes is { } d ? d.Hba1c - 7 : 0;
        double insulin = p.Diabetes?.Treatment == DiabetesTreatment.Insulin ? 1 : 0, untreated = p.Diabetes?.Treatment == DiabetesTreatment.None ? 1 : 0;

        var sum = new LinearPredictorSum(terms);
        sum.Add("age, per 5 years from 55", c.Age, age, "age");
        sum.Add("female sex", c.Female, female, "sex");
        sum.Add("Black race", c.Black, black, "race");
        sum.Add("eGFR up to 90, per 5 mL/min below 75", c.EgfrLow, egfrLow, "egfr");
        sum.Add("eGFR above 90, per 5 mL/min", c.EgfrHigh, egfrHigh, "egfr");
        sum.Add("history of cardiovascular disease", c.Cvd, cvd, "cvd");
        sum.Add("ever smoked", c.EverSmoker, smoker, "smoking");
        sum.Add("hypertension", c.Hypertension, hypertension, "hypertension");
        sum.Add("BMI, per 5 kg/m² from 27", c.Bmi, bmi, "bmi");
        sum.Add(p.Diabetes is null ? "log10 albumin/creatinine above the expected" : "log10 albumin/creatinine from 10 mg/g", c.Acr, acr, "acr");
        sum.Add("HbA1c, per 1 % from 7", c.Hba1c, hba1c, "hba1c");
        sum.Add("insulin (against oral medication)", c.Insulin, insulin, "diabetes-treatment");
        sum.Add("no diabetes medication (against oral)", c.Untreated, untreated, "diabetes-treatment");
        sum.Add("HbA1c × insulin", c.Hba1cByInsulin, hba1c * insulin, "hba1c");
        sum.Add("HbA1c × no diabetes medication", c.Hba1cByUntreated, hba1c * untreated, "hba1c");
        sum.Add("constant", c.Constant, 1, "constant");
        return sum.Total;
    }

    // The non-diabetes equation's albuminuria patch: the log10 ACR expected for the patient's other inputs.
    private static double ExpectedLog10Acr(double age, double female, double black, double egfrLow, double egfrHigh, double cvd, double smoker,
        double hypertension, double bmi) =>
        0.6754442 + (0.0222581 * age) + (0.045902 * female) - (0.0340495 * black) + (0.0085871 * egfrLow) - (0.0275825 * egfrHigh)
        + (0.0495695 * cvd) + (0.0381086 * smoker) + (0.1286836 * hypertension) + (0.0218783 * bmi);

    // The two equations' coefficients, constants and Weibull shapes (Coefficients/ckdpc-2019.json).
    private static readonly IReadOnlyDictionary<string, CkdPcCoefficients> Equations = EquationCoefficients.Load<CkdPcCoefficients>("ckdpc-2019.json");
    private static readonly CkdPcCoefficients WithoutDiabetes = Equations["withoutDiabetes"];
    private static readonly CkdPcCoefficients WithDiabetes = Equations["withDiabetes"];

    // One equation's coefficients and Weibull shape (a term an equation does not have is zero).
    private sealed record CkdPcCoefficients(double Constant, double Shape, double Age, double Female, double Black, double EgfrLow, double EgfrHigh,
        double Cvd, double EverSmoker, double Hypertension, double Bmi, double Acr, double Hba1c = 0, double Insulin = 0, double Untreated = 0,
        double Hba1cByInsulin = 0, double Hba1cByUntreated = 0);
}

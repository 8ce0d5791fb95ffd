namespace HealthRec.Clinical.Risk;

/// <summary>Smoking as QDiabetes records it: light is under 10 a day, moderate 10–19, heavy 20 or more.</summary>
public enum QDiabetesSmoking
{
    Never,
    Former,
    Light,
    Moderate,
    Heavy,
}

/// <summary>The ethnic groups QDiabetes distinguishes (UK census categories); white or not stated is its reference.</summary>
public enum QDiabetesEthnicity
{
    WhiteOrNotStated,
    Indian,
    Pakistani,
    Bangladeshi,
    OtherAsian,
    BlackCaribbean,
    BlackAfrican,
    Chinese,
    Other,
}

/// <summary>
/// What QDiabetes-2018 reads: sex, age (years), BMI (kg/m²), HbA1c (mmol/mol, IFCC; model C — without it, model A, the
/// equation without a blood test), ethnicity, smoking, the Townsend deprivation score of the patient's area (UK; 0 is
/// the national average), and ten yes/no histories and treatments: diabetes in a parent, brother or sister; hypertension
/// with blood-pressure treatment; heart attack, angina, stroke or transient ischaemic attack; gestational diabetes and
/// polycystic ovaries (women only); learning disability; schizophrenia or bipolar affective disorder ("manic
/// depression"); regular corticosteroid tablets; a statin; an atypical antipsychotic.
/// </summary>
public sealed record QDiabetesInputs(bool Female, double Age, double Bmi, double? Hba1cMmolMol,
    QDiabetesEthnicity Ethnicity = QDiabetesEthnicity.WhiteOrNotStated, QDiabetesSmoking Smoking = QDiabetesSmoking.Never, double Townsend = 0,
    bool FamilyHistory = false, bool TreatedHypertension = false, bool Cvd = false, bool GestationalDiabetes = false, bool PolycysticOvaries = false,
    bool LearningDisability = false, bool SchizophreniaOrBipolar = false, bool Corticosteroids = false, bool Statin = false, bool AtypicalAntipsychotic = false);

/// <summary>
/// QDiabetes-2018 models C and A, the 10-year risk of type 2 diabetes from routine primary-care data, with HbA1c (C) or
/// without a blood test (A) (Hippisley-Cox J,
/// Coupland C. Development and validation of QDiabetes-2018 risk prediction algorithm to estimate future risk of type 2
/// diabetes: cohort study. BMJ 2017;359:j5019). Sex-specific Cox models: risk = 1 − S₀^exp(x), x the sum of fractional
/// polynomials of age, BMI and HbA1c centred at the derivation cohort's means, Townsend centred likewise, the ethnicity and
/// smoking categories, the yes/no terms, and their interactions with age.
/// </summary>
/// <remarks>
/// The coefficients, centring values and baseline survivals are those ClinRisk published as open source with the
/// algorithm; they are taken where two independent transcriptions agree to every digit (the QDiabetes R package of
/// Feakster and the Python one of autoprognosis). Tests reproduce the R package's sixteen published input → output
/// pairs (eight of each model) and pairs computed with the Python one that set every other term, to three decimals.
/// The equations are valid for ages 25–84 and HbA1c 15–47 mmol/mol (48 and over is diabetes); BMI below 20 counts as 20
/// and above 40 as 40 — their own rule.
/// </remarks>
public static class QDiabetesEquations
{
    /// <summary>The range the equation is applied in: age 25 to under 85, HbA1c 15 to under 48 mmol/mol, Townsend −8 to 14.</summary>
    public const double MinAge = 25, MaxAge = 85, MinHba1c = 15, MaxHba1c = 48, MinTownsend = -8, MaxTownsend = 14;

    /// <summary>The BMI range the equation reads: a value outside it is read as the nearer end (kg/m²).</summary>
    public const double MinBmi = 20, MaxBmi = 40;

    /// <summary>
    /// The 10-year risk (a proportion) for these inputs. A BMI outside 20–40 is read as the nearer end; the other ranges
    /// (<see cref="OutOfRange"/>) are the caller's to check.
    /// </summary>
    public static double TenYearRisk(QDiabetesInputs inputs)
    {
        var c = Coefficients(inputs);
        return 1 - Math.Pow(c.BaselineSurvival, Math.Exp(LinearPredictor(inputs, c, null)));
    }

    /// <summary>The linear predictor's terms for this patient, leaving out those worth zero for them.</summary>
    public static IReadOnlyList<EquationTerm> Terms(QDiabetesInputs inputs)
    {
        var terms = new List<EquationTerm>(24);
        LinearPredictor(inputs, Coefficients(inputs), terms);
        return terms;
    }

    // Model C with an HbA1c, model A without; each sex its own.
    private static QDiabetesCoefficients Coefficients(QDiabetesInputs p) => (p.Female, p.Hba1cMmolMol is null) switch
    {
        (true, false) => WomenC,
        (true, true) => WomenA,
        (false, false) => MenC,
        (false, true) => MenA,
    };

    /// <summary>Why these inputs are outside what the equation was developed for (empty when inside).</summary>
    public static IReadOnlyList<string> OutOfRange(QDiabetesInputs p)
    {
        var problems = new List<string>();
        if (double.IsNaN(p.Age) || p.Age is < MinAge or >= MaxAge)
        {
            problems.Add(FormattableString.Invariant($"age {p.Age:0} years is outside {MinAge:0}–{MaxAge - 1:0} years"));
        }

        if (p.Hba1cMmolMol is { } hba1c && (double.IsNaN(hba1c) || hba1c is < MinHba1c or >= MaxHba1c))
        {
            problems.Add(FormattableString.Invariant($"HbA1c {p.Hba1cMmolMol:0} mmol/mol is outside {MinHba1c:0}–{MaxHba1c - 1:0} mmol/mol"));
        }

        if (double.IsNaN(p.Townsend) || p.Townsend is < MinTownsend or > MaxTownsend)
        {
            problems.Add(FormattableString.Invariant($"Townsend score {p.Townsend:0.#} is outside {MinTownsend:0}–{MaxTownsend:0}"));
        }

        if (!p.Female && (p.GestationalDiabetes || p.PolycysticOvaries))
        {
            problems.Add("gestational diabetes and polycystic ovaries are terms of the women's equation only");
        }

        return problems;
    }

    /// <summary>A yes/no term's name by the quantity it is listed under ("pcos" → "polycystic ovaries"), or null for another quantity.</summary>
    public static string? FlagName(string quantity) => Array.Find(Flags, f => f.Quantity == quantity).Name;

    // The yes/no terms: the quantity they are listed under (their key in the coefficient file), their name, and whether
    // the patient has it.
    private static readonly (string Quantity, string Name, Func<QDiabetesInputs, bool> Present)[] Flags =
    [
        ("antipsychotic", "atypical antipsychotic", p => p.AtypicalAntipsychotic),
        ("corticosteroids", "corticosteroid tablets", p => p.Corticosteroids),
        ("cvd", "cardiovascular disease", p => p.Cvd),
        ("gestational-diabetes", "gestational diabetes", p => p.GestationalDiabetes),
        ("learning-disability", "learning disability", p => p.LearningDisability),
        ("schizophrenia-bipolar", "schizophrenia or bipolar disorder", p => p.SchizophreniaOrBipolar),
        ("pcos", "polycystic ovaries", p => p.PolycysticOvaries),
        ("statin", "statin", p => p.Statin),
        ("hypertension", "treated hypertension", p => p.TreatedHypertension),
        ("family-history", "family history of diabetes", p => p.FamilyHistory),
    ];

    // The linear predictor: the sum of every term, each also added to terms when given. Age, BMI and HbA1c enter as
    // two fractional-polynomial powers of the value over 10, each centred (age: √ for women, log for men; BMI: itself
    // for women, squared for men; then each cubed); the yes/no terms with two age interactions.
    private static double LinearPredictor(QDiabetesInputs p, QDiabetesCoefficients c, List<EquationTerm>? terms)
    {
        var age = p.Age / 10;
        var bmi = Math.Clamp(p.Bmi, MinBmi, MaxBmi) / 10;
        var hba1c = (p.Hba1cMmolMol ?? 0) / 10;
        var (age1, age2) = ((p.Female ? Math.Sqrt(age) : Math.Log(age)) - c.Means.Age[0], (age * age * age) - c.Means.Age[1]);
        var (bmi1, bmi2) = ((p.Female ? bmi : bmi * bmi) - c.Means.Bmi[0], (bmi * bmi * bmi) - c.Means.Bmi[1]);
        var (hba1c1, hba1c2) = (Math.Sqrt(hba1c) - c.Means.Hba1c[0], hba1c - c.Means.Hba1c[1]);

        var sum = new LinearPredictorSum(terms);
        sum.Add("ethnicity", p.Ethnicity == QDiabetesEthnicity.WhiteOrNotStated ? 0 : c.Ethnicity[(int)p.Ethnicity - 1], 1, "ethnicity");
        sum.Add("smoking", p.Smoking == QDiabetesSmoking.Never ? 0 : c.Smoking[(int)p.Smoking - 1], 1, "smoking");
        sum.Add("Townsend deprivation score", c.Townsend, p.Townsend - c.Means.Townsend, "townsend");
        Powers(ref sum, "age", "age", c.Age, (age1, age2), null, (age1, age2));
        Powers(ref sum, "bmi", "BMI", c.Bmi, (bmi1, bmi2), c.AgeByBmi, (age1, age2));
        Powers(ref sum, "hba1c", "HbA1c", c.Hba1c, (hba1c1, hba1c2), c.AgeByHba1c, (age1, age2));
        foreach (var (quantity, name, present) in Flags)
        {
            var beta = c.Flags[quantity];
            var x = present(p) ? 1 : 0;
            sum.Add(name, beta[0], x, quantity);
            sum.Add($"age × {name} (first power)", beta[1], x * age1, quantity);
            sum.Add($"age × {name} (second power)", beta[2], x * age2, quantity);
        }

        return sum.Total;
    }

    // A continuous input's two powers and, when the equation has them, their four interactions with age's two powers
    // (byAge: age1 × first, age1 × second, age2 × first, age2 × second), all listed under its quantity.
    private static void Powers(ref LinearPredictorSum sum, string quantity, string name, double[] beta, (double First, double Second) x, double[]? byAge,
        (double First, double Second) age)
    {
        sum.Add($"{name} (first power)", beta[0], x.First, quantity);
        sum.Add($"{name} (second power)", beta[1], x.Second, quantity);
        if (byAge is not null)
        {
            sum.Add($"age × {name} (first powers)", byAge[0], age.First * x.First, quantity);
            sum.Add($"age × {name} (first, second)", byAge[1], age.First * x.Second, quantity);
            sum.Add($"age × {name} (second, first)", byAge[2], age.Second * x.First, quantity);
            sum.Add($"age × {name} (second powers)", byAge[3], age.Second * x.Second, quantity);
        }
    }

    // Each sex's models C and A (Coefficients/qdiabetes-2018.json).
    private static readonly IReadOnlyDictionary<string, QDiabetesCoefficients> Equations = EquationCoefficients.Load<QDiabetesCoefficients>("qdiabetes-2018.json");
    private static readonly QDiabetesCoefficients WomenC = Equations["womenC"];
    private static readonly QDiabetesCoefficients MenC = Equations["menC"];
    private static readonly QDiabetesCoefficients WomenA = Equations["womenA"];
    private static readonly QDiabetesCoefficients MenA = Equations["menA"];

    // One sex's model: baseline survival at 10 years, category terms (ethnicity and smoking, without their reference
    // level), centring values, each continuous input's two powers, the yes/no terms by quantity as [main, × age first
    // power, × age second power], and the interactions with age as [age1 × first, age1 × second, age2 × first, age2 × second].
    private sealed record QDiabetesCoefficients(double BaselineSurvival, double[] Ethnicity, double[] Smoking, QDiabetesMeans Means,
        double[] Age, double[] Bmi, double[] Hba1c, double Townsend, Dictionary<string, double[]> Flags, double[] AgeByBmi, double[] AgeByHba1c);

    // The derivation cohort's means the powers are centred at.
    private sealed record QDiabetesMeans(double[] Age, double[] Bmi, double[] Hba1c, double Townsend);
}

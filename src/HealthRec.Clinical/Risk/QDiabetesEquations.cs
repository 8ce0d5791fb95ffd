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
/// equation without a blood test), ethnicity, smoking, the Townsend deprivation score, and ten yes/no histories and
/// treatments (the two of pregnancy and the ovary women only).
/// </summary>
public sealed record QDiabetesInputs(bool Female, double Age, double Bmi, double? Hba1cMmolMol)
{
    public QDiabetesEthnicity Ethnicity { get; init; }

    public QDiabetesSmoking Smoking { get; init; }

    /// <summary>The Townsend deprivation score of the patient's area (UK; 0 is the national average).</summary>
    public double Townsend { get; init; }

    /// <summary>Diabetes in a parent, brother or sister.</summary>
    public bool FamilyHistory { get; init; }

    /// <summary>Hypertension with blood-pressure treatment.</summary>
    public bool TreatedHypertension { get; init; }

    /// <summary>Heart attack, angina, stroke or transient ischaemic attack on record.</summary>
    public bool Cvd { get; init; }

    public bool GestationalDiabetes { get; init; }

    public bool PolycysticOvaries { get; init; }

    public bool LearningDisability { get; init; }

    /// <summary>Schizophrenia or bipolar affective disorder ("manic depression").</summary>
    public bool SchizophreniaOrBipolar { get; init; }

    /// <summary>Regular corticosteroid tablets.</summary>
    public bool Corticosteroids { get; init; }

    public bool Statin { get; init; }

    public bool AtypicalAntipsychotic { get; init; }
}

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

    // The linear predictor: the sum of every term, each also added to terms when given. Age, BMI and HbA1c enter as
    // two fractional-polynomial powers of the value over 10, each centred; the yes/no terms with two age interactions.
    private static double LinearPredictor(QDiabetesInputs p, QDiabetesCoefficients c, List<EquationTerm>? terms)
    {
        var age = p.Age / 10;
        var bmi = Math.Clamp(p.Bmi, MinBmi, MaxBmi) / 10;
        var hba1c = (p.Hba1cMmolMol ?? 0) / 10;
        var age1 = (p.Female ? Math.Sqrt(age) : Math.Log(age)) - c.Age1Mean;
        var age2 = (age * age * age) - c.Age2Mean;
        var bmi1 = (p.Female ? bmi : bmi * bmi) - c.Bmi1Mean;
        var bmi2 = (bmi * bmi * bmi) - c.Bmi2Mean;
        var hba1c1 = Math.Sqrt(hba1c) - c.Hba1c1Mean;
        var hba1c2 = hba1c - c.Hba1c2Mean;

        var sum = new LinearPredictorSum(terms);
        sum.Add("ethnicity", p.Ethnicity == QDiabetesEthnicity.WhiteOrNotStated ? 0 : c.Ethnicity[(int)p.Ethnicity - 1], 1, "ethnicity");
        sum.Add("smoking", p.Smoking == QDiabetesSmoking.Never ? 0 : c.Smoking[(int)p.Smoking - 1], 1, "smoking");
        sum.Add("age (first power)", c.Age1, age1, "age");
        sum.Add("age (second power)", c.Age2, age2, "age");
        sum.Add("BMI (first power)", c.Bmi1, bmi1, "bmi");
        sum.Add("BMI (second power)", c.Bmi2, bmi2, "bmi");
        sum.Add("HbA1c (first power)", c.Hba1c1, hba1c1, "hba1c");
        sum.Add("HbA1c (second power)", c.Hba1c2, hba1c2, "hba1c");
        sum.Add("Townsend deprivation score", c.Townsend, p.Townsend - c.TownsendMean, "townsend");
        Flag(ref sum, "atypical antipsychotic", c.Antipsychotic, p.AtypicalAntipsychotic, "antipsychotic", age1, age2);
        Flag(ref sum, "corticosteroid tablets", c.Corticosteroids, p.Corticosteroids, "corticosteroids", age1, age2);
        Flag(ref sum, "cardiovascular disease", c.Cvd, p.Cvd, "cvd", age1, age2);
        Flag(ref sum, "gestational diabetes", c.GestationalDiabetes, p.GestationalDiabetes, "gestational-diabetes", age1, age2);
        Flag(ref sum, "learning disability", c.LearningDisability, p.LearningDisability, "learning-disability", age1, age2);
        Flag(ref sum, "schizophrenia or bipolar disorder", c.SchizophreniaOrBipolar, p.SchizophreniaOrBipolar, "schizophrenia-bipolar", age1, age2);
        Flag(ref sum, "polycystic ovaries", c.PolycysticOvaries, p.PolycysticOvaries, "pcos", age1, age2);
        Flag(ref sum, "statin", c.Statin, p.Statin, "statin", age1, age2);
        Flag(ref sum, "treated hypertension", c.TreatedHypertension, p.TreatedHypertension, "hypertension", age1, age2);
        Flag(ref sum, "family history of diabetes", c.FamilyHistory, p.FamilyHistory, "family-history", age1, age2);
        sum.Add("age × BMI (first powers)", c.Age1ByBmi1, age1 * bmi1, "bmi");
        sum.Add("age × BMI (first, second)", c.Age1ByBmi2, age1 * bmi2, "bmi");
        sum.Add("age × BMI (second, first)", c.Age2ByBmi1, age2 * bmi1, "bmi");
        sum.Add("age × BMI (second powers)", c.Age2ByBmi2, age2 * bmi2, "bmi");
        sum.Add("age × HbA1c (first powers)", c.Age1ByHba1c1, age1 * hba1c1, "hba1c");
        sum.Add("age × HbA1c (first, second)", c.Age1ByHba1c2, age1 * hba1c2, "hba1c");
        sum.Add("age × HbA1c (second, first)", c.Age2ByHba1c1, age2 * hba1c1, "hba1c");
        sum.Add("age × HbA1c (second powers)", c.Age2ByHba1c2, age2 * hba1c2, "hba1c");
        return sum.Total;
    }

    // A yes/no term with its interactions with the two age powers (the equation has them for some terms only).
    private static void Flag(ref LinearPredictorSum sum, string name, (double Main, double ByAge1, double ByAge2) beta, bool present, string quantity,
        double age1, double age2)
    {
        var x = present ? 1 : 0;
        sum.Add(name, beta.Main, x, quantity);
        sum.Add($"age × {name} (first power)", beta.ByAge1, x * age1, quantity);
        sum.Add($"age × {name} (second power)", beta.ByAge2, x * age2, quantity);
    }

    private static readonly QDiabetesCoefficients WomenC = new(
        BaselineSurvival: 0.988788545131683,
        Ethnicity: [0.599095159929154, 0.78320309656353893, 1.1947351247960103, 0.71417446991681433, 0.11953284683887688,
            0.013668872878490427, 0.57092265376939455, 0.17091076281069292],
        Smoking: [0.065848258510000673, 0.1458413689734224, 0.15258642474801187, 0.30787416796613976],
        Age1Mean: 2.123332023620606, Age2Mean: 91.644744873046875, Bmi1Mean: 2.571253299713135, Bmi2Mean: 16.999439239501953,
        Hba1c1Mean: 1.886751174926758, Hba1c2Mean: 3.559829950332642, TownsendMean: 0.391116052865982,
        Age1: 3.5655214891947722, Age2: -0.0056158243572733135, Bmi1: 2.5043028874544841, Bmi2: -0.042875801892690461,
        Hba1c1: 8.7368031307362184, Hba1c2: -0.07823138666994997, Townsend: 0.035866822056348294,
        Antipsychotic: (0.54976333110422004, -0.81254341971621313, 0.0004665611306005428),
        Corticosteroids: (0.16872205506389704, 0, 0),
        Cvd: (0.16443300362739344, 0, 0),
        GestationalDiabetes: (1.125009810517114, 0, 0),
        LearningDisability: (0.28912058310739658, -0.90846657652698082, 0.00085189801399280065),
        SchizophreniaOrBipolar: (0.31825122490684077, 0, 0),
        PolycysticOvaries: (0.33806444140981745, 0, 0),
        Statin: (0.45593968473811164, -1.8557960585560658, 0.0022627250963352537),
        TreatedHypertension: (0.4040022295023758, 0, 0),
        FamilyHistory: (0.44280154048260317, -0.27275713515061872, 0.00043545197952207749),
        Age1ByBmi1: 0.6023218765235252, Age2ByBmi1: -0.0043386645663133425, Age1ByBmi2: -0.03449503839680447, Age2ByBmi2: 0.00011627785616712089,
        Age1ByHba1c1: 25.441203322736715, Age2ByHba1c1: -0.052254135588592522, Age1ByHba1c2: -6.8076080421556107, Age2ByHba1c2: 0.014054825906114453);

    private static readonly QDiabetesCoefficients MenC = new(
        BaselineSurvival: 0.981181740760803,
        Ethnicity: [0.67571207054987803, 0.83147325049663456, 1.0969133802228563, 0.76822446364560482, 0.20897529259108502,
            0.38091593781970579, 0.34235836796612695, 0.22046477853433083],
        Smoking: [0.11592891206878651, 0.14624182637633271, 0.10781424112493142, 0.19848629163668474],
        Age1Mean: 1.496392488479614, Age2Mean: 89.048171997070313, Bmi1Mean: 6.817805767059326, Bmi2Mean: 17.801923751831055,
        Hba1c1Mean: 1.900265336036682, Hba1c2Mean: 3.611008167266846, TownsendMean: 0.515986680984497,
        Age1: 4.0193435623978031, Age2: -0.0048396442306278238, Bmi1: 0.81829168905349325, Bmi2: -0.12558808701359642,
        Hba1c1: 8.0511642238857934, Hba1c2: -0.14652346893914495, Townsend: 0.025229965184900727,
        Antipsychotic: (0.45541525220173301, -1.0013331909079835, 0.00022455973985742407),
        Corticosteroids: (0.13816187686823922, 0, 0),
        Cvd: (0.14546988896239518, 0, 0),
        GestationalDiabetes: (0, 0, 0),
        LearningDisability: (0.2596046658040857, -0.89164657372215927, 0.00066044360765696482),
        SchizophreniaOrBipolar: (0.28523788490585894, 0, 0),
        PolycysticOvaries: (0, 0, 0),
        Statin: (0.42551951901185525, -1.7074561167819817, 0.0013873509357389619),
        TreatedHypertension: (0.33169430006459311, 0, 0),
        FamilyHistory: (0.56612325943680619, -0.61410093887097161, 0.00050602582894772091),
        Age1ByBmi1: 0.45074527472672443, Age2ByBmi1: -0.0012224736160287865, Age1ByBmi2: -0.10851859809165601, Age2ByBmi2: 0.0002266731010346126,
        Age1ByHba1c1: 27.670593827146565, Age2ByHba1c1: -0.05920145812475433, Age1ByHba1c2: -7.4006134846785434, Age2ByHba1c2: 0.015592089485149988);

    private static readonly QDiabetesCoefficients WomenA = new(
        BaselineSurvival: 0.986227273941040,
        Ethnicity: [1.0695857881565456, 1.3430172097414006, 1.8029022579794518, 1.127465451770802, 0.42146314902399101,
            0.2850919645908353, 0.88151087975891995, 0.36605733431684873],
        Smoking: [0.065601690175059055, 0.28450988673698374, 0.3567664381700702, 0.53595171106787753],
        Age1Mean: 2.123332023620606, Age2Mean: 91.644744873046875, Bmi1Mean: 2.571253299713135, Bmi2Mean: 16.999439239501953,
        Hba1c1Mean: 0, Hba1c2Mean: 0, TownsendMean: 0.391116052865982,
        Age1: 4.3400852699139278, Age2: -0.0048771702696158879, Bmi1: 2.9320361259524925, Bmi2: -0.04740020587484349,
        Hba1c1: 0, Hba1c2: 0, Townsend: 0.037340569618049151,
        Antipsychotic: (0.55267646110984381, -0.80315183983163951, 0.00046840411810210498),
        Corticosteroids: (0.26792233680674599, 0, 0),
        Cvd: (0.17797229054586691, 0, 0),
        GestationalDiabetes: (1.5248871531467574, 0, 0),
        LearningDisability: (0.27835143587172717, -0.86415960028820571, 0.00067249688089533602),
        SchizophreniaOrBipolar: (0.26180852109179059, 0, 0),
        PolycysticOvaries: (0.34061739882066661, 0, 0),
        Statin: (0.65907287732808217, -1.9757776696583935, 0.0023750534194347966),
        TreatedHypertension: (0.43947582858137119, 0, 0),
        FamilyHistory: (0.53133594565587339, -0.26411714505588962, 0.00041610258289047683),
        Age1ByBmi1: 0.65531387575629452, Age2ByBmi1: -0.0044719662445263054, Age1ByBmi2: -0.036209657201630177, Age2ByBmi2: 0.0001185479967753342,
        Age1ByHba1c1: 0, Age2ByHba1c1: 0, Age1ByHba1c2: 0, Age2ByHba1c2: 0);

    private static readonly QDiabetesCoefficients MenA = new(
        BaselineSurvival: 0.978732228279114,
        Ethnicity: [1.1000230829124793, 1.290384012614721, 1.6740908848727458, 1.1400446789147816, 0.46824681690655806,
            0.69905649963015448, 0.68943657127111568, 0.41722228467738209],
        Smoking: [0.16387409105485573, 0.31851449113958979, 0.32207266567783432, 0.45052437163409531],
        Age1Mean: 1.496392488479614, Age2Mean: 89.048171997070313, Bmi1Mean: 6.817805767059326, Bmi2Mean: 17.801923751831055,
        Hba1c1Mean: 0, Hba1c2Mean: 0, TownsendMean: 0.515986680984497,
        Age1: 4.4642324388691348, Age2: -0.0040750108019255568, Bmi1: 0.95129027867120675, Bmi2: -0.14352488277885475,
        Hba1c1: 0, Hba1c2: 0, Townsend: 0.025918182067678725,
        Antipsychotic: (0.42101092346005436, -0.94637722268534152, -0.0000519927442172335),
        Corticosteroids: (0.22183580932925384, 0, 0),
        Cvd: (0.20269605756290021, 0, 0),
        GestationalDiabetes: (0, 0, 0),
        LearningDisability: (0.23315321407986961, -0.93842375526499833, 0.00071026438559688141),
        SchizophreniaOrBipolar: (0.22770449520517727, 0, 0),
        PolycysticOvaries: (0, 0, 0),
        Statin: (0.58490075431141342, -1.7479070653003299, 0.0013508364599531669),
        TreatedHypertension: (0.33379392183501078, 0, 0),
        FamilyHistory: (0.64799284899369536, -0.60118530429301198, 0.00049141855940878034),
        Age1ByBmi1: 0.45147599241879766, Age2ByBmi1: -0.0011797722394560309, Age1ByBmi2: -0.10795481262776381, Age2ByBmi2: 0.00021471509139319291,
        Age1ByHba1c1: 0, Age2ByHba1c1: 0, Age1ByHba1c2: 0, Age2ByHba1c2: 0);

    // One sex's equation: baseline survival at 10 years, category terms (ethnicity and smoking, without their reference
    // level), centring values, main effects, yes/no terms as (main, × age first power, × age second power), interactions.
    private sealed record QDiabetesCoefficients(double BaselineSurvival, double[] Ethnicity, double[] Smoking,
        double Age1Mean, double Age2Mean, double Bmi1Mean, double Bmi2Mean, double Hba1c1Mean, double Hba1c2Mean, double TownsendMean,
        double Age1, double Age2, double Bmi1, double Bmi2, double Hba1c1, double Hba1c2, double Townsend,
        (double, double, double) Antipsychotic, (double, double, double) Corticosteroids, (double, double, double) Cvd,
        (double, double, double) GestationalDiabetes, (double, double, double) LearningDisability, (double, double, double) SchizophreniaOrBipolar,
        (double, double, double) PolycysticOvaries, (double, double, double) Statin, (double, double, double) TreatedHypertension,
        (double, double, double) FamilyHistory,
        double Age1ByBmi1, double Age2ByBmi1, double Age1ByBmi2, double Age2ByBmi2,
        double Age1ByHba1c1, double Age2ByHba1c1, double Age1ByHba1c2, double Age2ByHba1c2);
}

namespace HealthRec.ML.Tests;

/// <summary>
/// QDiabetes-2018 models C (with HbA1c) and A (without a blood test) against input → output pairs to three decimals of
/// a percentage. The sixteen published ones are the examples of the QDiabetes R package (Feakster/qdiabetes, README):
/// QDR2018C, a 25-year-old man with BMI 40 and HbA1c 42 mmol/mol, 8.226301 %, and an 80-year-old woman with BMI 28 and
/// HbA1c 15 to 45, 0.008084487 % to 11.409509 %; QDR2018A, a 45-year-old man with BMI 35, 9.88593 %, women of 25 to 75
/// with BMI 35, 1.085179 % to 9.567516 %, and a 33-year-old man with BMI 26 and Townsend −1.032394 (a postcode's),
/// 0.6472644 %. They set only age, sex, BMI, HbA1c and Townsend; the others set every other term and are computed by
/// running an independent transcription (vanderschaarlab/autoprognosis, benchmarks/diabetes/qdiabetes/model.py at
/// commit 4be977d, which gives the sixteen published figures too) on inputs chosen here.
/// </summary>
public sealed class QDiabetesEquationsTests
{
    public static TheoryData<bool, double, double, double?, double, double> Published => new()
    {
        // female, age, BMI, HbA1c (mmol/mol; none: model A), Townsend → 10-year risk (%)
        { false, 25, 40, 42, 0, 8.226301 },
        { true, 80, 28, 15, 0, 0.008084487 },
        { true, 80, 28, 20, 0, 0.033019655 },
        { true, 80, 28, 25, 0, 0.121238952 },
        { true, 80, 28, 30, 0, 0.412396004 },
        { true, 80, 28, 35, 0, 1.320727239 },
        { true, 80, 28, 40, 0, 4.005759509 },
        { true, 80, 28, 45, 0, 11.409509026 },
        { false, 45, 35, null, 0, 9.88593 },
        { true, 25, 35, null, 0, 1.085179 },
        { true, 35, 35, null, 0, 2.921454 },
        { true, 45, 35, null, 0, 5.893499 },
        { true, 55, 35, null, 0, 9.082108 },
        { true, 65, 35, null, 0, 10.713717 },
        { true, 75, 35, null, 0, 9.567516 },
        { false, 33, 26, null, -1.032394, 0.6472644 },
    };

    public static TheoryData<string, QDiabetesInputs, double> EveryTerm => new()
    {
        {
            "woman, ex-smoker, family history, treated hypertension, statin",
            new QDiabetesInputs(true, 52, 31.4, 41) { Smoking = QDiabetesSmoking.Former, FamilyHistory = true, TreatedHypertension = true, Statin = true },
            27.644177
        },
        {
            "woman, gestational diabetes, polycystic ovaries, moderate smoker",
            new QDiabetesInputs(true, 38, 27.0, 39) { GestationalDiabetes = true, PolycysticOvaries = true, Smoking = QDiabetesSmoking.Moderate },
            9.281360
        },
        {
            "woman, steroids, CVD, antipsychotic, schizophrenia, Townsend 3.5",
            new QDiabetesInputs(true, 67, 24.2, 44) { Corticosteroids = true, Cvd = true, AtypicalAntipsychotic = true, SchizophreniaOrBipolar = true, Townsend = 3.5 },
            22.275878
        },
        {
            "woman, learning disability, family history, heavy smoker, Townsend −2",
            new QDiabetesInputs(true, 30, 36.8, 46) { LearningDisability = true, FamilyHistory = true, Smoking = QDiabetesSmoking.Heavy, Townsend = -2 },
            53.465538
        },
        { "woman, Bangladeshi", new QDiabetesInputs(true, 50, 30, 40) { Ethnicity = QDiabetesEthnicity.Bangladeshi }, 19.522344 },
        { "woman, lowest inputs", new QDiabetesInputs(true, 25, 20, 15), 0.000860 },
        { "man, light smoker, family history", new QDiabetesInputs(false, 45, 29.5, 40) { Smoking = QDiabetesSmoking.Light, FamilyHistory = true }, 13.275898 },
        {
            "man, treated hypertension, statin, CVD, Townsend 1.2",
            new QDiabetesInputs(false, 58, 33.3, 45) { TreatedHypertension = true, Statin = true, Cvd = true, Townsend = 1.2 },
            54.660241
        },
        {
            "man, steroids, antipsychotic, learning disability, ex-smoker",
            new QDiabetesInputs(false, 71, 26.1, 38) { Corticosteroids = true, AtypicalAntipsychotic = true, LearningDisability = true, Smoking = QDiabetesSmoking.Former },
            6.336767
        },
        {
            "man, bipolar disorder, heavy smoker, Townsend −5",
            new QDiabetesInputs(false, 33, 22.7, 35) { SchizophreniaOrBipolar = true, Smoking = QDiabetesSmoking.Heavy, Townsend = -5 },
            0.448514
        },
        {
            "man, 84, treated hypertension, family history, statin, moderate smoker",
            new QDiabetesInputs(false, 84, 38.0, 47) { TreatedHypertension = true, FamilyHistory = true, Statin = true, Smoking = QDiabetesSmoking.Moderate },
            61.265989
        },
        { "man, Black African", new QDiabetesInputs(false, 50, 30, 40) { Ethnicity = QDiabetesEthnicity.BlackAfrican }, 13.029569 },
        {
            "model A: woman, light smoker, family history, gestational diabetes, statin",
            new QDiabetesInputs(true, 48, 29.0, null) { Smoking = QDiabetesSmoking.Light, FamilyHistory = true, GestationalDiabetes = true, Statin = true },
            42.499210
        },
        {
            "model A: woman, treated hypertension, CVD, steroids, polycystic ovaries, Townsend 2",
            new QDiabetesInputs(true, 70, 33.5, null) { TreatedHypertension = true, Cvd = true, Corticosteroids = true, PolycysticOvaries = true, Townsend = 2 },
            30.067869
        },
        {
            "model A: woman, antipsychotic, schizophrenia, learning disability",
            new QDiabetesInputs(true, 35, 22.0, null) { AtypicalAntipsychotic = true, SchizophreniaOrBipolar = true, LearningDisability = true },
            1.081992
        },
        {
            "model A: man, former smoker, treated hypertension, statin, family history",
            new QDiabetesInputs(false, 52, 31.0, null) { Smoking = QDiabetesSmoking.Former, TreatedHypertension = true, Statin = true, FamilyHistory = true },
            30.211298
        },
        {
            "model A: man, CVD, steroids, antipsychotic, Townsend −3",
            new QDiabetesInputs(false, 66, 27.5, null) { Cvd = true, Corticosteroids = true, AtypicalAntipsychotic = true, Townsend = -3 },
            9.601569
        },
        {
            "model A: man, learning disability, bipolar disorder, heavy smoker",
            new QDiabetesInputs(false, 29, 38.0, null) { LearningDisability = true, SchizophreniaOrBipolar = true, Smoking = QDiabetesSmoking.Heavy },
            12.574796
        },
        { "model A: woman, Bangladeshi", new QDiabetesInputs(true, 50, 30, null) { Ethnicity = QDiabetesEthnicity.Bangladeshi }, 21.591366 },
        { "model A: man, Black African", new QDiabetesInputs(false, 50, 30, null) { Ethnicity = QDiabetesEthnicity.BlackAfrican }, 11.936594 },
    };

    [Theory]
    [MemberData(nameof(Published))]
    public void GivenAPublishedPair_WhenEstimated_ThenTheRiskMatchesToThreeDecimals(bool female, double age, double bmi, double? hba1c, double townsend,
        double percent)
    {
        var inputs = new QDiabetesInputs(female, age, bmi, hba1c) { Townsend = townsend };

        Assert.Equal(Math.Round(percent, 3), Math.Round(100 * QDiabetesEquations.TenYearRisk(inputs), 3));
        Assert.Empty(QDiabetesEquations.OutOfRange(inputs));
    }

    [Theory]
    [MemberData(nameof(EveryTerm))]
    public void GivenAPairSettingTheOtherTerms_WhenEstimated_ThenTheRiskMatchesToThreeDecimals(string who, QDiabetesInputs inputs, double percent)
    {
        Assert.False(string.IsNullOrEmpty(who));
        Assert.Equal(Math.Round(percent, 3), Math.Round(100 * QDiabetesEquations.TenYearRisk(inputs), 3));
        Assert.Empty(QDiabetesEquations.OutOfRange(inputs));
    }

    [Fact]
    public void GivenTheTerms_WhenSummed_ThenTheyGiveTheRiskThroughTheBaselineSurvival()
    {
        var woman = new QDiabetesInputs(true, 52, 31.4, 41) { Smoking = QDiabetesSmoking.Former, FamilyHistory = true, TreatedHypertension = true, Statin = true };
        var terms = QDiabetesEquations.Terms(woman);

        Assert.Equal(QDiabetesEquations.TenYearRisk(woman), 1 - Math.Pow(0.988788545131683, Math.Exp(terms.Sum(t => t.Contribution))), 12);
        Assert.Contains(terms, t => t.Quantity == "family-history" && t.Name.StartsWith("age ×", StringComparison.Ordinal));
        Assert.DoesNotContain(terms, t => t.Quantity is "antipsychotic" or "ethnicity");
    }

    [Fact]
    public void GivenABmiOutside20To40_WhenEstimated_ThenItIsReadAsTheNearerEnd()
    {
        var at20 = QDiabetesEquations.TenYearRisk(new QDiabetesInputs(false, 50, 20, 40));
        var at40 = QDiabetesEquations.TenYearRisk(new QDiabetesInputs(true, 50, 40, 40));

        Assert.Equal(at20, QDiabetesEquations.TenYearRisk(new QDiabetesInputs(false, 50, 16.5, 40)), 12);
        Assert.Equal(at40, QDiabetesEquations.TenYearRisk(new QDiabetesInputs(true, 50, 47, 40)), 12);
        Assert.NotEqual(at20, QDiabetesEquations.TenYearRisk(new QDiabetesInputs(false, 50, 21, 40)));
    }

    [Fact]
    public void GivenInputsOutsideItsRanges_WhenChecked_ThenEachIsNamed()
    {
        var problems = QDiabetesEquations.OutOfRange(new QDiabetesInputs(false, 24, 30, 48) { Townsend = 15, PolycysticOvaries = true });

        Assert.Equal(4, problems.Count);
        Assert.Contains("age 24 years is outside 25–84 years", problems);
        Assert.Contains("HbA1c 48 mmol/mol is outside 15–47 mmol/mol", problems);
        Assert.Contains(problems, p => p.StartsWith("Townsend score 15", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("women's equation", StringComparison.Ordinal));
        Assert.Contains("age 85 years is outside 25–84 years", QDiabetesEquations.OutOfRange(new QDiabetesInputs(true, 85, 30, 40)));
    }
}

namespace HealthRec.ML.Tests;

/// <summary>
/// The CKD-PC incident CKD equations against input → output pairs to three decimals. The paper's own worked examples
/// are in its supplement (eTables 9–10), which is not reachable here; the pairs are those of an independent Python
/// implementation (Keyoniq-techdev/nova_condition_risk_calculators, ckdpc/ckdpc_core.py at commit 68e374c, run on these
/// inputs), the first its published README example (a 60-year-old Black man, 18.72 %). Its coefficients agree with the
/// paper's Table 2 and with EHRBiomarkr's (diabetes equation).
/// </summary>
public sealed class CkdPcEquationsTests
{
    public static TheoryData<bool, double, bool, double, bool, bool, bool, double, double?, double> WithoutDiabetes => new()
    {
        // female, age, Black, eGFR, CVD, ever smoked, hypertension, BMI, ACR (mg/g) → 5-year risk
        { false, 60, true, 85, true, true, true, 30, 15, 0.187 },
        { true, 45, false, 95, false, false, false, 24, 5, 0.019 },
        { false, 70, false, 65, false, false, true, 32, null, 0.704 },
        { true, 55, false, 75, false, true, true, 27, 40, 0.307 },
        { false, 35, false, 110, false, false, false, 22, 8, 0.004 },
        { true, 78, true, 62, true, false, true, 38, 300, 0.999 },
    };

    public static TheoryData<bool, double, bool, double, bool, bool, bool, double, double?, double, DiabetesTreatment, double> WithDiabetes => new()
    {
        // female, age, Black, eGFR, CVD, ever smoked, hypertension, BMI, ACR (mg/g), HbA1c (%), treatment → 5-year risk
        { false, 60, false, 80, false, false, true, 31, 20, 7.5, DiabetesTreatment.Oral, 0.378 },
        { true, 50, true, 95, false, true, false, 35, 50, 8.2, DiabetesTreatment.Insulin, 0.176 },
        { false, 68, false, 70, true, false, false, 28, 10, 6.6, DiabetesTreatment.None, 0.501 },
        { true, 72, false, 61, true, false, true, 29, 150, 9.5, DiabetesTreatment.Insulin, 0.998 },
        { false, 45, false, 100, false, false, false, 26, 6, 7.0, DiabetesTreatment.Oral, 0.059 },
        { false, 58, false, 85, false, false, true, 30, null, 7.2, DiabetesTreatment.Oral, 0.239 },
    };

    [Theory]
    [MemberData(nameof(WithoutDiabetes))]
    public void GivenAPairWithoutDiabetes_WhenEstimated_ThenTheRiskMatchesToThreeDecimals(bool female, double age, bool black, double egfr, bool cvd,
        bool smoked, bool hypertension, double bmi, double? acr, double risk)
    {
        var inputs = new CkdPcInputs(female, age, black, egfr, cvd, smoked, hypertension, bmi, acr);

        Assert.Equal(risk, Math.Round(CkdPcEquations.FiveYearRisk(inputs), 3));
        Assert.Empty(CkdPcEquations.OutOfRange(inputs));
    }

    [Theory]
    [MemberData(nameof(WithDiabetes))]
    public void GivenAPairWithDiabetes_WhenEstimated_ThenTheRiskMatchesToThreeDecimals(bool female, double age, bool black, double egfr, bool cvd,
        bool smoked, bool hypertension, double bmi, double? acr, double hba1c, DiabetesTreatment treatment, double risk)
    {
        var inputs = new CkdPcInputs(female, age, black, egfr, cvd, smoked, hypertension, bmi, acr, new CkdPcDiabetes(hba1c, treatment));

        Assert.Equal(risk, Math.Round(CkdPcEquations.FiveYearRisk(inputs), 3));
        Assert.Empty(CkdPcEquations.OutOfRange(inputs));
    }

    [Fact]
    public void GivenTheTerms_WhenSummed_ThenTheyGiveTheRiskThroughTheWeibullShape_AndEachSubhazardRatioIsTable2s()
    {
        // One step of each input from the reference person: exp(coefficient) is the paper's Table 2 subhazard ratio.
        static double Ratio(CkdPcInputs p, string quantity) => Math.Round(Math.Exp(CkdPcEquations.Terms(p).Where(t => t.Quantity == quantity).Sum(t => t.Contribution)), 2);
        var step = new CkdPcInputs(true, 60, true, 70, true, true, true, 32, 100);
        Assert.Equal(1.29, Ratio(step, "age"));
        Assert.Equal(1.20, Ratio(step, "sex"));
        Assert.Equal(1.20, Ratio(step, "race"));
        Assert.Equal(1.58, Ratio(step with { Egfr = 70 }, "egfr"));
        Assert.Equal(1.22, Ratio(step, "cvd"));
        Assert.Equal(1.13, Ratio(step, "smoking"));
        Assert.Equal(1.43, Ratio(step, "hypertension"));
        Assert.Equal(1.07, Ratio(step, "bmi"));
        var diabetic = step with { Diabetes = new CkdPcDiabetes(8, DiabetesTreatment.Oral), Acr = 100 };
        Assert.Equal(1.14, Ratio(diabetic, "age"));
        Assert.Equal(1.45, Ratio(diabetic, "acr"));
        Assert.Equal(1.06, Ratio(diabetic, "hba1c"));

        var terms = CkdPcEquations.Terms(diabetic);
        Assert.Equal("constant", terms[^1].Name);
        Assert.Equal(CkdPcEquations.FiveYearRisk(diabetic), 1 - Math.Exp(-Math.Pow(5, 0.9766551) * Math.Exp(terms.Sum(t => t.Contribution))), 12);
    }

    [Fact]
    public void GivenInputsOutsideTheRanges_WhenChecked_ThenEachIsNamed_AndAnEgfrBelow60IsOutsideTheEquation()
    {
        var outside = new CkdPcInputs(false, 85, false, 55, false, false, false, 44, 1500, new CkdPcDiabetes(12.5, DiabetesTreatment.Insulin));

        Assert.Equal(
            [
                "age 85 years is outside 20–80 years",
                "eGFR 55 mL/min/1.73 m² is below 60 mL/min/1.73 m²",
                "BMI 44 kg/m² is outside 20–40 kg/m²",
                "urine albumin/creatinine 1500 mg/g is outside 0–1000 mg/g",
                "HbA1c 12.5 % is outside 6–11 %",
            ],
            CkdPcEquations.OutOfRange(outside));
    }
}

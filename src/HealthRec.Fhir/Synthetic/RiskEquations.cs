using HealthRec.Clinical.Kidney;

namespace HealthRec.Fhir.Synthetic;

/// <summary>
/// The published equations the generator's hazards are built on. Each is tested against the worked examples its
/// source gives. See <c>MODEL.md</c> beside this file for how the generator uses them.
/// </summary>
internal static class RiskEquations
{
    /// <summary>The Pooled Cohort Equations, shared with the clinical baseline the models are compared to.</summary>
    public static double PooledCohort10Year(bool female, bool black, double age, double totalCholesterol, double hdl, double sbp,
        bool treatedSbp, bool smoker, bool diabetic) =>
        PooledCohortEquations.TenYearRisk(female, black, age, totalCholesterol, hdl, sbp, treatedSbp, smoker, diabetic);

    /// <summary>
    /// FINDRISC points (Lindström J, Tuomilehto J. Diabetes Care 2003;26:725–731). Waist circumference is not
    /// simulated; its points are taken from BMI, with which it correlates closely.
    /// </summary>
    public static int Findrisc(double age, double bmi, bool active, bool vegetablesDaily, bool antihypertensive, bool highGlucoseHistory,
        int familyHistory)
    {
        var points = age switch
        {
            < 45 => 0,
            < 55 => 2,
            < 65 => 3,
            _ => 4,
        };
        points += bmi switch
        {
            < 25 => 0,
            <= 30 => 1,
            _ => 3,
        };
        points += bmi switch
        {
            < 27 => 0,
            <= 30 => 3,
            _ => 4,
        };
        points += active ? 0 : 2;
        points += vegetablesDaily ? 0 : 1;
        points += antihypertensive ? 2 : 0;
        points += highGlucoseHistory ? 5 : 0;
        points += familyHistory switch
        {
            2 => 5,
            1 => 3,
            _ => 0,
        };
        return points;
    }

    // FINDRISC score bands and their observed 10-year incidence (Lindström 2003): < 7: 1 %, 7–11: 4 %, 12–14: 17 %,
    // 15–20: 33 %, > 20: 50 %. Interpolated on the logit scale through the bands' middles, so risk rises smoothly.
    private static readonly (double Score, double Risk)[] FindriscBands = [(3.5, 0.01), (9, 0.04), (13, 0.17), (17.5, 0.33), (23, 0.50)];

    /// <summary>The 10-year type 2 diabetes risk for a FINDRISC score.</summary>
    public static double Findrisc10Year(int score)
    {
        if (score <= FindriscBands[0].Score)
        {
            return FindriscBands[0].Risk;
        }

        for (var i = 1; i < FindriscBands.Length; i++)
        {
            if (score <= FindriscBands[i].Score)
            {
                var (s0, r0) = FindriscBands[i - 1];
                var (s1, r1) = FindriscBands[i];
                var f = (score - s0) / (s1 - s0);
                return Expit(Logit(r0) + (f * (Logit(r1) - Logit(r0))));
            }
        }

        return FindriscBands[^1].Risk;
    }

    /// <summary>eGFR by CKD-EPI 2021 (see <see cref="KidneyEquations.CkdEpi2021"/>), shared with ingestion.</summary>
    public static double CkdEpi2021(double creatinine, double age, bool female) => KidneyEquations.CkdEpi2021(creatinine, age, female);

    /// <summary>The serum creatinine (mg/dL) at which <see cref="CkdEpi2021"/> gives <paramref name="egfr"/>.</summary>
    public static double CreatinineForEgfr(double egfr, double age, bool female)
    {
        var kappa = female ? 0.7 : 0.9;
        var alpha = female ? -0.241 : -0.302;
        var scale = 142 * Math.Pow(0.9938, age) * (female ? 1.012 : 1);
        var ratio = Math.Pow(egfr / scale, -1 / 1.200);
        if (ratio < 1)
        {
            ratio = Math.Pow(egfr / scale, 1 / alpha);
        }

        return ratio * kappa;
    }

    /// <summary>A yearly hazard from a risk over <paramref name="years"/> (constant hazard).</summary>
    public static double HazardFromRisk(double risk, double years) => -Math.Log(1 - Math.Min(risk, 0.999)) / years;

    public static double Logit(double p) => Math.Log(p / (1 - p));

    public static double Expit(double x) => 1 / (1 + Math.Exp(-x));
}

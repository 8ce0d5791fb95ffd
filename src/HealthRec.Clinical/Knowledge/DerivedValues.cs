using HealthRec.Clinical.Risk;

namespace HealthRec.Clinical.Knowledge;

/// <summary>
/// Values a catalog rule may use beside the feature columns, computed from them: today the 10-year ASCVD risk of the
/// Pooled Cohort Equations in percent (<c>pce_ascvd_10y</c>), which the 2018 AHA/ACC cholesterol guideline uses to
/// decide statin therapy in primary prevention. Never a model input, so no model depends on them.
/// </summary>
public static class DerivedValues
{
    public const string PceAscvd10y = "pce_ascvd_10y";

    public static FrozenSet<string> Names { get; } = new[] { PceAscvd10y }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The value in a clinician's words: "10-year ASCVD risk 9.1 % (Pooled Cohort Equations)".</summary>
    public static string Describe(string name, double value) => string.Equals(name, PceAscvd10y, StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"10-year ASCVD risk {value:0.0} % (Pooled Cohort Equations)")
        : string.Create(CultureInfo.InvariantCulture, $"{name} {value:0.##}");

    private static readonly string[] Antihypertensives = ["on_ace_inhibitor", "on_arb", "on_thiazide", "on_ccb", "on_beta_blocker"];

    /// <summary>
    /// The value, or NaN when it cannot be computed: the equations hold for ages 40–79 and need total and HDL
    /// cholesterol and systolic pressure; they are not computed for anyone with ASCVD (secondary prevention). Race is not
    /// in the record, so the equations for white patients are used, as they are for every race other than Black.
    /// </summary>
    public static double Compute(string name, Func<string, double> feature)
    {
        if (!string.Equals(name, PceAscvd10y, StringComparison.Ordinal))
        {
            return double.NaN;
        }

        var (age, tc, hdl, sbp) = (feature("age_years"), feature("total_cholesterol_last"), feature("hdl_last"), feature("sbp_last"));
        if (age is < 40 or >= 80 || double.IsNaN(age) || double.IsNaN(tc) || double.IsNaN(hdl) || double.IsNaN(sbp) || feature("ever_ascvd") == 1)
        {
            return double.NaN;
        }

        var treated = Antihypertensives.Any(n => feature(n) == 1);
        var risk = PooledCohortEquations.TenYearRisk(feature("sex_female") == 1, black: false, age, tc, hdl, sbp, treated,
            smoker: feature("smoking_status") == 2, diabetic: feature("has_t2d") == 1);
        return 100 * risk;
    }
}

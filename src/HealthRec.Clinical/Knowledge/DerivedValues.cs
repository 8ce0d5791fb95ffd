using HealthRec.Clinical.Risk;

namespace HealthRec.Clinical.Knowledge;

/// <summary>
/// Values a catalog rule may use beside the feature columns, computed from them or from the record: the 10-year ASCVD
/// risk of the Pooled Cohort Equations in percent (<c>pce_ascvd_10y</c>), which the 2018 AHA/ACC cholesterol guideline
/// uses to decide statin therapy in primary prevention, and the eGFR's sustained change a year
/// (<c>egfr_sustained_slope_5y</c>), which KDIGO's referral criteria use. Never a model input, so no model depends on them.
/// </summary>
public static class DerivedValues
{
    public const string PceAscvd10y = "pce_ascvd_10y";

    public const string EgfrSustainedSlope5y = "egfr_sustained_slope_5y";

    /// <summary>How many eGFR results, over how many days at least, make a slope "sustained".</summary>
    public const int SustainedResults = 3;

    public const int SustainedDays = 365;

    private const int SlopeWindowDays = 1825;

    public static FrozenSet<string> Names { get; } = new[] { PceAscvd10y, EgfrSustainedSlope5y }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The value in a clinician's words: "10-year ASCVD risk 9.1 % by the Pooled Cohort Equations, …".</summary>
    public static string Describe(string name, double value) => name switch
    {
        PceAscvd10y when double.IsNaN(value) => "10-year ASCVD risk by the Pooled Cohort Equations: not computed (they need age 40–79, total and HDL cholesterol and systolic pressure, and no ASCVD)",
        EgfrSustainedSlope5y when double.IsNaN(value) => string.Create(CultureInfo.InvariantCulture, $"eGFR trend: fewer than {SustainedResults} results a year or more apart in the last 5 years"),
        // Beside a card's estimate from another equation (PREVENT) or a model: say why this figure is the one decided on.
        PceAscvd10y => string.Create(CultureInfo.InvariantCulture, $"10-year ASCVD risk {value:0.0} % by the Pooled Cohort Equations, on which the guideline sets its threshold"),
        EgfrSustainedSlope5y => string.Create(CultureInfo.InvariantCulture,
            $"eGFR changing {(value < 0 ? "−" : "+")}{Math.Abs(value):0.0} mL/min/1.73 m² a year over the last 5 years ({SustainedResults} or more results, a year or more apart at the ends)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{name} {value:0.##}"),
    };

    /// <summary>The value, or NaN when it cannot be computed: see <see cref="PooledCohortPercent"/> and <see cref="SustainedEgfrSlope"/>.</summary>
    public static double Compute(string name, Func<string, double> feature, PatientRecord record, DateTimeOffset at) => name switch
    {
        PceAscvd10y => PooledCohortPercent(feature),
        EgfrSustainedSlope5y => SustainedEgfrSlope(record, at),
        _ => double.NaN,
    };

    /// <summary>
    /// The least-squares change of eGFR a year over the last five years, given only when at least
    /// <see cref="SustainedResults"/> results span <see cref="SustainedDays"/> days or more: KDIGO's "sustained decline".
    /// Two results weeks apart (an acute kidney injury, or an eGFR computed from creatinine beside one reported in
    /// another way) give a slope, but not a sustained one.
    /// </summary>
    public static double SustainedEgfrSlope(PatientRecord record, DateTimeOffset at)
    {
        var values = Features.Featurizer.InWindow(record.MeasurementsOf(PatientRecordBuilder.Egfr).AsSpan(), at, TimeSpan.FromDays(SlopeWindowDays));
        return values.Length >= SustainedResults && (values[^1].At - values[0].At).TotalDays >= SustainedDays
            ? Features.Featurizer.Slope(values, at)
            : double.NaN;
    }

    private static readonly string[] Antihypertensives = ["on_ace_inhibitor", "on_arb", "on_thiazide", "on_ccb", "on_beta_blocker"];

    /// <summary>
    /// The Pooled Cohort Equations' 10-year risk in percent, or NaN: the equations hold for ages 40–79 and need total and HDL
    /// cholesterol and systolic pressure; they are not computed for anyone with ASCVD (secondary prevention). Race is not
    /// in the record, so the equations for white patients are used, as they are for every race other than Black.
    /// </summary>
    private static double PooledCohortPercent(Func<string, double> feature)
    {
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

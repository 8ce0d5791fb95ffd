namespace HealthRec.Clinical.Kidney;

/// <summary>
/// The published equations HealthRec computes kidney function with when a lab sends serum creatinine without an eGFR,
/// or when a drug's label doses by creatinine clearance.
/// </summary>
public static class KidneyEquations
{
    /// <summary>
    /// eGFR by the race-free CKD-EPI 2021 creatinine equation (Inker LA et al., N Engl J Med 2021;385:1737–1749),
    /// creatinine in mg/dL, result in mL/min/1.73 m². Valid for adults (18 and over).
    /// </summary>
    public static double CkdEpi2021(double creatinine, double age, bool female)
    {
        var kappa = female ? 0.7 : 0.9;
        var alpha = female ? -0.241 : -0.302;
        var ratio = creatinine / kappa;
        return 142 * Math.Pow(Math.Min(ratio, 1), alpha) * Math.Pow(Math.Max(ratio, 1), -1.200) * Math.Pow(0.9938, age) * (female ? 1.012 : 1);
    }

    /// <summary>
    /// Creatinine clearance by Cockcroft–Gault (Cockcroft DW, Gault MH. Nephron 1976;16:31–41), the estimate drug labels
    /// dose by: (140 − age) × weight / (72 × creatinine), × 0.85 for women; weight in kg (actual body weight), creatinine in
    /// mg/dL, result in mL/min (not indexed to body surface area).
    /// </summary>
    public static double CockcroftGault(double creatinine, double age, double weightKg, bool female) =>
        (140 - age) * weightKg / (72 * creatinine) * (female ? 0.85 : 1);
}

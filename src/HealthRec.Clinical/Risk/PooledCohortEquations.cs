namespace HealthRec.Clinical.Risk;

/// <summary>The 2013 ACC/AHA Pooled Cohort Equations: the clinical baseline for 10-year ASCVD risk.</summary>
public static class PooledCohortEquations
{
    /// <summary>
    /// 10-year risk of a first hard ASCVD event (Pooled Cohort Equations; Goff DC et al., 2013 ACC/AHA Guideline on
    /// the Assessment of Cardiovascular Risk, Circulation 2014;129:S49–S73, Table A). Black patients use the African
    /// American equations, everyone else the white ones, as the guideline prescribes. Total and HDL cholesterol in
    /// mg/dL, systolic pressure in mmHg; age as given (the equations were derived for 40–79).
    /// </summary>
    public static double TenYearRisk(bool female, bool black, double age, double totalCholesterol, double hdl, double sbp,
        bool treatedSbp, bool smoker, bool diabetic)
    {
        var la = Math.Log(age);
        var ltc = Math.Log(totalCholesterol);
        var lhdl = Math.Log(hdl);
        var lsbp = Math.Log(sbp);
        var smk = smoker ? 1.0 : 0.0;
        var dm = diabetic ? 1.0 : 0.0;
        double sum, baseline, mean;
        switch (female, black)
        {
            case (true, false):
                sum = (-29.799 * la) + (4.884 * la * la) + (13.540 * ltc) - (3.114 * la * ltc) - (13.578 * lhdl) + (3.149 * la * lhdl)
                    + ((treatedSbp ? 2.019 : 1.957) * lsbp) + (7.574 * smk) - (1.665 * la * smk) + (0.661 * dm);
                baseline = 0.9665;
                mean = -29.18;
                break;
            case (true, true):
                sum = (17.114 * la) + (0.940 * ltc) - (18.920 * lhdl) + (4.475 * la * lhdl)
                    + (treatedSbp ? (29.291 * lsbp) - (6.432 * la * lsbp) : (27.820 * lsbp) - (6.087 * la * lsbp))
                    + (0.691 * smk) + (0.874 * dm);
                baseline = 0.9533;
                mean = 86.61;
                break;
            case (false, false):
                sum = (12.344 * la) + (11.853 * ltc) - (2.664 * la * ltc) - (7.990 * lhdl) + (1.769 * la * lhdl)
                    + ((treatedSbp ? 1.797 : 1.764) * lsbp) + (7.837 * smk) - (1.795 * la * smk) + (0.658 * dm);
                baseline = 0.9144;
                mean = 61.18;
                break;
            default:
                sum = (2.469 * la) + (0.302 * ltc) - (0.307 * lhdl) + ((treatedSbp ? 1.916 : 1.809) * lsbp) + (0.549 * smk) + (0.645 * dm);
                baseline = 0.8954;
                mean = 19.54;
                break;
        }

        return 1 - Math.Pow(baseline, Math.Exp(sum - mean));
    }
}

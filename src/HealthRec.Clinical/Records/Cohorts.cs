namespace HealthRec.Clinical.Records;

/// <summary>
/// The coarse cohorts HealthRec audits and splits feedback by: sex, and an age band (under 45, 45–64, 65 and over) —
/// the same bands as the model cards' subgroups.
/// </summary>
public static class Cohorts
{
    public static string? SexOf(Sex sex) => sex switch { Sex.Female => "female", Sex.Male => "male", _ => null };

    public static string AgeBandOf(double age) => age < 45 ? "<45" : age < 65 ? "45-64" : ">=65";
}

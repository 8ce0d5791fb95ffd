using HealthRec.Clinical.Kidney;

namespace HealthRec.Clinical.Safety;

/// <summary>
/// A value a safety check reads from the record, or why it cannot be had: <see cref="Value"/> is null and
/// <see cref="Text"/> says exactly what is missing, too old or unreadable. With a value, <see cref="Text"/> says what it
/// is, when it was measured and how it came to be (reported, read under an equivalence, computed).
/// </summary>
public sealed record Reading(double? Value, string Text)
{
    public static Reading Unknown(string why, string? brief = null) => new(null, why) { Brief = brief };

    /// <summary>
    /// Why not, in the fewest words (e.g. "the last eGFR is 388 days old"), for a card's summary beside a long drug name;
    /// null when <see cref="Text"/> has no shorter form. <see cref="Text"/> stands whole in the card's detail.
    /// </summary>
    public string? Brief { get; init; }

    /// <summary>
    /// The measured value alone, with its bound and unit ("eGFR &lt;45 mL/min/1.73 m²"), for a card's summary beside a
    /// long drug name; null when the reading is not a measurement (a condition, a pregnancy status). <see cref="Text"/>
    /// adds when and how it was measured.
    /// </summary>
    public string? Measured { get; init; }

    /// <summary>Whether <see cref="Value"/> is exact or the bound the source reported (an eGFR "&gt;60").</summary>
    public ValueBound Bound { get; init; }
}

/// <summary>The values HealthRec's medication-safety rules and risk estimates read from a patient's record at a date.</summary>
public static class PatientReadings
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>"Observations could not be read (why)" when the source's observations were unavailable, else null: what an estimate lacks.</summary>
    public static string? ObservationsUnavailable(PatientRecord record) =>
        record.Unavailable.TryGetValue("Observation", out var why) ? $"observations could not be read ({why})" : null;

    /// <summary>
    /// A result of <paramref name="analyte"/> newer than the last readable one (at <paramref name="readableAt"/>) that the
    /// record holds but could not read, worded as what an estimate lacks; null when there is none.
    /// </summary>
    public static string? NewerUnreadable(PatientRecord record, DateTimeOffset at, DateTimeOffset? readableAt, string analyte, string title) =>
        record.NewerUnread(at, readableAt, null, analyte) is { } unread ? $"a newer {title} could not be read: {unread.Why}" : null;

    /// <summary>How long a pregnancy recorded on the problem list (or a pregnancy status) is taken to last at most.</summary>
    public const int PregnancyDays = 300;

    /// <summary>The ages at which pregnancy is considered (childbearing potential).</summary>
    public const int PregnancyMinAge = 12;
    public const int PregnancyMaxAge = 55;

    /// <summary>
    /// The latest eGFR at or before <paramref name="at"/>: reported, read under the mL/min equivalence, or computed from a
    /// serum creatinine (CKD-EPI 2021). Unknown when there is none, when the latest is older than
    /// <paramref name="maxAgeDays"/>, or when a newer eGFR or creatinine could not be read.
    /// </summary>
    public static Reading Egfr(PatientRecord record, DateTimeOffset at, int maxAgeDays)
    {
        var latest = record.LatestOf(PatientRecordBuilder.Egfr, at);
        if (record.NewerUnread(at, latest?.At, maxAgeDays, PatientRecordBuilder.Egfr, PatientRecordBuilder.Creatinine)?.Why is { } unread)
        {
            return Reading.Unknown(unread);
        }

        if (latest is not { } egfr)
        {
            return record.LatestOf(PatientRecordBuilder.Creatinine, at) is { } creatinine
                ? Reading.Unknown($"serum creatinine {creatinine.Value:0.##} mg/dL on {Day(creatinine.At)} but no eGFR, which cannot be computed without {MissingForEgfr(record, creatinine.At)}",
                    "no eGFR, and none can be computed")
                : Reading.Unknown("no eGFR or serum creatinine recorded");
        }

        if (Stale(egfr.At, at, maxAgeDays) is { } old)
        {
            return Reading.Unknown($"the last eGFR ({egfr.Value:0} mL/min/1.73 m² on {Day(egfr.At)}) is {old}; this check needs one from the last {maxAgeDays} days",
                $"the last eGFR is {old}");
        }

        var measured = string.Create(Ci, $"eGFR {egfr.Comparator}{egfr.Value:0} mL/min/1.73 m²");
        return new Reading(egfr.Value, $"{measured} on {Day(egfr.At)}{HowRead(record, egfr)}") { Bound = egfr.Bound, Measured = measured };
    }

    /// <summary>
    /// How an eGFR came to be in the record, when not as reported — " (reported in mL/min and read as …)" or
    /// " (computed by HealthRec from serum creatinine …)" — so every use of it says so; empty when reported as is.
    /// </summary>
    internal static string HowRead(PatientRecord record, Measurement egfr) => egfr.Basis switch
    {
        ValueBasis.UnitEquivalence => " (reported in mL/min and read as mL/min/1.73 m²: the two differ by body surface area/1.73)",
        ValueBasis.Computed => record.LatestOf(PatientRecordBuilder.Creatinine, egfr.At) is { } scr && scr.At == egfr.At
            ? string.Create(Ci, $" (computed by HealthRec from serum creatinine {scr.Value:0.##} mg/dL with the CKD-EPI 2021 equation, age {record.AgeAt(egfr.At):0}, {Sexes(record.Sex)})")
            : " (computed by HealthRec from serum creatinine with the CKD-EPI 2021 equation)",
        _ => "",
    };

    /// <summary>
    /// Creatinine clearance by Cockcroft–Gault from the latest serum creatinine and weight (both within
    /// <paramref name="maxAgeDays"/>), age and sex; unknown, saying which is missing, when any is.
    /// </summary>
    public static Reading CreatinineClearance(PatientRecord record, DateTimeOffset at, int maxAgeDays)
    {
        var creatinine = record.LatestOf(PatientRecordBuilder.Creatinine, at);
        if (record.NewerUnread(at, creatinine?.At, maxAgeDays, PatientRecordBuilder.Creatinine)?.Why is { } unread)
        {
            return Reading.Unknown(unread);
        }

        if (creatinine is not { } scr)
        {
            return Reading.Unknown("no serum creatinine recorded, which creatinine clearance (Cockcroft–Gault) needs", "no serum creatinine recorded");
        }

        if (Stale(scr.At, at, maxAgeDays) is { } old)
        {
            return Reading.Unknown($"the last serum creatinine ({scr.Value:0.##} mg/dL on {Day(scr.At)}) is {old}; this check needs one from the last {maxAgeDays} days",
                $"the last serum creatinine is {old}");
        }

        var weight = record.LatestOf("weight", at);
        if (record.NewerUnread(at, weight?.At, maxAgeDays, "weight")?.Why is { } unreadWeight)
        {
            return Reading.Unknown(unreadWeight);
        }

        if (weight is not { } kg || Stale(kg.At, at, maxAgeDays) is not null)
        {
            return Reading.Unknown($"no body weight recorded in the last {maxAgeDays} days, which creatinine clearance (Cockcroft–Gault) needs",
                $"no body weight in the last {maxAgeDays} days");
        }

        if (record.AgeAt(at) is not { } age)
        {
            return Reading.Unknown("no birth date recorded, which creatinine clearance (Cockcroft–Gault) needs", "no birth date recorded");
        }

        if (record.Sex is not (Sex.Female or Sex.Male))
        {
            return Reading.Unknown("sex not recorded as female or male, which creatinine clearance (Cockcroft–Gault) needs", "no sex recorded as female or male");
        }

        // A creatinine reported as a bound bounds the clearance the other way (a creatinine "<0.5" gives a clearance above).
        var clearance = KidneyEquations.CockcroftGault(scr.Value, age, kg.Value, record.Sex == Sex.Female);
        var bound = scr.Bound.Inverted();
        var measured = string.Create(Ci, $"creatinine clearance {bound.Comparator()}{clearance:0} mL/min");
        return new Reading(clearance, string.Create(Ci,
            $"{measured} (Cockcroft–Gault: creatinine {scr.Comparator}{scr.Value:0.##} mg/dL on {Day(scr.At)}, weight {kg.Value:0.#} kg on {Day(kg.At)}, age {age:0}, {Sexes(record.Sex)})"))
        {
            Bound = bound,
            Measured = measured,
        };
    }

    /// <summary>The latest serum potassium within <paramref name="maxAgeDays"/>, or why not.</summary>
    public static Reading Potassium(PatientRecord record, DateTimeOffset at, int maxAgeDays)
    {
        var latest = record.LatestOf("potassium", at);
        if (record.NewerUnread(at, latest?.At, maxAgeDays, "potassium")?.Why is { } unread)
        {
            return Reading.Unknown(unread);
        }

        if (latest is not { } k)
        {
            return Reading.Unknown("no serum potassium recorded");
        }

        if (Stale(k.At, at, maxAgeDays) is { } old)
        {
            return Reading.Unknown(string.Create(Ci, $"the last potassium ({k.Value:0.0} mmol/L on {Day(k.At)}) is {old}; this check needs one from the last {maxAgeDays} days"),
                $"the last potassium is {old}");
        }

        var measured = string.Create(Ci, $"potassium {k.Comparator}{k.Value:0.0} mmol/L");
        return new Reading(k.Value, $"{measured} on {Day(k.At)}") { Bound = k.Bound, Measured = measured };
    }

    /// <summary>
    /// 1 when the patient is pregnant, 0 when not, or unknown. A man, or anyone outside ages 12–55, is not. Otherwise a
    /// pregnancy on the problem list that began within the last 300 days and is not resolved, or a pregnancy status
    /// (LOINC 82810-3) of the last 300 days, decides; with neither, pregnancy is taken as not recorded and so absent —
    /// the EHR's problem list is where a known pregnancy lives. Unknown when sex is not recorded as female or male, or
    /// when the latest pregnancy status says "unknown".
    /// </summary>
    public static Reading Pregnancy(PatientRecord record, DateTimeOffset at)
    {
        // A recorded pregnancy is a fact whatever the age or sex on file; the limits below only decide what can be ruled out.
        var since = at.AddDays(-PregnancyDays);
        var pregnancy = record.Conditions.LastOrDefault(c => c.Groups.Contains("pregnancy") && c.IsActiveAt(at) && c.Onset > since
            && c.ClinicalStatus is not ("resolved" or "inactive" or "remission"));
        if (pregnancy is not null)
        {
            return new Reading(1, $"pregnancy on the problem list since {Day(pregnancy.Onset!.Value)}");
        }

        var status = record.LatestOf("pregnancy_status", at);
        if (status is { Value: >= 1 } pregnant && pregnant.At > since)
        {
            return new Reading(1, $"pregnancy status 'pregnant' on {Day(pregnant.At)}");
        }

        if (record.Sex == Sex.Male)
        {
            return new Reading(0, "male");
        }

        if (record.AgeAt(at) is { } age && (age < PregnancyMinAge || age > PregnancyMaxAge))
        {
            return new Reading(0, string.Create(Ci, $"age {age:0}"));
        }

        if (record.Sex != Sex.Female)
        {
            return Reading.Unknown("sex is not recorded as female or male, so pregnancy cannot be ruled out");
        }

        var unknown = record.Unread.LastOrDefault(u => u.Subject == "pregnancy_status" && u.At is { } when && when <= at && when > since);
        if (unknown is not null && (status is null || unknown.At > status.Value.At))
        {
            return Reading.Unknown(unknown.Why);
        }

        return status is { } s && s.At > since
            ? new Reading(0, $"pregnancy status 'not pregnant' on {Day(s.At)}")
            : new Reading(0, "no pregnancy recorded");
    }

    internal static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", Ci);

    private static string Sexes(Sex sex) => sex == Sex.Female ? "female" : "male";

    private static string? Stale(DateTimeOffset measured, DateTimeOffset at, int maxAgeDays) =>
        (at - measured).TotalDays > maxAgeDays ? string.Create(Ci, $"{(at - measured).TotalDays:0} days old") : null;

    private static string MissingForEgfr(PatientRecord record, DateTimeOffset at) =>
        record.BirthDate is null ? "a birth date"
        : record.Sex is not (Sex.Female or Sex.Male) ? "a sex recorded as female or male"
        : record.AgeAt(at) < 18 ? "an adult equation (the patient was under 18)"
        : "a usable creatinine";
}

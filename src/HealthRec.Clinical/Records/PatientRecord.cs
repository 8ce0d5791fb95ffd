namespace HealthRec.Clinical.Records;

public enum Sex
{
    Unknown,
    Female,
    Male,
    Other,
}

/// <summary>How a value came to be in the record.</summary>
public enum ValueBasis : byte
{
    /// <summary>As the source reported it (converted between units of the same dimension if need be).</summary>
    Reported,

    /// <summary>Reported in a unit taken as the canonical one under a documented per-analyte equivalence (eGFR in mL/min).</summary>
    UnitEquivalence,

    /// <summary>Computed by HealthRec from other values (eGFR from serum creatinine, CKD-EPI 2021).</summary>
    Computed,
}

/// <summary>
/// Whether a value is exact or a bound the source reported it as (FHIR <c>Quantity.comparator</c>: an eGFR "&gt;60", a
/// creatinine "&lt;0.5"). The value is then the boundary: the closest the report states, which the features and
/// equations read; a safety threshold is judged against the whole range the bound allows.
/// </summary>
public enum ValueBound : byte
{
    Exact,

    /// <summary>Below the value (<c>&lt;</c>).</summary>
    Below,

    /// <summary>At or below the value (<c>&lt;=</c>).</summary>
    AtMost,

    /// <summary>At or above the value (<c>&gt;=</c>).</summary>
    AtLeast,

    /// <summary>Above the value (<c>&gt;</c>).</summary>
    Above,
}

/// <summary>One value of an analyte, in the analyte's canonical unit, and how it came to be.</summary>
public readonly record struct Measurement(DateTimeOffset At, double Value, bool Preliminary, ValueBasis Basis = ValueBasis.Reported,
    ValueBound Bound = ValueBound.Exact)
{
    /// <summary>The comparator a bound is written with (<c>&lt;</c>, <c>&lt;=</c>, <c>&gt;=</c>, <c>&gt;</c>); empty for an exact value.</summary>
    public string Comparator => Bound.Comparator();
}

public static class ValueBounds
{
    public static string Comparator(this ValueBound bound) => bound switch
    {
        ValueBound.Below => "<",
        ValueBound.AtMost => "<=",
        ValueBound.AtLeast => ">=",
        ValueBound.Above => ">",
        _ => "",
    };

    /// <summary>The bound of a value that falls as this one rises (creatinine to eGFR or clearance): below becomes above.</summary>
    public static ValueBound Inverted(this ValueBound bound) => bound switch
    {
        ValueBound.Below => ValueBound.Above,
        ValueBound.AtMost => ValueBound.AtLeast,
        ValueBound.AtLeast => ValueBound.AtMost,
        ValueBound.Above => ValueBound.Below,
        _ => ValueBound.Exact,
    };
}

/// <summary>A diagnosis, with the HealthRec condition groups its code belongs to (e.g. <c>t2d</c>, <c>ckd</c>).</summary>
public sealed record ConditionEntry(
    string System,
    string Code,
    ImmutableArray<string> Groups,
    DateTimeOffset? Onset,
    DateTimeOffset? Abatement,
    string? ClinicalStatus,
    string? VerificationStatus)
{
    /// <summary>
    /// Whether the condition had begun and not yet abated at <paramref name="at"/>. Decided from dates only:
    /// the clinical status is as of extraction, and using it for an earlier date would leak the future.
    /// </summary>
    public bool IsActiveAt(DateTimeOffset at) => Onset is { } onset && onset <= at && (Abatement is null || Abatement > at);
}

public enum MedicationSource
{
    Statement,
    Request,
}

/// <summary>A medicine the patient took or was prescribed, with the HealthRec classes it belongs to (e.g. <c>statin</c>).</summary>
public sealed record MedicationEntry(
    string System,
    string Code,
    string? Display,
    ImmutableArray<string> Classes,
    DateTimeOffset? Start,
    DateTimeOffset? End,
    string Status,
    MedicationSource Source)
{
    public bool IsActiveAt(DateTimeOffset at) => Start is { } start && start <= at && (End is null || End > at);
}

public sealed record EncounterEntry(DateTimeOffset Start, DateTimeOffset? End, string? Class)
{
    /// <summary>The encounter groups its <c>Encounter.type</c> codes belong to (a site's ValueSets <c>encounter-*</c>).</summary>
    public ImmutableArray<string> Groups { get; init; } = [];
}

/// <summary>A procedure done, with the procedure groups its code belongs to (ValueSets <c>procedure-*</c>).</summary>
public sealed record ProcedureEntry(string System, string Code, ImmutableArray<string> Groups, DateTimeOffset At);

/// <summary>
/// A patient's timeline as HealthRec's features see it: demographics, and the facts that map to known analytes,
/// condition groups and medication classes, each normalized and ordered by time. Immutable.
/// </summary>
public sealed class PatientRecord
{
    private static readonly ImmutableArray<Measurement> None = [];

    internal PatientRecord(
        string patientId,
        DateOnly? birthDate,
        Sex sex,
        DateTimeOffset? deceasedAt,
        bool deceased,
        FrozenDictionary<string, ImmutableArray<Measurement>> measurements,
        ImmutableArray<ConditionEntry> conditions,
        ImmutableArray<MedicationEntry> medications,
        ImmutableArray<EncounterEntry> encounters,
        ImmutableArray<AllergyEntry> allergies = default,
        ImmutableArray<UnreadFact> unread = default,
        ImmutableDictionary<string, string>? unavailable = null)
    {
        PatientId = patientId;
        BirthDate = birthDate;
        Sex = sex;
        DeceasedAt = deceasedAt;
        Deceased = deceased;
        Measurements = measurements;
        Conditions = conditions;
        Medications = medications;
        Encounters = encounters;
        Allergies = allergies.IsDefault ? [] : allergies;
        Unread = unread.IsDefault ? [] : unread;
        Unavailable = unavailable ?? ImmutableDictionary<string, string>.Empty;
        LastActivity = LatestDate();
    }

    public string PatientId { get; }

    public DateOnly? BirthDate { get; }

    public Sex Sex { get; }

    public DateTimeOffset? DeceasedAt { get; }

    public bool Deceased { get; }

    /// <summary>
    /// The OMB race category the record states (US Core race extension: one category's name, "More than one race" for
    /// several), or null when it states none or an unknown. Used to audit fairness, never as a model input.
    /// </summary>
    public string? Race { get; internal init; }

    /// <summary>The OMB ethnicity category the record states (US Core ethnicity extension), or null. Used to audit fairness, never as an input.</summary>
    public string? Ethnicity { get; internal init; }

    /// <summary>
    /// The condition groups of the recorded cause of death (an Observation LOINC 69453-9 with a coded value); null when
    /// no cause is recorded, empty when one is recorded that no group holds.
    /// </summary>
    public ImmutableArray<string>? DeathCauseGroups { get; internal init; }

    /// <summary>Measurements by analyte id, each list ordered by time.</summary>
    public FrozenDictionary<string, ImmutableArray<Measurement>> Measurements { get; }

    public ImmutableArray<ConditionEntry> Conditions { get; }

    public ImmutableArray<MedicationEntry> Medications { get; }

    public ImmutableArray<EncounterEntry> Encounters { get; }

    /// <summary>Procedures of a known group, ordered by time (not activity: they do not move <see cref="LastActivity"/>).</summary>
    public ImmutableArray<ProcedureEntry> Procedures { get; internal init; } = [];

    /// <summary>Allergies and intolerances as recorded (entered-in-error and refuted ones left out).</summary>
    public ImmutableArray<AllergyEntry> Allergies { get; }

    /// <summary>Facts the source holds that could not be read (see <see cref="UnreadFact"/>).</summary>
    public ImmutableArray<UnreadFact> Unread { get; }

    /// <summary>
    /// Lists the source could not give at all, by FHIR resource type (e.g. <c>AllergyIntolerance</c>: "not prefetched,
    /// and the call gives no fhirServer"): an empty list there means "not read", never "none recorded".
    /// </summary>
    public ImmutableDictionary<string, string> Unavailable { get; }

    /// <summary>The latest date anywhere in the record: the default index date.</summary>
    public DateTimeOffset? LastActivity { get; }

    public ImmutableArray<Measurement> MeasurementsOf(string analyte) => Measurements.GetValueOrDefault(analyte, None);

    /// <summary>The last value of <paramref name="analyte"/> on or before <paramref name="at"/> (final results only when asked), or null.</summary>
    public Measurement? LatestOf(string analyte, DateTimeOffset at, bool finalOnly = false)
    {
        var values = MeasurementsOf(analyte);
        for (var i = values.Length - 1; i >= 0; i--)
        {
            if (values[i].At <= at && !(finalOnly && values[i].Preliminary))
            {
                return values[i];
            }
        }

        return null;
    }

    /// <summary>
    /// The newest fact of these analytes the source held but could not read, dated on or before <paramref name="at"/>,
    /// after <paramref name="readableAt"/> (the last readable value's date) and, when given, within
    /// <paramref name="maxAgeDays"/>: what stands newer than what a check or an estimate could read.
    /// </summary>
    public UnreadFact? NewerUnread(DateTimeOffset at, DateTimeOffset? readableAt, int? maxAgeDays, params string[] analytes)
    {
        UnreadFact? newest = null;
        foreach (var fact in Unread)
        {
            if (fact.At is { } when && when <= at && (maxAgeDays is null || (at - when).TotalDays <= maxAgeDays) && (readableAt is null || when > readableAt)
                && analytes.Contains(fact.Subject, StringComparer.Ordinal))
            {
                newest = fact;
            }
        }

        return newest;
    }

    /// <summary>The same record without the medications <paramref name="drop"/> selects (e.g. what was prescribed at a visit, to see the visit as the prescriber did).</summary>
    public PatientRecord WithoutMedications(Func<MedicationEntry, bool> drop) => With(Measurements, [.. Medications.Where(m => !drop(m))]);

    /// <summary>The same record with <paramref name="added"/> medications too (e.g. draft orders, as if signed).</summary>
    public PatientRecord WithMedications(IEnumerable<MedicationEntry> added) => With(Measurements, [.. Medications, .. added]);

    /// <summary>
    /// The same record with one more measurement of <paramref name="analyte"/> (e.g. "what if today's blood pressure
    /// were 130"): the featurizer then sees it as the latest value, and in every window it falls in.
    /// </summary>
    public PatientRecord WithMeasurement(string analyte, Measurement measurement)
    {
        var values = MeasurementsOf(analyte).Add(measurement).OrderBy(m => m.At).ThenBy(m => m.Value).ThenBy(m => m.Preliminary).ToImmutableArray();
        var measurements = Measurements.Where(kv => kv.Key != analyte).Append(new(analyte, values)).ToFrozenDictionary(StringComparer.Ordinal);
        return With(measurements, Medications);
    }

    private PatientRecord With(FrozenDictionary<string, ImmutableArray<Measurement>> measurements, ImmutableArray<MedicationEntry> medications) =>
        new(PatientId, BirthDate, Sex, DeceasedAt, Deceased, measurements, Conditions, medications, Encounters, Allergies, Unread, Unavailable)
        {
            Procedures = Procedures,
            DeathCauseGroups = DeathCauseGroups,
        };

    /// <summary>Days from the analyte's last value at or before <paramref name="at"/> to <paramref name="at"/>; NaN when there is none.</summary>
    public double DaysSinceLast(string analyte, DateTimeOffset at)
    {
        var days = double.NaN;
        foreach (var m in MeasurementsOf(analyte))
        {
            if (m.At <= at)
            {
                days = (at - m.At).TotalDays;
            }
        }

        return days;
    }

    /// <summary>Whether a condition of <paramref name="group"/> is active at <paramref name="at"/>.</summary>
    public bool HasActiveCondition(string group, DateTimeOffset at) => Conditions.Any(c => c.Groups.Contains(group) && c.IsActiveAt(at));

    /// <summary>Whether a condition of <paramref name="group"/> began on or before <paramref name="at"/> (a history, resolved or not).</summary>
    public bool HadCondition(string group, DateTimeOffset at) => Conditions.Any(c => c.Groups.Contains(group) && c.Onset <= at);

    /// <summary>Whether a medication of <paramref name="medicationClass"/> is active at <paramref name="at"/>.</summary>
    public bool Takes(string medicationClass, DateTimeOffset at) => Medications.Any(m => m.Classes.Contains(medicationClass) && m.IsActiveAt(at));

    /// <summary>Whether a medication of one of <paramref name="classes"/> is active at <paramref name="at"/>.</summary>
    public bool TakesAnyOf(IReadOnlySet<string> classes, DateTimeOffset at) => Medications.Any(m => m.IsActiveAt(at) && m.Classes.Any(classes.Contains));

    /// <summary>Whole years of age at a date, or null without a birth date or before it (a birth date entered wrong).</summary>
    public double? AgeAt(DateTimeOffset at)
    {
        var date = DateOnly.FromDateTime(at.UtcDateTime);
        if (BirthDate is not { } birth || date < birth)
        {
            return null;
        }

        var years = date.Year - birth.Year;
        if (date < birth.AddYears(years))
        {
            years--;
        }

        return years;
    }

    /// <summary>The first encounter or measurement: when the record begins (a condition's onset may be history told later).</summary>
    public DateTimeOffset? FirstActivity()
    {
        DateTimeOffset? first = null;
        foreach (var encounter in Encounters)
        {
            if (first is null || encounter.Start < first)
            {
                first = encounter.Start;
            }
        }

        foreach (var list in Measurements.Values)
        {
            if (!list.IsEmpty && (first is null || list[0].At < first))
            {
                first = list[0].At;
            }
        }

        return first;
    }

    private DateTimeOffset? LatestDate()
    {
        DateTimeOffset? latest = null;
        void Consider(DateTimeOffset? value)
        {
            if (value is { } v && (latest is null || v > latest))
            {
                latest = v;
            }
        }

        foreach (var list in Measurements.Values)
        {
            if (!list.IsEmpty)
            {
                Consider(list[^1].At);
            }
        }

        foreach (var condition in Conditions)
        {
            Consider(condition.Onset);
            Consider(condition.Abatement);
        }

        foreach (var medication in Medications)
        {
            Consider(medication.Start);
        }

        foreach (var encounter in Encounters)
        {
            Consider(encounter.End ?? encounter.Start);
        }

        return latest;
    }
}

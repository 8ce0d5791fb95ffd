using System.Collections.Frozen;
using System.Collections.Immutable;

namespace HealthRec.Clinical.Records;

public enum Sex
{
    Unknown,
    Female,
    Male,
    Other,
}

/// <summary>One value of an analyte, in the analyte's canonical unit.</summary>
public readonly record struct Measurement(DateTimeOffset At, double Value, bool Preliminary);

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

public sealed record EncounterEntry(DateTimeOffset Start, DateTimeOffset? End, string? Class);

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
        ImmutableArray<EncounterEntry> encounters)
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
        LastActivity = LatestDate();
    }

    public string PatientId { get; }

    public DateOnly? BirthDate { get; }

    public Sex Sex { get; }

    public DateTimeOffset? DeceasedAt { get; }

    public bool Deceased { get; }

    /// <summary>Measurements by analyte id, each list ordered by time.</summary>
    public FrozenDictionary<string, ImmutableArray<Measurement>> Measurements { get; }

    public ImmutableArray<ConditionEntry> Conditions { get; }

    public ImmutableArray<MedicationEntry> Medications { get; }

    public ImmutableArray<EncounterEntry> Encounters { get; }

    /// <summary>The latest date anywhere in the record: the default index date.</summary>
    public DateTimeOffset? LastActivity { get; }

    public ImmutableArray<Measurement> MeasurementsOf(string analyte) => Measurements.GetValueOrDefault(analyte, None);

    /// <summary>The same record without the medications <paramref name="drop"/> selects (e.g. what was prescribed at a visit, to see the visit as the prescriber did).</summary>
    public PatientRecord WithoutMedications(Func<MedicationEntry, bool> drop) =>
        new(PatientId, BirthDate, Sex, DeceasedAt, Deceased, Measurements, Conditions, [.. Medications.Where(m => !drop(m))], Encounters);

    /// <summary>The same record with <paramref name="added"/> medications too (e.g. draft orders, as if signed).</summary>
    public PatientRecord WithMedications(IEnumerable<MedicationEntry> added) =>
        new(PatientId, BirthDate, Sex, DeceasedAt, Deceased, Measurements, Conditions, [.. Medications, .. added], Encounters);

    /// <summary>
    /// The same record with one more measurement of <paramref name="analyte"/> (e.g. "what if today's blood pressure
    /// were 130"): the featurizer then sees it as the latest value, and in every window it falls in.
    /// </summary>
    public PatientRecord WithMeasurement(string analyte, Measurement measurement)
    {
        var values = MeasurementsOf(analyte).Add(measurement).OrderBy(m => m.At).ThenBy(m => m.Value).ThenBy(m => m.Preliminary).ToImmutableArray();
        var measurements = Measurements.Where(kv => kv.Key != analyte).Append(new(analyte, values)).ToFrozenDictionary(StringComparer.Ordinal);
        return new(PatientId, BirthDate, Sex, DeceasedAt, Deceased, measurements, Conditions, Medications, Encounters);
    }

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

    /// <summary>Whole years of age at a date, or null without a birth date.</summary>
    public double? AgeAt(DateTimeOffset at)
    {
        if (BirthDate is not { } birth)
        {
            return null;
        }

        var date = DateOnly.FromDateTime(at.UtcDateTime);
        var years = date.Year - birth.Year;
        if (date < birth.AddYears(years))
        {
            years--;
        }

        return years;
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

/// <summary>Collects one patient's facts in any order, then builds the ordered, immutable record.</summary>
public sealed class PatientRecordBuilder(string patientId)
{
    private readonly Dictionary<string, List<Measurement>> _measurements = new(StringComparer.Ordinal);
    private readonly List<ConditionEntry> _conditions = [];
    private readonly List<MedicationEntry> _medications = [];
    private readonly List<EncounterEntry> _encounters = [];

    public string PatientId { get; } = patientId;

    public DateOnly? BirthDate { get; set; }

    public Sex Sex { get; set; }

    public DateTimeOffset? DeceasedAt { get; set; }

    public bool Deceased { get; set; }

    /// <summary>Whether a Patient resource was seen for this id (clinical resources may arrive first).</summary>
    public bool HasDemographics { get; set; }

    public void Add(string analyte, Measurement measurement)
    {
        if (!_measurements.TryGetValue(analyte, out var list))
        {
            _measurements[analyte] = list = [];
        }

        list.Add(measurement);
    }

    public void Add(ConditionEntry condition) => _conditions.Add(condition);

    public void Add(MedicationEntry medication) => _medications.Add(medication);

    public void Add(EncounterEntry encounter) => _encounters.Add(encounter);

    public PatientRecord Build() => new(
        PatientId,
        BirthDate,
        Sex,
        DeceasedAt,
        Deceased,
        // Stable, total order: by time, then value, so that the same facts in any input order give one record.
        _measurements.ToFrozenDictionary(
            kv => kv.Key,
            kv => kv.Value.OrderBy(m => m.At).ThenBy(m => m.Value).ThenBy(m => m.Preliminary).ToImmutableArray(),
            StringComparer.Ordinal),
        [.. _conditions.OrderBy(c => c.Onset).ThenBy(c => c.System, StringComparer.Ordinal).ThenBy(c => c.Code, StringComparer.Ordinal)],
        [.. _medications.OrderBy(m => m.Start).ThenBy(m => m.Code, StringComparer.Ordinal).ThenBy(m => m.Source)],
        [.. _encounters.OrderBy(e => e.Start).ThenBy(e => e.End)]);
}

namespace HealthRec.Clinical.Records;

/// <summary>Collects one patient's facts in any order, then builds the ordered, immutable record.</summary>
public sealed class PatientRecordBuilder(string patientId)
{
    /// <summary>The analyte ids the builder computes eGFR from and into.</summary>
    public const string Egfr = "egfr";
    public const string Creatinine = "creatinine";

    private readonly Dictionary<string, List<Measurement>> _measurements = new(StringComparer.Ordinal);
    private readonly List<ConditionEntry> _conditions = [];
    private readonly List<MedicationEntry> _medications = [];
    private readonly List<EncounterEntry> _encounters = [];
    private readonly List<ProcedureEntry> _procedures = [];
    private readonly List<AllergyEntry> _allergies = [];
    private readonly List<UnreadFact> _unread = [];
    private readonly Dictionary<string, string> _unavailable = new(StringComparer.Ordinal);

    public string PatientId { get; } = patientId;

    public DateOnly? BirthDate { get; set; }

    public Sex Sex { get; set; }

    public DateTimeOffset? DeceasedAt { get; set; }

    public bool Deceased { get; set; }

    /// <summary>The OMB race category stated by the record (see <see cref="PatientRecord.Race"/>).</summary>
    public string? Race { get; set; }

    /// <summary>The OMB ethnicity category stated by the record.</summary>
    public string? Ethnicity { get; set; }

    private SortedSet<string>? _deathCauses;

    /// <summary>Records a cause of death and the condition groups its code belongs to (possibly none).</summary>
    public void AddDeathCause(IEnumerable<string> groups)
    {
        _deathCauses ??= new SortedSet<string>(StringComparer.Ordinal);
        _deathCauses.UnionWith(groups);
    }

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

    public void Add(ProcedureEntry procedure) => _procedures.Add(procedure);

    public void Add(AllergyEntry allergy) => _allergies.Add(allergy);

    public void Add(UnreadFact fact) => _unread.Add(fact);

    /// <summary>Records that the source could not give this resource type's list at all, and why.</summary>
    public void Unavailable(string resourceType, string why) => _unavailable[resourceType] = why;

    /// <summary>
    /// The record. Each serum creatinine without an eGFR reported on the same day (UTC) gets an eGFR computed with the
    /// race-free CKD-EPI 2021 equation, from the patient's age on that day and sex, marked <see cref="ValueBasis.Computed"/>;
    /// not for children (the equation is for adults) nor without a birth date or a female or male sex. Each computed
    /// value is counted in <paramref name="report"/>.
    /// </summary>
    public PatientRecord Build(Ingestion.IngestionReport? report = null)
    {
        ComputeEgfr(report);
        var record = new PatientRecord(
            PatientId,
            BirthDate,
            Sex,
            DeceasedAt,
            Deceased,
            // Stable, total order: by time, then value, so that the same facts in any input order give one record.
            _measurements.ToFrozenDictionary(
                kv => kv.Key,
                kv => kv.Value.OrderBy(m => m.At).ThenBy(m => m.Value).ThenBy(m => m.Preliminary).ThenBy(m => m.Basis).ThenBy(m => m.Bound).ToImmutableArray(),
                StringComparer.Ordinal),
            [.. _conditions.OrderBy(c => c.Onset).ThenBy(c => c.System, StringComparer.Ordinal).ThenBy(c => c.Code, StringComparer.Ordinal)],
            [.. _medications.OrderBy(m => m.Start).ThenBy(m => m.Code, StringComparer.Ordinal).ThenBy(m => m.Source)],
            [.. _encounters.OrderBy(e => e.Start).ThenBy(e => e.End)],
            [.. _allergies.OrderBy(a => a.RecordedAt).ThenBy(a => a.Where, StringComparer.Ordinal)],
            [.. _unread.OrderBy(u => u.At).ThenBy(u => u.Subject, StringComparer.Ordinal).ThenBy(u => u.Where, StringComparer.Ordinal)],
            _unavailable.ToImmutableDictionary(StringComparer.Ordinal))
        {
            Procedures = [.. _procedures.OrderBy(p => p.At).ThenBy(p => p.System, StringComparer.Ordinal).ThenBy(p => p.Code, StringComparer.Ordinal)],
            DeathCauseGroups = _deathCauses is null ? null : [.. _deathCauses],
            Race = Race,
            Ethnicity = Ethnicity,
        };
        // A birth date after the record's first activity is an error in one of them: no age is given before it.
        if (BirthDate is { } birth && record.FirstActivity() is { } first && DateOnly.FromDateTime(first.UtcDateTime) < birth)
        {
            report?.Problem(Ingestion.ProblemKind.ImplausibleValue, $"Patient/{PatientId}",
                string.Create(CultureInfo.InvariantCulture, $"birth date {birth:yyyy-MM-dd} is after the record's first activity on {first.UtcDateTime:yyyy-MM-dd}: no age is given before it"));
        }

        return record;
    }

    private void ComputeEgfr(Ingestion.IngestionReport? report)
    {
        if (!_measurements.TryGetValue(Creatinine, out var creatinine) || BirthDate is not { } birth || Sex is not (Sex.Female or Sex.Male))
        {
            return;
        }

        var reportedDays = _measurements.TryGetValue(Egfr, out var egfr)
            ? egfr.Where(m => m.Basis != ValueBasis.Computed).Select(m => DateOnly.FromDateTime(m.At.UtcDateTime)).ToHashSet()
            : [];
        foreach (var value in creatinine)
        {
            var day = DateOnly.FromDateTime(value.At.UtcDateTime);
            var age = day.Year - birth.Year - (day < birth.AddYears(day.Year - birth.Year) ? 1 : 0);
            if (age < 18 || !reportedDays.Add(day))
            {
                continue;
            }

            var computed = Kidney.KidneyEquations.CkdEpi2021(value.Value, age, Sex == Sex.Female);
            Add(Egfr, new Measurement(value.At, Math.Round(computed, 1), value.Preliminary, ValueBasis.Computed, value.Bound.Inverted()));
            report?.Noted(Ingestion.IngestionReport.EgfrComputed);
        }
    }
}

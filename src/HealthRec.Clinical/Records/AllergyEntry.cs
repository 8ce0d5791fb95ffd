namespace HealthRec.Clinical.Records;

/// <summary>A code as a source sent it: system, code and the display it came with.</summary>
public readonly record struct CodedValue(string System, string Code, string? Display);

/// <summary>
/// An allergy or intolerance as recorded (FHIR AllergyIntolerance): the substance's codes and text as sent (the
/// medication-safety check resolves them to ingredients and classes), and the statuses that decide whether it counts.
/// Entered-in-error and refuted entries never reach the record.
/// </summary>
public sealed record AllergyEntry(
    string Where,
    ImmutableArray<CodedValue> Codes,
    string? Text,
    ImmutableArray<string> Categories,
    string? Type,
    string? Criticality,
    string? ClinicalStatus,
    string? VerificationStatus,
    DateTimeOffset? RecordedAt)
{
    /// <summary>
    /// Whether it counts today: active, or with no clinical status at all (read as active: an allergy whose status is
    /// not given is not taken to be over). Inactive and resolved allergies do not count.
    /// </summary>
    public bool IsActive => ClinicalStatus is null or "active";

    public bool Unconfirmed => VerificationStatus is "unconfirmed" or "presumed";

    /// <summary>Could be about a medicine: its category says medication, or gives none.</summary>
    public bool MayBeMedication => Categories.IsEmpty || Categories.Contains("medication");

    /// <summary>What the record calls the substance: its text, else the first display, else the first code.</summary>
    public string Name => Text ?? Codes.Select(c => c.Display).FirstOrDefault(d => !string.IsNullOrWhiteSpace(d))
        ?? (Codes.IsEmpty ? "an unnamed substance" : $"{Codes[0].System}|{Codes[0].Code}");
}

/// <summary>
/// A fact the source holds that HealthRec could not read (an eGFR in a unit it cannot compare, a medicine with no
/// readable code or name, a pregnancy status recorded as unknown). Kept so that a safety check can say what it could not
/// see, rather than read the gap as "nothing recorded". <see cref="Subject"/> is an analyte id, <c>medication</c> or
/// <c>allergy</c>; <see cref="Where"/> is the resource's type and id, never its content.
/// </summary>
public sealed record UnreadFact(string Subject, DateTimeOffset? At, string Where, string Why);

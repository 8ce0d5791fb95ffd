using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Ingestion;

/// <summary>
/// Everything a source found for one patient: the resources, and where they came from (for reports).
/// <see cref="PatientKey"/> is the patient's id as the source's references name it.
/// </summary>
public sealed record PatientResources(string PatientKey, IReadOnlyList<Resource> Resources, string Origin)
{
    /// <summary>
    /// Resource types whose list the source could not give (a search refused, a prefetch key neither sent nor fetchable),
    /// each with why: the record then says the list is unavailable rather than empty.
    /// </summary>
    public IReadOnlyDictionary<string, string> Unavailable { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The FHIR server refused the caller's token: the patient read answered 401 or 403, or a search 401 (a 403 on one
    /// search is that type not permitted, and only makes its list unavailable).
    /// </summary>
    public bool Refused { get; init; }
}

/// <summary>Reads the patient a reference points at, however the source writes it.</summary>
public static class PatientReference
{
    /// <summary>
    /// The patient id in <c>Patient/123</c>, <c>https://server/fhir/Patient/123</c>, <c>Patient/123/_history/2</c>
    /// or <c>urn:uuid:abc</c>; null for a reference to anything else.
    /// </summary>
    public static string? KeyOf(string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            return null;
        }

        if (reference.StartsWith("urn:uuid:", StringComparison.OrdinalIgnoreCase))
        {
            return reference["urn:uuid:".Length..];
        }

        var at = reference.LastIndexOf("Patient/", StringComparison.Ordinal);
        if (at < 0 || (at > 0 && reference[at - 1] != '/'))
        {
            return null;
        }

        var id = reference[(at + "Patient/".Length)..];
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        return slash >= 0 ? id[..slash] : id;
    }

    /// <summary>The patient a clinical resource is about, or null when it names none.</summary>
    public static string? SubjectKeyOf(Resource resource) => resource switch
    {
        Patient patient => patient.Id,
        Observation o => KeyOf(o.Subject?.Reference),
        Condition c => KeyOf(c.Subject?.Reference),
        MedicationStatement s => KeyOf(s.Subject?.Reference),
        MedicationRequest r => KeyOf(r.Subject?.Reference),
        Encounter e => KeyOf(e.Subject?.Reference),
        QuestionnaireResponse q => KeyOf(q.Subject?.Reference),
        DiagnosticReport d => KeyOf(d.Subject?.Reference),
        AllergyIntolerance a => KeyOf(a.Patient?.Reference),
        Procedure p => KeyOf(p.Subject?.Reference),
        _ => null,
    };

    /// <summary>Whether HealthRec reads this type of resource into a patient record.</summary>
    public static bool IsRead(Resource resource) => resource is Patient or Observation or Condition or MedicationStatement
        or MedicationRequest or Encounter or QuestionnaireResponse or DiagnosticReport or AllergyIntolerance or Procedure;
}

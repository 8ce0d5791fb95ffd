namespace HealthRec.Fhir.Synthetic;

/// <summary>The FHIR resource types the generator writes, in the order a Bundle lists them.</summary>
public enum SyntheticType
{
    Patient,
    Encounter,
    Condition,
    Observation,
    QuestionnaireResponse,
    MedicationStatement,
    MedicationRequest,
    ServiceRequest,
    Procedure,
}

/// <summary>Where the writer puts resources: an NDJSON line per resource, or entries of a patient's Bundle.</summary>
internal interface IResourceSink
{
    /// <summary>Starts a resource; the writer writes its object (from <c>{</c> to <c>}</c>) to the returned writer.</summary>
    Utf8JsonWriter Begin(SyntheticType type, string id);

    void End(SyntheticType type);

    /// <summary>How to refer to a resource of this patient: <c>Patient/1</c>, or <c>urn:uuid:1</c> inside a Bundle.</summary>
    string Reference(SyntheticType type, string id);

    void Injected(SyntheticType type, string id, string patientId, InjectedError error);
}

/// <summary>
/// Writes a simulated patient as FHIR R4 JSON straight to UTF-8 (no object model: the generator must write hundreds of
/// thousands of resources a second). Every resource carries the HL7 "test health data" tag (<c>HTEST</c>) that marks
/// it synthetic, and uses real code systems: LOINC, SNOMED CT, ICD-10-CM, RxNorm and UCUM.
/// </summary>
internal sealed partial class SyntheticFhirWriter(DateTimeOffset recordEnd)
{
    private const string MrnSystem = "https://example.org/healthrec/synthetic-mrn";

    private static readonly string[] TypeNames = Enum.GetNames<SyntheticType>();

    private readonly List<string> _encounterIds = [];
    private readonly List<string> _encounterReferences = [];
    private readonly byte[] _dateBuffer = new byte[32];

    public void Write(SyntheticPatient patient, SyntheticRandom ids, IResourceSink sink)
    {
        var patientId = patient.Id.ToString();
        _encounterIds.Clear();
        _encounterReferences.Clear();
        foreach (var _ in patient.Encounters)
        {
            var encounterId = ids.Uuid().ToString();
            _encounterIds.Add(encounterId);
            _encounterReferences.Add(sink.Reference(SyntheticType.Encounter, encounterId));
        }

        WritePatient(patient, patientId, sink);
        var subject = sink.Reference(SyntheticType.Patient, patientId);
        for (var i = 0; i < patient.Encounters.Count; i++)
        {
            // A readmission drawn at discharge that the patient did not live to start.
            if (patient.DeceasedAt is { } died && patient.Encounters[i].Start > died)
            {
                continue;
            }

            WriteEncounter(patient, patient.Encounters[i], _encounterIds[i], subject, sink);
        }

        foreach (var condition in patient.Conditions)
        {
            WriteCondition(patient, condition, ids.Uuid().ToString(), subject, sink);
        }

        foreach (var observation in patient.Observations)
        {
            WriteObservation(patient, observation, ids.Uuid().ToString(), patientId, subject, sink);
        }

        foreach (var survey in patient.Surveys)
        {
            WriteSurvey(patient, survey, ids.Uuid().ToString(), subject, sink);
        }

        foreach (var medication in patient.Medications)
        {
            WriteMedication(patient, medication, ids.Uuid().ToString(), subject, sink);
        }

        foreach (var procedure in patient.Procedures)
        {
            WriteProcedure(patient, procedure, ids.Uuid().ToString(), subject, sink);
        }
    }

    private static void Start(Utf8JsonWriter w, SyntheticType type, string id)
    {
        w.WriteStartObject();
        w.WriteString("resourceType"u8, TypeNames[(int)type]);
        w.WriteString("id"u8, id);
        w.WriteStartObject("meta"u8);
        w.WriteStartArray("tag"u8);
        w.WriteStartObject();
        w.WriteString("system"u8, "http://terminology.hl7.org/CodeSystem/v3-ActReason"u8);
        w.WriteString("code"u8, "HTEST"u8);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WritePatient(SyntheticPatient p, string id, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.Patient, id);
        Start(w, SyntheticType.Patient, id);
        w.WriteStartArray("extension"u8);
        var (raceCode, raceDisplay) = p.Race switch
        {
            Race.White => ("2106-3", "White"),
            Race.Black => ("2054-5", "Black or African American"),
            Race.Asian => ("2028-9", "Asian"),
            Race.AmericanIndian => ("1002-5", "American Indian or Alaska Native"),
            _ => ((string?)null, "Other"),
        };
        OmbExtension(w, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", raceCode, raceDisplay);
        OmbExtension(w, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
            p.Hispanic ? "2135-2" : "2186-5", p.Hispanic ? "Hispanic or Latino" : "Not Hispanic or Latino");
        w.WriteEndArray();
        w.WriteStartArray("identifier"u8);
        w.WriteStartObject();
        w.WriteString("system"u8, MrnSystem);
        w.WriteString("value"u8, string.Create(CultureInfo.InvariantCulture, $"SYN{p.Number:D8}"));
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartArray("name"u8);
        w.WriteStartObject();
        w.WriteString("use"u8, "official"u8);
        w.WriteString("family"u8, p.Family);
        w.WriteStartArray("given"u8);
        w.WriteStringValue(p.Given);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("gender"u8, p.Sex == Sex.Female ? "female"u8 : "male"u8);
        w.WriteString("birthDate"u8, p.BirthDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (p.DeceasedAt is { } died)
        {
            WriteDate(w, "deceasedDateTime"u8, died, p.Site);
        }

        w.WriteStartObject("managingOrganization"u8);
        w.WriteString("display"u8, p.Site.Name);
        w.WriteEndObject();
        w.WriteEndObject();
        sink.End(SyntheticType.Patient);
    }

    private static void OmbExtension(Utf8JsonWriter w, string url, string? code, string text)
    {
        w.WriteStartObject();
        w.WriteString("url"u8, url);
        w.WriteStartArray("extension"u8);
        if (code is not null)
        {
            w.WriteStartObject();
            w.WriteString("url"u8, "ombCategory"u8);
            w.WriteStartObject("valueCoding"u8);
            w.WriteString("system"u8, "urn:oid:2.16.840.1.113883.6.238"u8);
            w.WriteString("code"u8, code);
            w.WriteString("display"u8, text);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteStartObject();
        w.WriteString("url"u8, "text"u8);
        w.WriteString("valueString"u8, text);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteEncounter(SyntheticPatient p, SimEncounter e, string id, string subject, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.Encounter, id);
        Start(w, SyntheticType.Encounter, id);
        var inProgress = e.End > recordEnd || (p.DeceasedAt is { } died && e.End > died);
        w.WriteString("status"u8, inProgress ? "in-progress"u8 : "finished"u8);
        w.WriteStartObject("class"u8);
        w.WriteString("system"u8, "http://terminology.hl7.org/CodeSystem/v3-ActCode"u8);
        if (e.Kind == EncounterKind.Admission)
        {
            w.WriteString("code"u8, "IMP"u8);
            w.WriteString("display"u8, "inpatient encounter"u8);
        }
        else
        {
            w.WriteString("code"u8, "AMB"u8);
            w.WriteString("display"u8, "ambulatory"u8);
        }

        w.WriteEndObject();
        w.WriteStartArray("type"u8);
        var (code, display) = e.Kind switch
        {
            EncounterKind.CheckUp => ("185349003", "Encounter for check up (procedure)"),
            EncounterKind.FollowUp => ("185347001", "Encounter for problem (procedure)"),
            _ => ("32485007", "Hospital admission (procedure)"),
        };
        Concept(w, CodeSystems.Snomed, code, display, null);
        w.WriteEndArray();
        Reference(w, "subject"u8, subject);
        w.WriteStartObject("period"u8);
        WriteDate(w, "start"u8, e.Start, p.Site);
        if (!inProgress)
        {
            WriteDate(w, "end"u8, e.End, p.Site);
        }

        w.WriteEndObject();
        w.WriteStartObject("serviceProvider"u8);
        w.WriteString("display"u8, p.Site.Name);
        w.WriteEndObject();
        w.WriteEndObject();
        sink.End(SyntheticType.Encounter);
    }

    private void WriteCondition(SyntheticPatient p, SimCondition c, string id, string subject, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.Condition, id);
        Start(w, SyntheticType.Condition, id);
        w.WritePropertyName("clinicalStatus"u8);
        Concept(w, "http://terminology.hl7.org/CodeSystem/condition-clinical", c.Abatement is null ? "active" : "resolved", null, null);
        w.WritePropertyName("verificationStatus"u8);
        Concept(w, "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", null, null);
        w.WriteStartArray("category"u8);
        var acute = c.Kind is ConditionKind.MyocardialInfarction or ConditionKind.Stroke or ConditionKind.HeartFailure
            && c.Encounter >= 0 && p.Encounters[c.Encounter].Kind == EncounterKind.Admission;
        Concept(w, "http://terminology.hl7.org/CodeSystem/condition-category", acute ? "encounter-diagnosis" : "problem-list-item",
            acute ? "Encounter Diagnosis" : "Problem List Item", null);
        w.WriteEndArray();
        var (snomed, snomedDisplay, icd, icdDisplay) = SyntheticCodes.Condition(c.Kind);
        w.WriteStartObject("code"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, CodeSystems.Snomed, snomed, snomedDisplay);
        Coding(w, CodeSystems.Icd10Cm, icd, icdDisplay);
        w.WriteEndArray();
        w.WriteString("text"u8, icdDisplay);
        w.WriteEndObject();
        Reference(w, "subject"u8, subject);
        if (c.Encounter >= 0)
        {
            Reference(w, "encounter"u8, _encounterReferences[c.Encounter]);
        }

        WriteDate(w, "onsetDateTime"u8, c.Onset, p.Site);
        if (c.Abatement is { } abated)
        {
            WriteDate(w, "abatementDateTime"u8, abated, p.Site);
        }

        WriteDate(w, "recordedDate"u8, c.Recorded, p.Site);
        w.WriteEndObject();
        sink.End(SyntheticType.Condition);
    }
}

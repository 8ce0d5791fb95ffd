using System.Globalization;
using System.Text.Json;
using HealthRec.Clinical.Records;
using HealthRec.Clinical.Terminology;

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
internal sealed class SyntheticFhirWriter(DateTimeOffset recordEnd)
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
        w.WriteStartObject("clinicalStatus"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, "http://terminology.hl7.org/CodeSystem/condition-clinical", c.Abatement is null ? "active" : "resolved", null);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("verificationStatus"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", null);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("category"u8);
        var acute = c.Kind is ConditionKind.MyocardialInfarction or ConditionKind.Stroke or ConditionKind.HeartFailure
            && c.Encounter >= 0 && p.Encounters[c.Encounter].Kind == EncounterKind.Admission;
        Concept(w, "http://terminology.hl7.org/CodeSystem/condition-category", acute ? "encounter-diagnosis" : "problem-list-item",
            acute ? "Encounter Diagnosis" : "Problem List Item", null);
        w.WriteEndArray();
        var (snomed, snomedDisplay, icd, icdDisplay) = ConditionCodes(c.Kind);
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

    private static (string Snomed, string SnomedDisplay, string Icd, string IcdDisplay) ConditionCodes(ConditionKind kind) => kind switch
    {
        ConditionKind.Prediabetes => ("714628002", "Prediabetes (finding)", "R73.03", "Prediabetes"),
        ConditionKind.Type2Diabetes => ("44054006", "Diabetes mellitus type 2 (disorder)", "E11.9", "Type 2 diabetes mellitus without complications"),
        ConditionKind.Hypertension => ("59621000", "Essential hypertension (disorder)", "I10", "Essential (primary) hypertension"),
        ConditionKind.Hyperlipidaemia => ("55822004", "Hyperlipidemia (disorder)", "E78.5", "Hyperlipidemia, unspecified"),
        ConditionKind.CkdStage3 => ("433144002", "Chronic kidney disease stage 3 (disorder)", "N18.30", "Chronic kidney disease, stage 3 unspecified"),
        ConditionKind.CkdStage4 => ("431857002", "Chronic kidney disease stage 4 (disorder)", "N18.4", "Chronic kidney disease, stage 4 (severe)"),
        ConditionKind.CkdStage5 => ("433146000", "Chronic kidney disease stage 5 (disorder)", "N18.5", "Chronic kidney disease, stage 5"),
        ConditionKind.MyocardialInfarction => ("22298006", "Myocardial infarction (disorder)", "I21.9", "Acute myocardial infarction, unspecified"),
        ConditionKind.Stroke => ("422504002", "Ischemic stroke (disorder)", "I63.9", "Cerebral infarction, unspecified"),
        ConditionKind.HeartFailure => ("88805009", "Chronic congestive heart failure (disorder)", "I50.9", "Heart failure, unspecified"),
        ConditionKind.AtrialFibrillation => ("49436004", "Atrial fibrillation (disorder)", "I48.91", "Unspecified atrial fibrillation"),
        ConditionKind.Obesity => ("414916001", "Obesity (disorder)", "E66.9", "Obesity, unspecified"),
        _ => ("370143000", "Major depressive disorder (disorder)", "F32.9", "Major depressive disorder, single episode, unspecified"),
    };

    private void WriteObservation(SyntheticPatient p, SimObservation o, string id, string patientId, string subject, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.Observation, id);
        Start(w, SyntheticType.Observation, id);
        w.WriteString("status"u8, "final"u8);
        var site = p.Site;
        var category = o.Kind switch
        {
            ObsKind.BloodPressure or ObsKind.Weight or ObsKind.Height or ObsKind.Bmi or ObsKind.HeartRate => "vital-signs",
            ObsKind.Smoking => "social-history",
            _ => "laboratory",
        };
        w.WriteStartArray("category"u8);
        Concept(w, "http://terminology.hl7.org/CodeSystem/observation-category", category, null, null);
        w.WriteEndArray();
        var value = o.Value;
        string loinc, display, unit, ucum;
        var decimals = 0;
        switch (o.Kind)
        {
            case ObsKind.BloodPressure:
                (loinc, display, unit, ucum) = ("85354-9", "Blood pressure panel with all children optional", "", "");
                break;
            case ObsKind.Weight when site.ImperialBody:
                (loinc, display, unit, ucum, value, decimals) = ("29463-7", "Body weight", "lb", "[lb_av]", o.Value / 0.45359237, 1);
                break;
            case ObsKind.Weight:
                (loinc, display, unit, ucum, decimals) = ("29463-7", "Body weight", "kg", "kg", 1);
                break;
            case ObsKind.Height when site.ImperialBody:
                (loinc, display, unit, ucum, value, decimals) = ("8302-2", "Body height", "in", "[in_i]", o.Value / 2.54, 1);
                break;
            case ObsKind.Height:
                (loinc, display, unit, ucum, decimals) = ("8302-2", "Body height", "cm", "cm", 1);
                break;
            case ObsKind.Bmi:
                (loinc, display, unit, ucum, decimals) = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", 1);
                break;
            case ObsKind.HeartRate:
                (loinc, display, unit, ucum) = ("8867-4", "Heart rate", "beats/minute", "/min");
                break;
            case ObsKind.Smoking:
                (loinc, display, unit, ucum) = ("72166-2", "Tobacco smoking status", "", "");
                break;
            case ObsKind.HbA1c when site.IfccHbA1c:
                (loinc, display, unit, ucum, value) = ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol", "mmol/mol",
                    (o.Value - 2.152) / 0.09148);
                break;
            case ObsKind.HbA1c:
                (loinc, display, unit, ucum, decimals) = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 1);
                break;
            case ObsKind.FastingGlucose when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 18.016, 1);
                break;
            case ObsKind.FastingGlucose:
                (loinc, display, unit, ucum) = ("1558-6", "Fasting glucose [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Ldl when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("22748-8", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.Ldl:
                (loinc, display, unit, ucum) = ("13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "mg/dL", "mg/dL");
                break;
            case ObsKind.Hdl when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14646-4", "Cholesterol in HDL [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.Hdl:
                (loinc, display, unit, ucum) = ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.TotalCholesterol when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.TotalCholesterol:
                (loinc, display, unit, ucum) = ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Triglycerides when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14927-8", "Triglyceride [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 88.57, 2);
                break;
            case ObsKind.Triglycerides:
                (loinc, display, unit, ucum) = ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Creatinine when site.SiLabs:
                (loinc, display, unit, ucum, value) = ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", "umol/L", o.Value * 88.4);
                break;
            case ObsKind.Creatinine:
                (loinc, display, unit, ucum, decimals) = ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 2);
                break;
            case ObsKind.Egfr:
                (loinc, display, unit, ucum) = ("98979-8",
                    "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
                    "mL/min/1.73m2", "mL/min/{1.73_m2}");
                break;
            default:
                (loinc, display, unit, ucum, decimals) = ("9318-7", "Albumin/Creatinine [Mass Ratio] in Urine", "mg/g", "mg/g", 1);
                break;
        }

        w.WriteStartObject("code"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, CodeSystems.Loinc, loinc, display);
        w.WriteEndArray();
        w.WriteEndObject();
        Reference(w, "subject"u8, subject);
        Reference(w, "encounter"u8, _encounterReferences[o.Encounter]);
        WriteDate(w, "effectiveDateTime"u8, o.At, site);
        if (o.Error == InjectedError.DecimalSlip)
        {
            value *= 10;
        }

        switch (o.Kind)
        {
            case ObsKind.BloodPressure:
                w.WriteStartArray("component"u8);
                w.WriteStartObject();
                w.WriteStartObject("code"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Loinc, "8480-6", "Systolic blood pressure");
                w.WriteEndArray();
                w.WriteEndObject();
                Quantity(w, value, 0, "mmHg", "mm[Hg]", InjectedError.None, null);
                w.WriteEndObject();
                w.WriteStartObject();
                w.WriteStartObject("code"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Loinc, "8462-4", "Diastolic blood pressure");
                w.WriteEndArray();
                w.WriteEndObject();
                Quantity(w, o.Value2, 0, "mmHg", "mm[Hg]", InjectedError.None, null);
                w.WriteEndObject();
                w.WriteEndArray();
                break;
            case ObsKind.Smoking:
                var (code, smokingDisplay) = (int)o.Value switch
                {
                    0 => ("266919005", "Never smoked tobacco (finding)"),
                    1 => ("8517006", "Ex-smoker (finding)"),
                    _ => ("449868002", "Smokes tobacco daily (finding)"),
                };
                w.WriteStartObject("valueCodeableConcept"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Snomed, code, smokingDisplay);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case ObsKind.Egfr when site.Number == 3 && value > 90:
                // This laboratory reports high filtration as "> 90", as many do.
                Quantity(w, 90, 0, unit, ucum, InjectedError.None, ">");
                break;
            default:
                Quantity(w, value, decimals, unit, ucum, o.Error, null);
                break;
        }

        w.WriteEndObject();
        sink.End(SyntheticType.Observation);
        if (o.Error != InjectedError.None)
        {
            sink.Injected(SyntheticType.Observation, id, patientId, o.Error);
        }
    }

    private static void Quantity(Utf8JsonWriter w, double value, int decimals, string unit, string ucum, InjectedError error, string? comparator)
    {
        w.WriteStartObject("valueQuantity"u8);
        if (error != InjectedError.MissingValue)
        {
            w.WriteNumber("value"u8, Math.Round(value, decimals));
        }

        if (comparator is not null)
        {
            w.WriteString("comparator"u8, comparator);
        }

        switch (error)
        {
            case InjectedError.UnitNotUcum:
                w.WriteString("unit"u8, unit.Replace("/", " per ", StringComparison.Ordinal));
                break;
            case InjectedError.WrongDimension:
                w.WriteString("unit"u8, "mg"u8);
                w.WriteString("system"u8, CodeSystems.Ucum);
                w.WriteString("code"u8, "mg"u8);
                break;
            default:
                w.WriteString("unit"u8, unit);
                w.WriteString("system"u8, CodeSystems.Ucum);
                w.WriteString("code"u8, ucum);
                break;
        }

        w.WriteEndObject();
    }

    private void WriteSurvey(SyntheticPatient p, SimSurvey s, string id, string subject, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.QuestionnaireResponse, id);
        Start(w, SyntheticType.QuestionnaireResponse, id);
        w.WriteString("questionnaire"u8, "http://loinc.org/q/44249-1"u8);
        w.WriteString("status"u8, "completed"u8);
        Reference(w, "subject"u8, subject);
        Reference(w, "encounter"u8, _encounterReferences[s.Encounter]);
        WriteDate(w, "authored"u8, s.At, p.Site);
        w.WriteStartArray("item"u8);
        w.WriteStartObject();
        w.WriteString("linkId"u8, "44261-6"u8);
        w.WriteString("text"u8, "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"u8);
        w.WriteStartArray("answer"u8);
        w.WriteStartObject();
        w.WriteNumber("valueInteger"u8, s.Total);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        sink.End(SyntheticType.QuestionnaireResponse);
    }

    private static (string Code, string Ingredient, string Product, string Dosage) DrugCodes(Drug drug) => drug switch
    {
        Drug.Metformin => ("6809", "metformin", "metformin hydrochloride 500 MG Oral Tablet", "500 mg twice daily with meals"),
        Drug.Empagliflozin => ("1545653", "empagliflozin", "empagliflozin 10 MG Oral Tablet", "10 mg once daily"),
        Drug.Atorvastatin20 => ("83367", "atorvastatin", "atorvastatin 20 MG Oral Tablet", "20 mg once daily"),
        Drug.Atorvastatin40 => ("83367", "atorvastatin", "atorvastatin 40 MG Oral Tablet", "40 mg once daily"),
        Drug.Rosuvastatin20 => ("301542", "rosuvastatin", "rosuvastatin 20 MG Oral Tablet", "20 mg once daily"),
        Drug.Lisinopril => ("29046", "lisinopril", "lisinopril 10 MG Oral Tablet", "10 mg once daily"),
        Drug.Losartan => ("52175", "losartan", "losartan potassium 50 MG Oral Tablet", "50 mg once daily"),
        Drug.Hydrochlorothiazide => ("5487", "hydrochlorothiazide", "hydrochlorothiazide 25 MG Oral Tablet", "25 mg once daily"),
        Drug.Amlodipine => ("17767", "amlodipine", "amlodipine 5 MG Oral Tablet", "5 mg once daily"),
        Drug.Apixaban => ("1364430", "apixaban", "apixaban 5 MG Oral Tablet", "5 mg twice daily"),
        _ => ("1191", "aspirin", "aspirin 81 MG Oral Tablet", "81 mg once daily"),
    };

    private void WriteMedication(SyntheticPatient p, SimMedication m, string id, string subject, IResourceSink sink)
    {
        var type = m.Statement ? SyntheticType.MedicationStatement : SyntheticType.MedicationRequest;
        var w = sink.Begin(type, id);
        Start(w, type, id);
        w.WriteString("status"u8, m.End is null ? "active"u8 : "stopped"u8);
        if (!m.Statement)
        {
            w.WriteString("intent"u8, "order"u8);
        }

        // Coded at RxNorm ingredient level, the product in text: product-level (SCD) codes cannot be checked offline.
        var (code, ingredient, product, dosage) = DrugCodes(m.Drug);
        w.WriteStartObject("medicationCodeableConcept"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, CodeSystems.RxNorm, code, ingredient);
        w.WriteEndArray();
        w.WriteString("text"u8, product);
        w.WriteEndObject();
        Reference(w, "subject"u8, subject);
        var encounter = _encounterReferences[m.Encounter];
        var recorded = p.Encounters[m.Encounter].Start;
        if (m.Statement)
        {
            Reference(w, "context"u8, encounter);
            w.WriteStartObject("effectivePeriod"u8);
            WriteDate(w, "start"u8, m.Start, p.Site);
            if (m.End is { } end)
            {
                WriteDate(w, "end"u8, end, p.Site);
            }

            w.WriteEndObject();
            WriteDate(w, "dateAsserted"u8, recorded, p.Site);
            w.WriteStartArray("dosage"u8);
        }
        else
        {
            Reference(w, "encounter"u8, encounter);
            WriteDate(w, "authoredOn"u8, m.Start, p.Site);
            w.WriteStartArray("dosageInstruction"u8);
        }

        w.WriteStartObject();
        w.WriteString("text"u8, dosage);
        w.WriteEndObject();
        w.WriteEndArray();
        if (!m.Statement)
        {
            w.WriteStartObject("dispenseRequest"u8);
            w.WriteStartObject("validityPeriod"u8);
            WriteDate(w, "start"u8, m.Start, p.Site);
            if (m.End is { } end)
            {
                WriteDate(w, "end"u8, end, p.Site);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        sink.End(type);
    }

    private void WriteProcedure(SyntheticPatient p, SimProcedure procedure, string id, string subject, IResourceSink sink)
    {
        var referral = procedure.Kind == ProcedureKind.LifestyleReferral;
        var type = referral ? SyntheticType.ServiceRequest : SyntheticType.Procedure;
        var w = sink.Begin(type, id);
        Start(w, type, id);
        var (code, display, text) = procedure.Kind == ProcedureKind.SmokingCessationAdvice
            ? ("225323000", "Smoking cessation education (procedure)", "Brief smoking-cessation advice")
            : ("229065009", "Exercise therapy (regime/therapy)", "Intensive lifestyle programme for diabetes prevention (diet, 150 min/week activity, 7% weight-loss goal)");
        var ongoing = procedure.End > recordEnd;
        if (referral)
        {
            w.WriteString("status"u8, "completed"u8);
            w.WriteString("intent"u8, "order"u8);
        }
        else
        {
            w.WriteString("status"u8, ongoing ? "in-progress"u8 : "completed"u8);
        }

        w.WriteStartObject("code"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, CodeSystems.Snomed, code, display);
        w.WriteEndArray();
        w.WriteString("text"u8, referral ? "Referral: " + text : text);
        w.WriteEndObject();
        Reference(w, "subject"u8, subject);
        Reference(w, "encounter"u8, _encounterReferences[procedure.Encounter]);
        if (referral)
        {
            WriteDate(w, "occurrenceDateTime"u8, procedure.End, p.Site);
            WriteDate(w, "authoredOn"u8, procedure.Start, p.Site);
            w.WriteStartArray("reasonCode"u8);
            Concept(w, CodeSystems.Snomed, "714628002", "Prediabetes (finding)", null);
            w.WriteEndArray();
        }
        else
        {
            w.WriteStartObject("performedPeriod"u8);
            WriteDate(w, "start"u8, procedure.Start, p.Site);
            if (!ongoing)
            {
                WriteDate(w, "end"u8, procedure.End, p.Site);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        sink.End(type);
    }

    private static void Coding(Utf8JsonWriter w, string system, string code, string? display)
    {
        w.WriteStartObject();
        w.WriteString("system"u8, system);
        w.WriteString("code"u8, code);
        if (display is not null)
        {
            w.WriteString("display"u8, display);
        }

        w.WriteEndObject();
    }

    private static void Concept(Utf8JsonWriter w, string system, string code, string? display, string? text)
    {
        w.WriteStartObject();
        w.WriteStartArray("coding"u8);
        Coding(w, system, code, display);
        w.WriteEndArray();
        if (text is not null)
        {
            w.WriteString("text"u8, text);
        }

        w.WriteEndObject();
    }

    private static void Reference(Utf8JsonWriter w, ReadOnlySpan<byte> name, string reference)
    {
        w.WriteStartObject(name);
        w.WriteString("reference"u8, reference);
        w.WriteEndObject();
    }

    // Local time at the site, with its offset, as its EHR would write it (yyyy-MM-ddTHH:mm:ss+hh:mm), formatted by hand:
    // the generator writes millions of dates.
    private void WriteDate(Utf8JsonWriter w, ReadOnlySpan<byte> name, DateTimeOffset at, Site site)
    {
        var local = at.UtcDateTime + site.Offset;
        var b = _dateBuffer;
        Digits(b, 0, local.Year, 4);
        b[4] = (byte)'-';
        Digits(b, 5, local.Month, 2);
        b[7] = (byte)'-';
        Digits(b, 8, local.Day, 2);
        b[10] = (byte)'T';
        Digits(b, 11, local.Hour, 2);
        b[13] = (byte)':';
        Digits(b, 14, local.Minute, 2);
        b[16] = (byte)':';
        Digits(b, 17, local.Second, 2);
        var offset = (int)site.Offset.TotalMinutes;
        b[19] = offset < 0 ? (byte)'-' : (byte)'+';
        offset = Math.Abs(offset);
        Digits(b, 20, offset / 60, 2);
        b[22] = (byte)':';
        Digits(b, 23, offset % 60, 2);
        w.WriteString(name, b.AsSpan(0, 25));
    }

    private static void Digits(byte[] buffer, int at, int value, int width)
    {
        for (var i = width - 1; i >= 0; i--)
        {
            buffer[at + i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}

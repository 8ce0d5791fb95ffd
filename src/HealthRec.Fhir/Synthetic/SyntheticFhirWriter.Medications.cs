namespace HealthRec.Fhir.Synthetic;

/// <summary>Questionnaire responses (PHQ-9), medication statements and requests, procedures.</summary>
internal sealed partial class SyntheticFhirWriter
{
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
        var (code, ingredient, product, dosage) = SyntheticCodes.Medicine(m.Drug);
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
}

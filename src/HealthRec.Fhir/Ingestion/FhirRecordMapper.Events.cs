using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Ingestion;

/// <summary>Diagnoses and care: Conditions, Procedures, Encounters, questionnaire answers (PHQ-9) and DiagnosticReports into the record.</summary>
public sealed partial class FhirRecordMapper
{
    private void MapCondition(Condition condition, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        var verification = FirstCode(condition.VerificationStatus);
        if (verification is "entered-in-error" or "refuted")
        {
            report.Excluded($"Condition {verification}");
            return;
        }

        var codings = Usable(condition.Code).ToList();
        var groups = codings.SelectMany(c => terminology.ConditionGroupsOf(c.System, c.Code))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToImmutableArray();
        if (groups.IsEmpty)
        {
            Unread("Condition", condition.Code, report);
            return;
        }

        var onset = OnsetOf(condition.Onset, builder.BirthDate) ?? Dates.ToInstant(condition.RecordedDate);
        if (onset is null)
        {
            report.Problem(ProblemKind.MissingDate, where, $"condition ({string.Join(", ", groups)}) has no onset or recorded date");
            return;
        }

        var primary = codings.First(c => !terminology.ConditionGroupsOf(c.System, c.Code).IsEmpty);
        builder.Add(new ConditionEntry(primary.System, primary.Code, groups, onset, OnsetOf(condition.Abatement, builder.BirthDate),
            FirstCode(condition.ClinicalStatus), verification));
    }

    // A procedure of a known group (a site's procedure-* ValueSets) at its performed date; others are unread data.
    private void MapProcedure(Procedure procedure, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        if (procedure.Status is EventStatus.EnteredInError or EventStatus.NotDone)
        {
            report.Excluded($"Procedure {(procedure.Status == EventStatus.NotDone ? "not-done" : "entered-in-error")}");
            return;
        }

        var coding = Usable(procedure.Code).Select(c => (c.System, c.Code, Groups: terminology.ProcedureGroupsOf(c.System, c.Code)))
            .FirstOrDefault(c => !c.Groups.IsEmpty);
        if (coding.Groups.IsDefaultOrEmpty)
        {
            Unread("Procedure", procedure.Code, report);
            return;
        }

        if (EffectiveOf(procedure.Performed) is not { } at)
        {
            report.Problem(ProblemKind.MissingDate, where, $"procedure ({string.Join(", ", coding.Groups)}) has no performed date");
            return;
        }

        builder.Add(new ProcedureEntry(coding.System, coding.Code, coding.Groups, at));
    }

    private void MapEncounter(Encounter encounter, PatientRecordBuilder builder, IngestionReport report)
    {
        if (encounter.Status is Encounter.EncounterStatus.EnteredInError or Encounter.EncounterStatus.Cancelled)
        {
            report.Excluded($"Encounter {encounter.Status.Value.ToString().ToLowerInvariant()}");
            return;
        }

        if (Dates.ToInstant(encounter.Period?.Start) is { } start)
        {
            var groups = encounter.Type.SelectMany(Usable).SelectMany(c => terminology.EncounterGroupsOf(c.System, c.Code))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            builder.Add(new EncounterEntry(start, Dates.ToInstant(encounter.Period?.End), encounter.Class?.Code)
            {
                // One shared empty list for the common case, so that equal encounters compare equal.
                Groups = groups.Count == 0 ? ImmutableArray<string>.Empty : [.. groups],
            });
        }
    }

    // A survey answer is read when the item is an analyte's code: the Questionnaire's canonical URL as the system and
    // the linkId as the code, or the linkId as a LOINC code (PHQ-9 total: 44261-6).
    private void MapQuestionnaire(QuestionnaireResponse response, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        if (response.Status is QuestionnaireResponse.QuestionnaireResponseStatus.EnteredInError)
        {
            report.Excluded("QuestionnaireResponse entered-in-error");
            return;
        }

        var at = Dates.ToInstant(response.Authored);
        foreach (var item in Flatten(response.Item))
        {
            if (item.LinkId is { } linkId
                && (terminology.AnalyteFor(response.Questionnaire ?? "", linkId) ?? terminology.AnalyteFor(CodeSystems.Loinc, linkId)) is { } analyte
                && item.Answer.FirstOrDefault()?.Value is { } answer)
            {
                AddQuantity(analyte, answer, at, response.Status is QuestionnaireResponse.QuestionnaireResponseStatus.InProgress,
                    builder, report, $"{where} item {linkId}");
            }
        }
    }

    private static IEnumerable<QuestionnaireResponse.ItemComponent> Flatten(IEnumerable<QuestionnaireResponse.ItemComponent> items)
    {
        foreach (var item in items)
        {
            yield return item;
            foreach (var child in Flatten(item.Item))
            {
                yield return child;
            }
        }
    }

    // A report's coded conclusion (e.g. a SNOMED CT finding) that names a known condition dates that condition.
    private void MapDiagnosticReport(DiagnosticReport diagnosticReport, PatientRecordBuilder builder, IngestionReport report)
    {
        if (diagnosticReport.Status is DiagnosticReport.DiagnosticReportStatus.EnteredInError or DiagnosticReport.DiagnosticReportStatus.Cancelled)
        {
            report.Excluded($"DiagnosticReport {diagnosticReport.Status.Value.ToString().ToLowerInvariant()}");
            return;
        }

        var at = EffectiveOf(diagnosticReport.Effective) ?? diagnosticReport.Issued;
        foreach (var coding in diagnosticReport.ConclusionCode.SelectMany(Usable))
        {
            var groups = terminology.ConditionGroupsOf(coding.System, coding.Code);
            if (!groups.IsEmpty && at is not null)
            {
                builder.Add(new ConditionEntry(coding.System, coding.Code, groups, at, null, null, "unconfirmed"));
            }
        }
    }
}

using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>Encounter, Procedure, QuestionnaireResponse (with nested items) and DiagnosticReport.</summary>
internal static partial class FastResourceReader
{
    private static readonly Members<Encounter> EncounterMembers = new(
        ("status", static (ref r, encounter) => encounter.Status = ReadEnum<Encounter.EncounterStatus>(ref r)),
        ("class", static (ref r, encounter) => encounter.Class = ReadCoding(ref r)),
        ("type", static (ref r, encounter) => ReadList(ref r, encounter.Type)),
        ("subject", static (ref r, encounter) => encounter.Subject = ReadReference(ref r)),
        ("period", static (ref r, encounter) => encounter.Period = ReadPeriod(ref r)));

    private static readonly Members<Procedure> ProcedureMembers = new(
        ("status", static (ref r, procedure) => procedure.Status = ReadEnum<EventStatus>(ref r)),
        ("code", static (ref r, procedure) => procedure.Code = ReadConcept(ref r)),
        ("subject", static (ref r, procedure) => procedure.Subject = ReadReference(ref r)),
        Choices.DateTimeOrPeriod.Member<Procedure>("performed", static (procedure, performed) => procedure.Performed = performed));

    private static readonly Members<QuestionnaireResponse> QuestionnaireResponseMembers = new(
        ("status", static (ref r, response) => response.Status = ReadEnum<QuestionnaireResponse.QuestionnaireResponseStatus>(ref r)),
        ("subject", static (ref r, response) => response.Subject = ReadReference(ref r)),
        ("authored", static (ref r, response) => response.AuthoredElement = ReadDateTime(ref r)),
        ("item", static (ref r, response) => ReadList(ref r, response.Item)));

    // Items nest in items and in answers, to any depth.
    private static readonly Members<QuestionnaireResponse.ItemComponent> ItemMembers = new(
        ("linkId", static (ref r, item) => item.LinkId = ReadString(ref r)),
        ("item", static (ref r, item) => ReadList(ref r, item.Item)),
        ("answer", static (ref r, item) => ReadList(ref r, item.Answer)));

    private static readonly Members<QuestionnaireResponse.AnswerComponent> AnswerMembers = new(
        ("item", static (ref r, answer) => ReadList(ref r, answer.Item)),
        Choices.AnswerValue.Member<QuestionnaireResponse.AnswerComponent>("value", static (answer, value) => answer.Value = value));

    private static readonly Members<DiagnosticReport> DiagnosticReportMembers = new(
        ("status", static (ref r, report) => report.Status = ReadEnum<DiagnosticReport.DiagnosticReportStatus>(ref r)),
        ("subject", static (ref r, report) => report.Subject = ReadReference(ref r)),
        ("issued", static (ref r, report) => report.IssuedElement = ReadInstant(ref r)),
        ("conclusionCode", static (ref r, report) => ReadList(ref r, report.ConclusionCode)),
        Choices.Effective.Member<DiagnosticReport>("effective", static (report, effective) => report.Effective = effective));
}

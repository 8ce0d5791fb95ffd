using System.Text.Json;
using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>Encounter, Procedure, QuestionnaireResponse (with nested items) and DiagnosticReport.</summary>
internal static partial class FastResourceReader
{
    private static Encounter ReadEncounter(ref Utf8JsonReader r) => ReadMembers(ref r, new Encounter(), EncounterMember);

    private static bool EncounterMember(ref Utf8JsonReader r, Encounter encounter)
    {
        if (r.ValueTextEquals("status"u8))
        {
            encounter.Status = ReadEnum<Encounter.EncounterStatus>(ref r);
        }
        else if (r.ValueTextEquals("class"u8))
        {
            ReadObject(ref r);
            encounter.Class = ReadCodingBody(ref r);
        }
        else if (r.ValueTextEquals("type"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                encounter.Type.Add(ReadConceptBody(ref r));
            }
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            encounter.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("period"u8))
        {
            encounter.Period = ReadPeriod(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Procedure ReadProcedure(ref Utf8JsonReader r) => ReadMembers(ref r, new Procedure(), ProcedureMember);

    private static bool ProcedureMember(ref Utf8JsonReader r, Procedure procedure)
    {
        if (r.ValueTextEquals("status"u8))
        {
            procedure.Status = ReadEnum<EventStatus>(ref r);
        }
        else if (r.ValueTextEquals("code"u8))
        {
            procedure.Code = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            procedure.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("performedDateTime"u8))
        {
            procedure.Performed = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("performedPeriod"u8))
        {
            procedure.Performed = ReadPeriod(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static QuestionnaireResponse ReadQuestionnaireResponse(ref Utf8JsonReader r) => ReadMembers(ref r, new QuestionnaireResponse(), QuestionnaireResponseMember);

    private static bool QuestionnaireResponseMember(ref Utf8JsonReader r, QuestionnaireResponse response)
    {
        if (r.ValueTextEquals("status"u8))
        {
            response.Status = ReadEnum<QuestionnaireResponse.QuestionnaireResponseStatus>(ref r);
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            response.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("authored"u8))
        {
            response.AuthoredElement = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("item"u8))
        {
            ReadItems(ref r, response.Item);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static void ReadItems(ref Utf8JsonReader r, List<QuestionnaireResponse.ItemComponent> items)
    {
        ReadArray(ref r);
        while (NextItem(ref r))
        {
            Expect(ref r, JsonTokenType.StartObject);
            var item = new QuestionnaireResponse.ItemComponent();
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("linkId"u8))
                {
                    item.LinkId = ReadString(ref r);
                }
                else if (r.ValueTextEquals("item"u8))
                {
                    ReadItems(ref r, item.Item);
                }
                else if (r.ValueTextEquals("answer"u8))
                {
                    ReadArray(ref r);
                    while (NextItem(ref r))
                    {
                        Expect(ref r, JsonTokenType.StartObject);
                        var answer = new QuestionnaireResponse.AnswerComponent();
                        while (NextProperty(ref r))
                        {
                            if (r.ValueTextEquals("item"u8))
                            {
                                ReadItems(ref r, answer.Item);
                            }
                            else if (TryReadValue(ref r, out var value))
                            {
                                answer.Value = value;
                            }
                            else
                            {
                                Skip(ref r);
                            }
                        }

                        item.Answer.Add(answer);
                    }
                }
                else
                {
                    Skip(ref r);
                }
            }

            items.Add(item);
        }
    }

    private static DiagnosticReport ReadDiagnosticReport(ref Utf8JsonReader r) => ReadMembers(ref r, new DiagnosticReport(), DiagnosticReportMember);

    private static bool DiagnosticReportMember(ref Utf8JsonReader r, DiagnosticReport report)
    {
        if (r.ValueTextEquals("status"u8))
        {
            report.Status = ReadEnum<DiagnosticReport.DiagnosticReportStatus>(ref r);
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            report.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("issued"u8))
        {
            report.IssuedElement = ReadInstant(ref r);
        }
        else if (r.ValueTextEquals("conclusionCode"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                report.ConclusionCode.Add(ReadConceptBody(ref r));
            }
        }
        else if (TryReadEffective(ref r, out var effective))
        {
            report.Effective = effective;
        }
        else
        {
            return false;
        }

        return true;
    }
}

using System.Text.Json;
using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The medication resources: MedicationStatement and MedicationRequest (with its dispense request).</summary>
internal static partial class FastResourceReader
{
    private static MedicationStatement ReadStatement(ref Utf8JsonReader r) => ReadMembers(ref r, new MedicationStatement(), StatementMember);

    private static bool StatementMember(ref Utf8JsonReader r, MedicationStatement statement)
    {
        if (r.ValueTextEquals("status"u8))
        {
            statement.Status = ReadEnum<MedicationStatement.MedicationStatusCodes>(ref r);
        }
        else if (r.ValueTextEquals("medicationCodeableConcept"u8))
        {
            statement.Medication = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("medicationReference"u8) || r.ValueTextEquals("contained"u8))
        {
            throw Unexpected("a medicine by reference (resolved on the validating path)");
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            statement.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("effectiveDateTime"u8))
        {
            statement.Effective = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("effectivePeriod"u8))
        {
            statement.Effective = ReadPeriod(ref r);
        }
        else if (r.ValueTextEquals("dateAsserted"u8))
        {
            statement.DateAssertedElement = ReadDateTime(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static MedicationRequest ReadRequest(ref Utf8JsonReader r) => ReadMembers(ref r, new MedicationRequest(), RequestMember);

    private static bool RequestMember(ref Utf8JsonReader r, MedicationRequest request)
    {
        if (r.ValueTextEquals("status"u8))
        {
            request.Status = ReadEnum<MedicationRequest.MedicationrequestStatus>(ref r);
        }
        else if (r.ValueTextEquals("intent"u8))
        {
            request.Intent = ReadEnum<MedicationRequest.MedicationRequestIntent>(ref r);
        }
        else if (r.ValueTextEquals("medicationCodeableConcept"u8))
        {
            request.Medication = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("medicationReference"u8) || r.ValueTextEquals("contained"u8))
        {
            throw Unexpected("a medicine by reference (resolved on the validating path)");
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            request.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("authoredOn"u8))
        {
            request.AuthoredOnElement = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("dispenseRequest"u8))
        {
            request.DispenseRequest = ReadDispenseRequest(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static MedicationRequest.DispenseRequestComponent ReadDispenseRequest(ref Utf8JsonReader r) => ReadNextMembers(ref r, new MedicationRequest.DispenseRequestComponent(), DispenseRequestMember);

    private static bool DispenseRequestMember(ref Utf8JsonReader r, MedicationRequest.DispenseRequestComponent dispense)
    {
        if (r.ValueTextEquals("validityPeriod"u8))
        {
            dispense.ValidityPeriod = ReadPeriod(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }
}

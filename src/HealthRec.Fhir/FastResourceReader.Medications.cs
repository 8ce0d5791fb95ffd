using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The medication resources: MedicationStatement and MedicationRequest (with its dispense request).</summary>
internal static partial class FastResourceReader
{
    private static readonly Members<MedicationStatement> StatementMembers = new(
        ("status", static (ref r, statement) => statement.Status = ReadEnum<MedicationStatement.MedicationStatusCodes>(ref r)),
        ("medicationCodeableConcept", static (ref r, statement) => statement.Medication = ReadConcept(ref r)),
        MedicineByReference<MedicationStatement>("medicationReference"),
        MedicineByReference<MedicationStatement>("contained"),
        ("subject", static (ref r, statement) => statement.Subject = ReadReference(ref r)),
        Choices.DateTimeOrPeriod.Member<MedicationStatement>("effective", static (statement, effective) => statement.Effective = effective),
        ("dateAsserted", static (ref r, statement) => statement.DateAssertedElement = ReadDateTime(ref r)));

    private static readonly Members<MedicationRequest.DispenseRequestComponent> DispenseRequestMembers = new(
        ("validityPeriod", static (ref r, dispense) => dispense.ValidityPeriod = ReadPeriod(ref r)));

    private static readonly Members<MedicationRequest> RequestMembers = new(
        ("status", static (ref r, request) => request.Status = ReadEnum<MedicationRequest.MedicationrequestStatus>(ref r)),
        ("intent", static (ref r, request) => request.Intent = ReadEnum<MedicationRequest.MedicationRequestIntent>(ref r)),
        ("medicationCodeableConcept", static (ref r, request) => request.Medication = ReadConcept(ref r)),
        MedicineByReference<MedicationRequest>("medicationReference"),
        MedicineByReference<MedicationRequest>("contained"),
        ("subject", static (ref r, request) => request.Subject = ReadReference(ref r)),
        ("authoredOn", static (ref r, request) => request.AuthoredOnElement = ReadDateTime(ref r)),
        ("dispenseRequest", static (ref r, request) => request.DispenseRequest = DispenseRequestMembers.Next(ref r)));

    // A medicine named by reference (often to a contained Medication) is resolved on the validating path.
    private static (string, MemberRead<T>) MedicineByReference<T>(string name) =>
        (name, static (ref _, _) => throw Unexpected("a medicine by reference (resolved on the validating path)"));
}

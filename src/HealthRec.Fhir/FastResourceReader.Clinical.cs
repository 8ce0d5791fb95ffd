using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;

namespace HealthRec.Fhir;

/// <summary>The clinical resources: Patient, Observation (with components), Condition, AllergyIntolerance (with reactions).</summary>
internal static partial class FastResourceReader
{
    private static Patient ReadPatient(ref Utf8JsonReader r) => ReadMembers(ref r, new Patient(), PatientMember);

    private static bool PatientMember(ref Utf8JsonReader r, Patient patient)
    {
        if (r.ValueTextEquals("gender"u8))
        {
            patient.Gender = ReadEnum<AdministrativeGender>(ref r);
        }
        else if (r.ValueTextEquals("birthDate"u8))
        {
            patient.BirthDate = Checked(ReadString(ref r), Date.IsValidValue);
        }
        else if (r.ValueTextEquals("deceasedBoolean"u8))
        {
            patient.Deceased = new FhirBoolean(ReadBoolean(ref r));
        }
        else if (r.ValueTextEquals("deceasedDateTime"u8))
        {
            patient.Deceased = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("extension"u8))
        {
            // US Core race and ethnicity, for the fairness audit (UsCoreDemographics reads them from the Patient).
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                patient.Extension.Add(ReadNestedMembers(ref r, new Extension(), ExtensionMember));
            }
        }
        else
        {
            return false;
        }

        return true;
    }

    // An extension's url, its nested extensions and a Coding or string value (the kinds the mapper reads; others skipped).
    private static bool ExtensionMember(ref Utf8JsonReader r, Extension extension)
    {
        if (r.ValueTextEquals("url"u8))
        {
            extension.Url = ReadUri(ref r);
        }
        else if (r.ValueTextEquals("extension"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                extension.Extension.Add(ReadNestedMembers(ref r, new Extension(), ExtensionMember));
            }
        }
        else if (r.ValueTextEquals("valueCoding"u8))
        {
            ReadObject(ref r);
            extension.Value = ReadCodingBody(ref r);
        }
        else if (r.ValueTextEquals("valueString"u8))
        {
            extension.Value = new FhirString(ReadString(ref r));
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Observation ReadObservation(ref Utf8JsonReader r) => ReadMembers(ref r, new Observation(), ObservationMember);

    private static bool ObservationMember(ref Utf8JsonReader r, Observation observation)
    {
        if (r.ValueTextEquals("status"u8))
        {
            observation.Status = ReadEnum<ObservationStatus>(ref r);
        }
        else if (r.ValueTextEquals("code"u8))
        {
            observation.Code = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            observation.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("issued"u8))
        {
            observation.IssuedElement = ReadInstant(ref r);
        }
        else if (r.ValueTextEquals("component"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                observation.Component.Add(ReadComponent(ref r));
            }
        }
        else if (TryReadEffective(ref r, out var effective))
        {
            observation.Effective = effective;
        }
        else if (TryReadValue(ref r, out var value))
        {
            observation.Value = value;
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Observation.ComponentComponent ReadComponent(ref Utf8JsonReader r) => ReadNestedMembers(ref r, new Observation.ComponentComponent(), ComponentMember);

    private static bool ComponentMember(ref Utf8JsonReader r, Observation.ComponentComponent component)
    {
        if (r.ValueTextEquals("code"u8))
        {
            component.Code = ReadConcept(ref r);
        }
        else if (TryReadValue(ref r, out var value))
        {
            component.Value = value;
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Condition ReadCondition(ref Utf8JsonReader r) => ReadMembers(ref r, new Condition(), ConditionMember);

    private static bool ConditionMember(ref Utf8JsonReader r, Condition condition)
    {
        if (r.ValueTextEquals("clinicalStatus"u8))
        {
            condition.ClinicalStatus = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("verificationStatus"u8))
        {
            condition.VerificationStatus = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("code"u8))
        {
            condition.Code = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("subject"u8))
        {
            condition.Subject = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("recordedDate"u8))
        {
            condition.RecordedDateElement = ReadDateTime(ref r);
        }
        else if (TryReadOnsetOrAbatement(ref r, "onset"u8, out var onset))
        {
            condition.Onset = onset;
        }
        else if (TryReadOnsetOrAbatement(ref r, "abatement"u8, out var abatement))
        {
            condition.Abatement = abatement;
        }
        else
        {
            return false;
        }

        return true;
    }

    private static AllergyIntolerance ReadAllergy(ref Utf8JsonReader r) => ReadMembers(ref r, new AllergyIntolerance(), AllergyMember);

    private static bool AllergyMember(ref Utf8JsonReader r, AllergyIntolerance allergy)
    {
        if (r.ValueTextEquals("clinicalStatus"u8))
        {
            allergy.ClinicalStatus = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("verificationStatus"u8))
        {
            allergy.VerificationStatus = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("type"u8))
        {
            allergy.Type = ReadEnum<AllergyIntolerance.AllergyIntoleranceType>(ref r);
        }
        else if (r.ValueTextEquals("category"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                allergy.CategoryElement.Add(new Code<AllergyIntolerance.AllergyIntoleranceCategory>(
                    EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceCategory>(CurrentString(ref r)) ?? throw Unexpected("an allergy category")));
            }
        }
        else if (r.ValueTextEquals("criticality"u8))
        {
            allergy.Criticality = ReadEnum<AllergyIntolerance.AllergyIntoleranceCriticality>(ref r);
        }
        else if (r.ValueTextEquals("code"u8))
        {
            allergy.Code = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("patient"u8))
        {
            allergy.Patient = ReadReference(ref r);
        }
        else if (r.ValueTextEquals("recordedDate"u8))
        {
            allergy.RecordedDateElement = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("reaction"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                allergy.Reaction.Add(ReadReaction(ref r));
            }
        }
        else if (TryReadOnsetOrAbatement(ref r, "onset"u8, out var onset))
        {
            allergy.Onset = onset;
        }
        else
        {
            return false;
        }

        return true;
    }

    // A reaction's substance, when it names one more precisely than the allergy's code; the rest is not read.
    private static AllergyIntolerance.ReactionComponent ReadReaction(ref Utf8JsonReader r) => ReadNestedMembers(ref r, new AllergyIntolerance.ReactionComponent(), ReactionMember);

    private static bool ReactionMember(ref Utf8JsonReader r, AllergyIntolerance.ReactionComponent reaction)
    {
        if (r.ValueTextEquals("substance"u8))
        {
            reaction.Substance = ReadConcept(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }
}

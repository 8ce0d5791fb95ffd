using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The clinical resources: Patient, Observation (with components), Condition, AllergyIntolerance (with reactions).</summary>
internal static partial class FastResourceReader
{
    private static readonly Members<Patient> PatientMembers = new(
        ("gender", static (ref r, patient) => patient.Gender = ReadEnum<AdministrativeGender>(ref r)),
        ("birthDate", static (ref r, patient) => patient.BirthDate = ReadDate(ref r)),
        Choices.Deceased.Member<Patient>("deceased", static (patient, value) => patient.Deceased = value),

        // US Core race and ethnicity, for the fairness audit (UsCoreDemographics reads them from the Patient).
        ("extension", static (ref r, patient) => ReadList(ref r, patient.Extension)));

    // An extension's url, its nested extensions and a Coding or string value (the kinds the mapper reads).
    private static readonly Members<Extension> ExtensionMembers = new(
        ("url", static (ref r, extension) => extension.Url = ReadUri(ref r)),
        ("extension", static (ref r, extension) => ReadList(ref r, extension.Extension)),
        Choices.ExtensionValue.Member<Extension>("value", static (extension, value) => extension.Value = value));

    private static readonly Members<Observation> ObservationMembers = new(
        ("status", static (ref r, observation) => observation.Status = ReadEnum<ObservationStatus>(ref r)),
        ("code", static (ref r, observation) => observation.Code = ReadConcept(ref r)),
        ("subject", static (ref r, observation) => observation.Subject = ReadReference(ref r)),
        ("issued", static (ref r, observation) => observation.IssuedElement = ReadInstant(ref r)),
        ("component", static (ref r, observation) => ReadList(ref r, observation.Component)),
        Choices.Effective.Member<Observation>("effective", static (observation, effective) => observation.Effective = effective),
        Choices.ObservationValue.Member<Observation>("value", static (observation, value) => observation.Value = value));

    private static readonly Members<Observation.ComponentComponent> ComponentMembers = new(
        ("code", static (ref r, component) => component.Code = ReadConcept(ref r)),
        Choices.ObservationValue.Member<Observation.ComponentComponent>("value", static (component, value) => component.Value = value));

    private static readonly Members<Condition> ConditionMembers = new(
        ("clinicalStatus", static (ref r, condition) => condition.ClinicalStatus = ReadConcept(ref r)),
        ("verificationStatus", static (ref r, condition) => condition.VerificationStatus = ReadConcept(ref r)),
        ("code", static (ref r, condition) => condition.Code = ReadConcept(ref r)),
        ("subject", static (ref r, condition) => condition.Subject = ReadReference(ref r)),
        ("recordedDate", static (ref r, condition) => condition.RecordedDateElement = ReadDateTime(ref r)),
        Choices.OnsetOrAbatement.Member<Condition>("onset", static (condition, onset) => condition.Onset = onset),
        Choices.OnsetOrAbatement.Member<Condition>("abatement", static (condition, abatement) => condition.Abatement = abatement));

    private static readonly Members<AllergyIntolerance> AllergyMembers = new(
        ("clinicalStatus", static (ref r, allergy) => allergy.ClinicalStatus = ReadConcept(ref r)),
        ("verificationStatus", static (ref r, allergy) => allergy.VerificationStatus = ReadConcept(ref r)),
        ("type", static (ref r, allergy) => allergy.Type = ReadEnum<AllergyIntolerance.AllergyIntoleranceType>(ref r)),
        ("category", static (ref r, allergy) => ReadCategories(ref r, allergy.CategoryElement)),
        ("criticality", static (ref r, allergy) => allergy.Criticality = ReadEnum<AllergyIntolerance.AllergyIntoleranceCriticality>(ref r)),
        ("code", static (ref r, allergy) => allergy.Code = ReadConcept(ref r)),
        ("patient", static (ref r, allergy) => allergy.Patient = ReadReference(ref r)),
        ("recordedDate", static (ref r, allergy) => allergy.RecordedDateElement = ReadDateTime(ref r)),
        ("reaction", static (ref r, allergy) => ReadList(ref r, allergy.Reaction)),
        Choices.OnsetOrAbatement.Member<AllergyIntolerance>("onset", static (allergy, onset) => allergy.Onset = onset));

    private static void ReadCategories(ref Utf8JsonReader r, List<Code<AllergyIntolerance.AllergyIntoleranceCategory>> categories)
    {
        ReadArray(ref r);
        while (NextItem(ref r))
        {
            categories.Add(new(EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceCategory>(CurrentString(ref r)) ?? throw Unexpected("an allergy category")));
        }
    }

    // A reaction's substance, when it names one more precisely than the allergy's code; the rest is not read.
    private static readonly Members<AllergyIntolerance.ReactionComponent> ReactionMembers = new(
        ("substance", static (ref r, reaction) => reaction.Substance = ReadConcept(ref r)));

}

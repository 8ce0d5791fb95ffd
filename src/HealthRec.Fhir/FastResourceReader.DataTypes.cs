using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The data types: choice elements (effective, value, onset, abatement), quantities, concepts and codings, references, periods, dates and primitives.</summary>
internal static partial class FastResourceReader
{
    /// <summary>
    /// The types each choice element may take in FHIR R4 that the mapper reads (a nested class, so that a table that
    /// uses one finds it made, whichever file's fields are set first). Any other type of the element is handed to the
    /// validating path, so an unusual value is never silently dropped.
    /// </summary>
    private static class Choices
    {
        public static readonly ChoiceTypes Deceased = new(("Boolean", ReadFhirBoolean), ("DateTime", ReadDateTime));

        // An extension's value: a Coding or a string are read (US Core race and ethnicity), any other skipped.
        public static readonly ChoiceTypes ExtensionValue = new(("Coding", ReadCoding), ("String", ReadFhirString)) { OthersSkipped = true };

        // Observation's and DiagnosticReport's effective[x].
        public static readonly ChoiceTypes Effective = new(("DateTime", ReadDateTime), ("Period", ReadPeriod), ("Instant", ReadInstant));

        // MedicationStatement's effective[x], Procedure's performed[x].
        public static readonly ChoiceTypes DateTimeOrPeriod = new(("DateTime", ReadDateTime), ("Period", ReadPeriod));

        // Observation's and its components' value[x].
        public static readonly ChoiceTypes ObservationValue = new(
            ("Quantity", ReadQuantity), ("CodeableConcept", ReadConcept), ("String", ReadFhirString),
            ("Boolean", ReadFhirBoolean), ("Integer", ReadInteger), ("DateTime", ReadDateTime));

        // A questionnaire answer's value[x].
        public static readonly ChoiceTypes AnswerValue = new(
            ("Quantity", ReadQuantity), ("Decimal", ReadDecimal), ("String", ReadFhirString),
            ("Boolean", ReadFhirBoolean), ("Integer", ReadInteger), ("DateTime", ReadDateTime));

        // Condition's onset[x] and abatement[x], AllergyIntolerance's onset[x].
        public static readonly ChoiceTypes OnsetOrAbatement = new(
            ("DateTime", ReadDateTime), ("Period", ReadPeriod), ("Age", ReadAge), ("String", ReadFhirString));
    }

    private static readonly Members<Quantity> QuantityMembers = new(
        ("value", static (ref r, quantity) => quantity.Value = ReadDecimalValue(ref r)),
        ("unit", static (ref r, quantity) => quantity.Unit = ReadString(ref r)),
        ("system", static (ref r, quantity) => quantity.System = ReadUri(ref r)),
        ("code", static (ref r, quantity) => quantity.Code = ReadCode(ref r)),
        ("comparator", static (ref r, quantity) => quantity.Comparator = ReadEnum<Quantity.QuantityComparator>(ref r)));

    private static readonly Members<CodeableConcept> ConceptMembers = new(
        ("coding", static (ref r, concept) => ReadList(ref r, concept.Coding)),
        ("text", static (ref r, concept) => concept.Text = ReadString(ref r)));

    private static readonly Members<Coding> CodingMembers = new(
        ("system", static (ref r, coding) => coding.System = ReadUri(ref r)),
        ("code", static (ref r, coding) => coding.Code = ReadCode(ref r)),
        ("display", static (ref r, coding) => coding.Display = ReadString(ref r)));

    private static readonly Members<ResourceReference> ReferenceMembers = new(
        ("reference", static (ref r, reference) => reference.Reference = ReadString(ref r)));

    private static readonly Members<Period> PeriodMembers = new(
        ("start", static (ref r, period) => period.StartElement = ReadDateTime(ref r)),
        ("end", static (ref r, period) => period.EndElement = ReadDateTime(ref r)));

    private static Quantity ReadQuantity(ref Utf8JsonReader r) => QuantityMembers.Next(ref r);

    private static Age ReadAge(ref Utf8JsonReader r)
    {
        ReadObject(ref r);
        return QuantityMembers.Fill(ref r, new Age());
    }

    private static CodeableConcept ReadConcept(ref Utf8JsonReader r) => ConceptMembers.Next(ref r);

    private static Coding ReadCoding(ref Utf8JsonReader r) => CodingMembers.Next(ref r);

    private static ResourceReference ReadReference(ref Utf8JsonReader r) => ReferenceMembers.Next(ref r);

    private static Period ReadPeriod(ref Utf8JsonReader r) => PeriodMembers.Next(ref r);

    private static string ReadCode(ref Utf8JsonReader r) => Checked(ReadString(ref r), FhirPrimitives.IsCode);

    private static FhirBoolean ReadFhirBoolean(ref Utf8JsonReader r) => new(ReadBoolean(ref r));

    private static FhirString ReadFhirString(ref Utf8JsonReader r) => new(ReadString(ref r));

    private static Integer ReadInteger(ref Utf8JsonReader r)
    {
        Read(ref r);
        return new(r.TokenType == JsonTokenType.Number ? r.GetInt32() : throw Unexpected("integer"));
    }

    private static FhirDecimal ReadDecimal(ref Utf8JsonReader r) => new(ReadDecimalValue(ref r));

    private static decimal ReadDecimalValue(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType == JsonTokenType.Number ? r.GetDecimal() : throw Unexpected("decimal");
    }

    private static string ReadDate(ref Utf8JsonReader r) => Checked(ReadString(ref r), Date.IsValidValue);

    private static FhirDateTime ReadDateTime(ref Utf8JsonReader r) => new(Checked(ReadString(ref r), FhirDates.IsValidDateTime));

    private static Instant ReadInstant(ref Utf8JsonReader r)
    {
        var value = ReadString(ref r);
        return new(value.Length > 10 && FhirDates.TryParseCommon(value, out var at) ? at
            : DateTimeOffset.Parse(Checked(value, Instant.IsValidValue), CultureInfo.InvariantCulture, DateTimeStyles.None));
    }

    // The code systems and units nearly every resource names, matched on their UTF-8 bytes: no string made, no Uri parsed.
    private static readonly (byte[] Utf8, string Text)[] KnownUris = [.. new[]
    {
        "http://loinc.org", "http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org",
        "http://hl7.org/fhir/sid/icd-10-cm", "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "http://terminology.hl7.org/CodeSystem/condition-ver-status", "http://terminology.hl7.org/CodeSystem/observation-category",
    }.Select(uri => (System.Text.Encoding.UTF8.GetBytes(uri), uri))];

    private static string ReadUri(ref Utf8JsonReader r)
    {
        Read(ref r);
        if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped && !r.HasValueSequence)
        {
            foreach (var (utf8, text) in KnownUris)
            {
                if (r.ValueSpan.SequenceEqual(utf8))
                {
                    return text;
                }
            }
        }

        return Checked(CurrentString(ref r), FhirPrimitives.IsUri);
    }
}

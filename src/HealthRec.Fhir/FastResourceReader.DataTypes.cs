using System.Globalization;
using System.Text.Json;
using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>The data types: choice elements (effective, value, onset, abatement), quantities, concepts and codings, references, periods, dates and primitives.</summary>
internal static partial class FastResourceReader
{
    // effective[x] of Observation and DiagnosticReport.
    private static bool TryReadEffective(ref Utf8JsonReader r, out DataType? effective)
    {
        if (r.ValueTextEquals("effectiveDateTime"u8))
        {
            effective = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("effectivePeriod"u8))
        {
            effective = ReadPeriod(ref r);
        }
        else if (r.ValueTextEquals("effectiveInstant"u8))
        {
            effective = ReadInstant(ref r);
        }
        else
        {
            effective = null;
            return false;
        }

        return true;
    }

    // value[x] of Observation, its components and questionnaire answers: the types the mapper reads. Any other
    // value[x] is handed to the validating path, so an unusual value is never silently dropped.
    private static bool TryReadValue(ref Utf8JsonReader r, out DataType? value)
    {
        if (r.ValueTextEquals("valueQuantity"u8))
        {
            value = ReadQuantity(ref r, new Quantity());
        }
        else if (r.ValueTextEquals("valueCodeableConcept"u8))
        {
            value = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("valueInteger"u8))
        {
            Read(ref r);
            value = new Integer(r.TokenType == JsonTokenType.Number ? r.GetInt32() : throw Unexpected("integer"));
        }
        else if (r.ValueTextEquals("valueDecimal"u8))
        {
            Read(ref r);
            value = new FhirDecimal(r.TokenType == JsonTokenType.Number ? r.GetDecimal() : throw Unexpected("decimal"));
        }
        else if (r.ValueTextEquals("valueString"u8))
        {
            value = new FhirString(ReadString(ref r));
        }
        else if (r.ValueTextEquals("valueBoolean"u8))
        {
            value = new FhirBoolean(ReadBoolean(ref r));
        }
        else if (r.ValueTextEquals("valueDateTime"u8))
        {
            value = ReadDateTime(ref r);
        }
        else
        {
            value = null;
            if (r.ValueSpan.StartsWith("value"u8) && r.ValueSpan.Length > "value".Length && char.IsAsciiLetterUpper((char)r.ValueSpan[5]))
            {
                throw Unexpected("a value[x] type the fast path does not read");
            }

            return false;
        }

        return true;
    }

    private static bool TryReadOnsetOrAbatement(ref Utf8JsonReader r, ReadOnlySpan<byte> prefix, out DataType? value)
    {
        value = null;
        var name = r.ValueSpan;
        if (!name.StartsWith(prefix))
        {
            return false;
        }

        var suffix = name[prefix.Length..];
        if (suffix.SequenceEqual("DateTime"u8))
        {
            value = ReadDateTime(ref r);
        }
        else if (suffix.SequenceEqual("Period"u8))
        {
            value = ReadPeriod(ref r);
        }
        else if (suffix.SequenceEqual("Age"u8))
        {
            value = ReadQuantity(ref r, new Age());
        }
        else if (suffix.SequenceEqual("String"u8))
        {
            value = new FhirString(ReadString(ref r));
        }
        else if (suffix.SequenceEqual("Boolean"u8))
        {
            value = new FhirBoolean(ReadBoolean(ref r));
        }
        else if (suffix.Length > 0 && char.IsAsciiLetterUpper((char)suffix[0]))
        {
            throw Unexpected("an onset[x] or abatement[x] type the fast path does not read");
        }
        else
        {
            return false;
        }

        return true;
    }

    private static T ReadQuantity<T>(ref Utf8JsonReader r, T quantity)
        where T : Quantity
    {
        ReadObject(ref r);
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("value"u8))
            {
                Read(ref r);
                quantity.Value = r.TokenType == JsonTokenType.Number ? r.GetDecimal() : throw Unexpected("decimal");
            }
            else if (r.ValueTextEquals("unit"u8))
            {
                quantity.Unit = ReadString(ref r);
            }
            else if (r.ValueTextEquals("system"u8))
            {
                quantity.System = ReadUri(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                quantity.Code = Checked(ReadString(ref r), FhirPrimitives.IsCode);
            }
            else if (r.ValueTextEquals("comparator"u8))
            {
                quantity.Comparator = ReadEnum<Quantity.QuantityComparator>(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return quantity;
    }

    private static CodeableConcept ReadConcept(ref Utf8JsonReader r)
    {
        Read(ref r);
        return ReadConceptBody(ref r);
    }

    private static CodeableConcept ReadConceptBody(ref Utf8JsonReader r) => ReadNestedMembers(ref r, new CodeableConcept(), ConceptBodyMember);

    private static bool ConceptBodyMember(ref Utf8JsonReader r, CodeableConcept concept)
    {
        if (r.ValueTextEquals("coding"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                Expect(ref r, JsonTokenType.StartObject);
                concept.Coding.Add(ReadCodingBody(ref r));
            }
        }
        else if (r.ValueTextEquals("text"u8))
        {
            concept.Text = ReadString(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    // The members of a Coding whose '{' has been read.
    private static Coding ReadCodingBody(ref Utf8JsonReader r) => ReadMembers(ref r, new Coding(), CodingBodyMember);

    private static bool CodingBodyMember(ref Utf8JsonReader r, Coding coding)
    {
        if (r.ValueTextEquals("system"u8))
        {
            coding.System = ReadUri(ref r);
        }
        else if (r.ValueTextEquals("code"u8))
        {
            coding.Code = Checked(ReadString(ref r), FhirPrimitives.IsCode);
        }
        else if (r.ValueTextEquals("display"u8))
        {
            coding.Display = ReadString(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static ResourceReference ReadReference(ref Utf8JsonReader r) => ReadNextMembers(ref r, new ResourceReference(), ReferenceMember);

    private static bool ReferenceMember(ref Utf8JsonReader r, ResourceReference reference)
    {
        if (r.ValueTextEquals("reference"u8))
        {
            reference.Reference = ReadString(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Period ReadPeriod(ref Utf8JsonReader r) => ReadNextMembers(ref r, new Period(), PeriodMember);

    private static bool PeriodMember(ref Utf8JsonReader r, Period period)
    {
        if (r.ValueTextEquals("start"u8))
        {
            period.StartElement = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("end"u8))
        {
            period.EndElement = ReadDateTime(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

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

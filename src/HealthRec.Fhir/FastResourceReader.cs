using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>
/// The fast path of <see cref="FhirJson"/>: reads straight from UTF-8 JSON into Firely POCOs, filling only the
/// elements <see cref="Ingestion.FhirRecordMapper"/> and the sources use and skipping the rest (narrative, meta,
/// identifiers, and the whole body of resource types HealthRec does not map). Every element it does read is checked
/// as the SDK's validating parser checks it (JSON token type, primitive syntax, required codes); anything it does not
/// expect ends the attempt, and the caller parses the resource again on the validating path, which reports it.
/// So both paths give the same record and the same report for everything HealthRec reads; problems in the elements
/// the fast path skips are reported only by <see cref="FhirParsing.Strict"/>.
/// </summary>
internal static partial class FastResourceReader
{
    /// <summary>The resource, or false when the validating path must decide (malformed, invalid or unexpected input).</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out Resource? resource)
    {
        var reader = new Utf8JsonReader(json, FhirJson.ReaderOptions);
        return TryRead(ref reader, topLevel: true, out resource);
    }

    /// <summary>
    /// The resource whose <c>{</c> is the reader's current token, read in place inside a larger JSON text (a CDS call's
    /// prefetch value): true leaves the reader on the resource's <c>}</c>, false leaves it where it was, so the caller can
    /// skip the value and hand its bytes to the validating path.
    /// </summary>
    public static bool TryRead(ref Utf8JsonReader reader, out Resource? resource) => TryRead(ref reader, topLevel: false, out resource);

    private static bool TryRead(ref Utf8JsonReader reader, bool topLevel, out Resource? resource)
    {
        resource = null;
        var attempt = reader;
        try
        {
            var read = ReadResource(ref attempt, topLevel);
            if (topLevel && attempt.Read())
            {
                return false;
            }

            reader = attempt;
            resource = read;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // A value read as the wrong JSON type.
            return false;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            // A value of the wrong FHIR type for an element (e.g. a string where a decimal goes): the SDK reports it.
            return false;
        }
    }

    private static Resource ReadResource(ref Utf8JsonReader r, bool topLevel)
    {
        if (topLevel)
        {
            Read(ref r);
        }

        Expect(ref r, JsonTokenType.StartObject);
        if (!NextProperty(ref r) || !r.ValueTextEquals("resourceType"u8))
        {
            throw Unexpected("resourceType is not the first member");
        }

        var type = ReadString(ref r);
        return type switch
        {
            "Patient" => PatientMembers.Fill(ref r, new Patient()),
            "Observation" => ObservationMembers.Fill(ref r, new Observation()),
            "Condition" => ConditionMembers.Fill(ref r, new Condition()),
            "MedicationStatement" => StatementMembers.Fill(ref r, new MedicationStatement()),
            "MedicationRequest" => RequestMembers.Fill(ref r, new MedicationRequest()),
            "Encounter" => EncounterMembers.Fill(ref r, new Encounter()),
            "QuestionnaireResponse" => QuestionnaireResponseMembers.Fill(ref r, new QuestionnaireResponse()),
            "DiagnosticReport" => DiagnosticReportMembers.Fill(ref r, new DiagnosticReport()),
            "Bundle" => BundleMembers.Fill(ref r, new Bundle()),
            "AllergyIntolerance" => AllergyMembers.Fill(ref r, new AllergyIntolerance()),
            "Procedure" => ProcedureMembers.Fill(ref r, new Procedure()),
            _ => ReadOther(ref r, type),
        };
    }

    // A type HealthRec does not map: its id is kept (reports name it), its body skipped.
    private static Resource ReadOther(ref Utf8JsonReader r, string type)
    {
        if (ModelInfo.ModelInspector.FindClassMapping(type) is not { IsResource: true } mapping || mapping.CreateInstance() is not Resource resource)
        {
            throw Unexpected($"unknown resource type {type}");
        }

        return IdOnly.Fill(ref r, resource);
    }

    private static readonly Members<Resource> IdOnly = new();

    private static readonly Members<Bundle> BundleMembers = new(
        ("type", static (ref r, bundle) => bundle.Type = ReadEnum<Bundle.BundleType>(ref r)),
        ("entry", static (ref r, bundle) => ReadList(ref r, bundle.Entry)),

        // A searchset's paging links: a reader that dropped them made page 1 look like the whole result.
        ("link", static (ref r, bundle) => ReadList(ref r, bundle.Link)));

    private static readonly Members<Bundle.LinkComponent> LinkMembers = new(
        ("relation", static (ref r, link) => link.Relation = ReadString(ref r)),
        ("url", static (ref r, link) => link.Url = ReadUri(ref r)));

    private static readonly Members<Bundle.EntryComponent> EntryMembers = new(
        ("fullUrl", static (ref r, entry) => entry.FullUrl = ReadUri(ref r)),
        ("resource", static (ref r, entry) =>
        {
            Read(ref r);
            entry.Resource = ReadResource(ref r, topLevel: false);
        }));

}

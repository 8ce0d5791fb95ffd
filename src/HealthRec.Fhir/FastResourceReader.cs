using System.Text.Json;
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

    /// <summary>Reads one member of the object being filled; false when it is not one the reader knows (it is skipped).</summary>
    private delegate bool MemberReader<in T>(ref Utf8JsonReader r, T target);

    // The members of an object into its target: a resource's id, then each member the type's reader knows; the rest skipped.
    private static T ReadMembers<T>(ref Utf8JsonReader r, T target, MemberReader<T> member)
        where T : Base
    {
        while (NextProperty(ref r))
        {
            if (target is Resource resource && r.ValueTextEquals("id"u8))
            {
                resource.Id = ReadId(ref r);
            }
            else if (!member(ref r, target))
            {
                Skip(ref r);
            }
        }

        return target;
    }

    // The same for an object that is the current token (an array item) or the next one (a member's value).
    private static T ReadNestedMembers<T>(ref Utf8JsonReader r, T target, MemberReader<T> member)
        where T : Base
    {
        Expect(ref r, JsonTokenType.StartObject);
        return ReadMembers(ref r, target, member);
    }

    private static T ReadNextMembers<T>(ref Utf8JsonReader r, T target, MemberReader<T> member)
        where T : Base
    {
        ReadObject(ref r);
        return ReadMembers(ref r, target, member);
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
            "Patient" => ReadPatient(ref r),
            "Observation" => ReadObservation(ref r),
            "Condition" => ReadCondition(ref r),
            "MedicationStatement" => ReadStatement(ref r),
            "MedicationRequest" => ReadRequest(ref r),
            "Encounter" => ReadEncounter(ref r),
            "QuestionnaireResponse" => ReadQuestionnaireResponse(ref r),
            "DiagnosticReport" => ReadDiagnosticReport(ref r),
            "Bundle" => ReadBundle(ref r),
            "AllergyIntolerance" => ReadAllergy(ref r),
            "Procedure" => ReadProcedure(ref r),
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

        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                resource.Id = ReadId(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return resource;
    }

    private static Bundle ReadBundle(ref Utf8JsonReader r) => ReadMembers(ref r, new Bundle(), BundleMember);

    private static bool BundleMember(ref Utf8JsonReader r, Bundle bundle)
    {
        if (r.ValueTextEquals("type"u8))
        {
            bundle.Type = ReadEnum<Bundle.BundleType>(ref r);
        }
        else if (r.ValueTextEquals("entry"u8))
        {
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                bundle.Entry.Add(ReadEntry(ref r));
            }
        }
        else if (r.ValueTextEquals("link"u8))
        {
            // A searchset's paging links: a reader that dropped them made page 1 look like the whole result.
            ReadArray(ref r);
            while (NextItem(ref r))
            {
                bundle.Link.Add(ReadLink(ref r));
            }
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Bundle.LinkComponent ReadLink(ref Utf8JsonReader r) => ReadNestedMembers(ref r, new Bundle.LinkComponent(), LinkMember);

    private static bool LinkMember(ref Utf8JsonReader r, Bundle.LinkComponent link)
    {
        if (r.ValueTextEquals("relation"u8))
        {
            link.Relation = ReadString(ref r);
        }
        else if (r.ValueTextEquals("url"u8))
        {
            link.Url = ReadUri(ref r);
        }
        else
        {
            return false;
        }

        return true;
    }

    private static Bundle.EntryComponent ReadEntry(ref Utf8JsonReader r) => ReadNestedMembers(ref r, new Bundle.EntryComponent(), EntryMember);

    private static bool EntryMember(ref Utf8JsonReader r, Bundle.EntryComponent entry)
    {
        if (r.ValueTextEquals("fullUrl"u8))
        {
            entry.FullUrl = ReadUri(ref r);
        }
        else if (r.ValueTextEquals("resource"u8))
        {
            Read(ref r);
            entry.Resource = ReadResource(ref r, topLevel: false);
        }
        else
        {
            return false;
        }

        return true;
    }
}

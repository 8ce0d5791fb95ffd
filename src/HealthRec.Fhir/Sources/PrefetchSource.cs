using System.Runtime.InteropServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using HealthRec.Clinical.Ingestion;
using HealthRec.Fhir.Ingestion;

namespace HealthRec.Fhir.Sources;

/// <summary>What one CDS Hooks prefetch key held.</summary>
public enum PrefetchValue
{
    /// <summary>A resource or a Bundle of them.</summary>
    Data,

    /// <summary><c>null</c>: the client has no data for the template.</summary>
    NoData,

    /// <summary>An OperationOutcome (or a Bundle of only OperationOutcomes): the client could not get the data.</summary>
    OperationOutcome,

    /// <summary>Not JSON the SDK can read as a FHIR resource (reported).</summary>
    Invalid,

    /// <summary>
    /// One page of a searchset that has more (a <c>next</c> link): never used as if it were all of the data — the key is
    /// read whole from the FHIR server, or counts as missing.
    /// </summary>
    Partial,
}

/// <summary>
/// Collects one patient's resources from CDS Hooks prefetch values (a resource, a searchset Bundle, or <c>null</c>) and
/// from resources the caller fetched itself, and groups them for the mapper. Resources about another patient are
/// reported and left out.
/// </summary>
public sealed class PrefetchReader(IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
{
    private readonly PatientGrouping _grouping = new(report);

    /// <summary>Reads one prefetch value and says what it held; a Bundle's entries are added one by one.</summary>
    public PrefetchValue Add(string key, JsonElement value)
    {
        var where = $"prefetch '{key}'";
        if (value.ValueKind == JsonValueKind.Null)
        {
            return PrefetchValue.NoData;
        }

        if (HasNextPage(value))
        {
            return PrefetchValue.Partial;
        }

        var resource = FhirJson.TryParse(JsonMarshal.GetRawUtf8Value(value), where, report, parsing: parsing);
        switch (resource)
        {
            case null:
                return PrefetchValue.Invalid;
            case OperationOutcome:
                report.Problem(ProblemKind.OperationOutcome, where, "the client returned an OperationOutcome instead of data");
                return PrefetchValue.OperationOutcome;
            case Bundle bundle:
                var data = 0;
                var outcomes = 0;
                for (var i = 0; i < bundle.Entry.Count; i++)
                {
                    switch (bundle.Entry[i].Resource)
                    {
                        case null:
                            report.Problem(ProblemKind.EntryWithoutResource, $"{where} entry {i}", "Bundle entry has no resource");
                            break;
                        case OperationOutcome:
                            outcomes++;
                            break;
                        case var entry:
                            data++;
                            _grouping.Add(entry, $"{where} entry {i}");
                            break;
                    }
                }

                if (outcomes > 0 && data == 0)
                {
                    report.Problem(ProblemKind.OperationOutcome, where, "the client returned only OperationOutcomes instead of data");
                    return PrefetchValue.OperationOutcome;
                }

                return PrefetchValue.Data;
            default:
                _grouping.Add(resource, where);
                return PrefetchValue.Data;
        }
    }

    // A Bundle whose link list has relation "next": the client prefetched one page of a paged search.
    private static bool HasNextPage(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty("link", out var links) && links.ValueKind == JsonValueKind.Array
        && links.EnumerateArray().Any(l => l.ValueKind == JsonValueKind.Object && l.TryGetProperty("relation", out var relation)
            && relation.ValueKind == JsonValueKind.String && relation.ValueEquals("next"));

    /// <summary>Adds resources the caller fetched itself (from the client's FHIR server).</summary>
    public void Add(string where, IEnumerable<Resource> resources)
    {
        foreach (var resource in resources)
        {
            _grouping.Add(resource, where);
        }
    }

    /// <summary>The patient's resources; resources about anyone else are reported.</summary>
    public PatientResources Finish(string patientId, string origin = "prefetch")
    {
        var groups = _grouping.Drain(origin).ToList();
        var mine = groups.FirstOrDefault(g => string.Equals(g.PatientKey, patientId, StringComparison.Ordinal));
        foreach (var other in groups.Where(g => !ReferenceEquals(g, mine)))
        {
            foreach (var resource in other.Resources)
            {
                report.Problem(ProblemKind.UnknownPatientReference, $"{resource.TypeName}/{resource.Id} ({origin})",
                    "refers to a patient other than the one in context");
            }
        }

        return mine ?? new PatientResources(patientId, [], origin);
    }
}

/// <summary>
/// A CDS Hooks <c>prefetch</c> object: each key holds a resource, a searchset Bundle, or <c>null</c> (the client
/// found no data). An OperationOutcome in place of a result is an error for that key, reported and treated as
/// missing. Keys the client did not provide are the caller's to fetch.
/// </summary>
public static class PrefetchSource
{
    public static PatientResources Read(JsonElement prefetch, string patientId, IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
    {
        var reader = new PrefetchReader(report, parsing);
        foreach (var property in prefetch.EnumerateObject())
        {
            reader.Add(property.Name, property.Value);
        }

        return reader.Finish(patientId);
    }
}

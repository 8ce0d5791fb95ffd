using System.Runtime.InteropServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using HealthRec.Clinical.Ingestion;
using HealthRec.Fhir.Ingestion;

namespace HealthRec.Fhir.Sources;

/// <summary>
/// A CDS Hooks <c>prefetch</c> object: each key holds a resource, a searchset Bundle, or <c>null</c> (the client
/// found no data). An OperationOutcome in place of a result is an error for that key, reported and treated as
/// missing. Keys the client did not provide are the caller's to fetch.
/// </summary>
public static class PrefetchSource
{
    public static PatientResources Read(JsonElement prefetch, string patientId, IngestionReport report, FhirParsing parsing = FhirParsing.Fast)
    {
        var grouping = new PatientGrouping(report);
        foreach (var property in prefetch.EnumerateObject())
        {
            var where = $"prefetch '{property.Name}'";
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            var resource = FhirJson.TryParse(JsonMarshal.GetRawUtf8Value(property.Value), where, report, parsing: parsing);
            switch (resource)
            {
                case null:
                    break;
                case OperationOutcome:
                    report.Problem(ProblemKind.OperationOutcome, where, "the client returned an OperationOutcome instead of data");
                    break;
                case Bundle bundle:
                    for (var i = 0; i < bundle.Entry.Count; i++)
                    {
                        if (bundle.Entry[i].Resource is { } entry and not OperationOutcome)
                        {
                            grouping.Add(entry, $"{where} entry {i}");
                        }
                        else if (bundle.Entry[i].Resource is null)
                        {
                            report.Problem(ProblemKind.EntryWithoutResource, $"{where} entry {i}", "Bundle entry has no resource");
                        }
                    }

                    break;
                default:
                    grouping.Add(resource, where);
                    break;
            }
        }

        var groups = grouping.Drain("prefetch").ToList();
        var mine = groups.FirstOrDefault(g => string.Equals(g.PatientKey, patientId, StringComparison.Ordinal));
        foreach (var other in groups.Where(g => !ReferenceEquals(g, mine)))
        {
            foreach (var resource in other.Resources)
            {
                report.Problem(ProblemKind.UnknownPatientReference, $"{resource.TypeName}/{resource.Id} (prefetch)",
                    "refers to a patient other than the one in context");
            }
        }

        return mine ?? new PatientResources(patientId, [], "prefetch");
    }
}

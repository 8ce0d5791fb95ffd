using System.Runtime.InteropServices;
using Hl7.Fhir.Model;

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
/// One prefetch key read from a CDS call's body, before the call's service is known: what it held, its resources with
/// where each was found, and the problems reading it (replayed into the call's report when the key is used).
/// </summary>
public sealed record PrefetchedKey(PrefetchValue Held, IReadOnlyList<(Resource Resource, string Where)> Resources, IReadOnlyList<IngestionProblem> Problems);

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
        var json = JsonMarshal.GetRawUtf8Value(value);
        var reader = new Utf8JsonReader(json, FhirJson.ReaderOptions);
        reader.Read();
        return Add(Read(key, json, ref reader, parsing));
    }

    /// <summary>Adds a key read by <see cref="Read"/>: its problems are reported, its resources grouped.</summary>
    public PrefetchValue Add(PrefetchedKey key)
    {
        foreach (var problem in key.Problems)
        {
            report.Problem(problem.Kind, problem.Where, problem.Message);
        }

        foreach (var (resource, where) in key.Resources)
        {
            _grouping.Add(resource, where);
        }

        return key.Held;
    }

    /// <summary>
    /// Reads the prefetch value whose first token is the reader's current one, in place in the call's body
    /// <paramref name="json"/> (no copy, and no document of the whole body first); the reader is left on its last token.
    /// Throws <see cref="JsonException"/> only when the body is not JSON.
    /// </summary>
    public static PrefetchedKey Read(string key, ReadOnlySpan<byte> json, ref Utf8JsonReader reader, FhirParsing parsing = FhirParsing.Fast)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return new PrefetchedKey(PrefetchValue.NoData, [], []);
        }

        var where = $"prefetch '{key}'";
        var problems = new List<IngestionProblem>();
        var scratch = new IngestionReport(problems.Add);
        var start = checked((int)reader.TokenStartIndex);
        var resource = FhirJson.TryParse(json, ref reader, where, scratch, parsing);
        var resources = new List<(Resource, string)>();
        var held = Held(resource, where, scratch, resources);
        // One page of several is not the patient's data, whatever it holds (read before anything about it is reported).
        if (resource is Bundle { Link: var links } ? links.Exists(l => l.Relation == "next")
            : held == PrefetchValue.Invalid && HasNextPage(json[start..checked((int)reader.BytesConsumed)]))
        {
            return new PrefetchedKey(PrefetchValue.Partial, [], []);
        }

        return new PrefetchedKey(held, resources, problems);
    }

    private static PrefetchValue Held(Resource? resource, string where, IngestionReport report, List<(Resource, string)> resources)
    {
        switch (resource)
        {
            case null:
                return PrefetchValue.Invalid;
            case OperationOutcome:
                report.Problem(ProblemKind.OperationOutcome, where, "the client returned an OperationOutcome instead of data");
                return PrefetchValue.OperationOutcome;
            case Bundle bundle:
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
                            resources.Add((entry, $"{where} entry {i}"));
                            break;
                    }
                }

                if (outcomes > 0 && resources.Count == 0)
                {
                    report.Problem(ProblemKind.OperationOutcome, where, "the client returned only OperationOutcomes instead of data");
                    return PrefetchValue.OperationOutcome;
                }

                return PrefetchValue.Data;
            default:
                resources.Add((resource, where));
                return PrefetchValue.Data;
        }
    }

    // A Bundle whose link list has relation "next", read from JSON the SDK could not parse as a resource.
    private static bool HasNextPage(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var value = document.RootElement;
            return value.ValueKind == JsonValueKind.Object && value.TryGetProperty("link", out var links) && links.ValueKind == JsonValueKind.Array
                && links.EnumerateArray().Any(l => l.ValueKind == JsonValueKind.Object && l.TryGetProperty("relation", out var relation)
                    && relation.ValueKind == JsonValueKind.String && relation.ValueEquals("next"));
        }
        catch (JsonException)
        {
            return false;
        }
    }

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

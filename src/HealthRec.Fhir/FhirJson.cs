using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using HealthRec.Clinical.Ingestion;

namespace HealthRec.Fhir;

/// <summary>How FHIR JSON is read.</summary>
public enum FhirParsing
{
    /// <summary>
    /// Reads only the elements HealthRec maps, checking each as the SDK would; anything unexpected is parsed again
    /// strictly, so records and their reported problems are the same as <see cref="Strict"/> for what HealthRec reads.
    /// About three times faster; the default for every source.
    /// </summary>
    Fast,

    /// <summary>The SDK's validating parser on every resource: also reports problems in elements HealthRec ignores.</summary>
    Strict,
}

/// <summary>
/// FHIR R4 JSON with the Firely SDK: one cached <see cref="JsonSerializerOptions"/> (building it per call is very
/// slow), and parsing that turns every failure into a counted problem instead of an exception.
/// </summary>
public static class FhirJson
{
    /// <summary>The one set of options for FHIR POCOs, in and out.</summary>
    public static JsonSerializerOptions Options { get; } = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    /// <summary>
    /// Parses one resource; a malformed or invalid one is reported under <paramref name="where"/> and gives null.
    /// With <paramref name="keepValidParts"/> (a Bundle holding many patients), an invalid resource is reported and
    /// what the SDK could read of it is kept, so one bad element does not lose every other entry.
    /// </summary>
    public static Resource? TryParse(ReadOnlySpan<byte> json, string where, IngestionReport report, bool keepValidParts = false,
        FhirParsing parsing = FhirParsing.Fast)
    {
        if (parsing == FhirParsing.Fast && FastResourceReader.TryRead(json, out var fast))
        {
            return fast;
        }

        try
        {
            return JsonSerializer.Deserialize<Resource>(json, Options);
        }
        catch (DeserializationFailedException ex)
        {
            report.Problem(ProblemKind.InvalidResource, where, Describe(ex));
            return keepValidParts ? ex.PartialResult as Resource : null;
        }
        catch (JsonException ex)
        {
            report.Problem(ProblemKind.MalformedJson, where, ex.Message);
            return null;
        }
    }

    public static Resource? TryParse(string json, string where, IngestionReport report, FhirParsing parsing = FhirParsing.Fast) =>
        TryParse(System.Text.Encoding.UTF8.GetBytes(json), where, report, parsing: parsing);

    public static string Serialize(Resource resource) => JsonSerializer.Serialize(resource, Options);

    // The SDK lists every issue; the first few say enough, and none carries a resource body.
    private static string Describe(DeserializationFailedException ex)
    {
        var all = ex.Exceptions.ToList();
        var issues = all.Take(3).Select(e => e.Message).ToList();
        var more = all.Count - issues.Count;
        return string.Join(" | ", issues) + (more > 0 ? $" (+{more} more)" : "");
    }
}

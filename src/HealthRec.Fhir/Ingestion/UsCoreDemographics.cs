using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Ingestion;

/// <summary>
/// Race and ethnicity as US Core states them on a Patient (the us-core-race and us-core-ethnicity extensions, whose
/// <c>ombCategory</c> codings are the OMB categories of CDC Race and Ethnicity, urn:oid:2.16.840.1.113883.6.238). Read
/// by code, never by display; an unknown or asked-but-unknown category reads as none. Read for the fairness audit only:
/// no model takes them as inputs.
/// </summary>
public static class UsCoreDemographics
{
    public const string RaceUrl = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
    public const string EthnicityUrl = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";

    private static readonly Dictionary<string, string> Races = new(StringComparer.Ordinal)
    {
        ["1002-5"] = "American Indian or Alaska Native",
        ["2028-9"] = "Asian",
        ["2054-5"] = "Black or African American",
        ["2076-8"] = "Native Hawaiian or Other Pacific Islander",
        ["2106-3"] = "White",
    };

    private static readonly Dictionary<string, string> Ethnicities = new(StringComparer.Ordinal)
    {
        ["2135-2"] = "Hispanic or Latino",
        ["2186-5"] = "Not Hispanic or Latino",
    };

    public static (string? Race, string? Ethnicity) Of(Patient patient) =>
        (Category(patient, RaceUrl, Races, "More than one race"), Category(patient, EthnicityUrl, Ethnicities, null));

    private static string? Category(Patient patient, string url, Dictionary<string, string> names, string? several)
    {
        var stated = patient.Extension.Where(e => e.Url == url)
            .SelectMany(e => e.Extension.Where(x => x.Url == "ombCategory"))
            .Select(x => x.Value is Coding { Code: { } code } && names.TryGetValue(code, out var name) ? name : null)
            .OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        return stated.Count switch
        {
            0 => null,
            1 => stated[0],
            _ => several,
        };
    }
}

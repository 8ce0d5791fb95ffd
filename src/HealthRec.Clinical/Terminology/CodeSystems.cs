namespace HealthRec.Clinical.Terminology;

/// <summary>The code system URIs HealthRec reads, as FHIR names them.</summary>
public static class CodeSystems
{
    public const string Snomed = "http://snomed.info/sct";
    public const string Icd10Cm = "http://hl7.org/fhir/sid/icd-10-cm";
    public const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    public const string Atc = "http://www.whocc.no/atc";
    public const string Loinc = "http://loinc.org";
    public const string Ucum = "http://unitsofmeasure.org";

    /// <summary>LOINC 69453-9, "Cause of death [US Standard Certificate of Death]": an Observation whose coded value is the cause.</summary>
    public const string CauseOfDeath = "69453-9";

    /// <summary>A system as a clinician reads it beside a code (<c>RxNorm 723</c>); a system HealthRec does not name, as its URI.</summary>
    public static string ShortName(string system) => system switch
    {
        Snomed => "SNOMED CT",
        Icd10Cm => "ICD-10-CM",
        RxNorm => "RxNorm",
        Atc => "ATC",
        Loinc => "LOINC",
        _ => system,
    };

    /// <summary>Codes in hierarchical-by-prefix systems compare without dots and case (E11.9 = e119).</summary>
    internal static bool IsPrefixHierarchy(string system) =>
        string.Equals(system, Icd10Cm, StringComparison.Ordinal) || string.Equals(system, Atc, StringComparison.Ordinal);

    internal static string NormalizeCode(string system, string code) =>
        IsPrefixHierarchy(system) ? code.Replace(".", "", StringComparison.Ordinal).Trim().ToUpperInvariant() : code.Trim();
}

namespace HealthRec.Clinical.Terminology;

/// <summary>
/// An analyte-specific conversion to the canonical unit: canonical = value * Factor + Offset. An
/// <see cref="Equivalence"/> is not a conversion of the same quantity but a unit accepted in place of the canonical one
/// under a documented assumption (eGFR in mL/min read as mL/min/1.73 m²); values read under it are marked and counted.
/// </summary>
public sealed record UnitConversion(string Unit, double Factor, double Offset, string Source, bool Equivalence = false);

/// <summary>A coding's system and code: <c>http://loinc.org|4548-4</c> in FHIR's token syntax.</summary>
public readonly record struct SystemCode(string System, string Code)
{
    /// <summary>Parses <c>system|code</c>; null when either side is empty or the bar is missing.</summary>
    public static SystemCode? Parse(string token) =>
        token.LastIndexOf('|') is var bar and > 0 && bar < token.Length - 1 ? new SystemCode(token[..bar], token[(bar + 1)..]) : null;

    public override string ToString() => $"{System}|{Code}";
}

/// <summary>
/// A lab, vital sign or survey score HealthRec reads, the codes that report it (in any code system: LOINC, a site's
/// local codes), its canonical unit and possible range.
/// </summary>
public sealed record Analyte(
    string Id,
    string Title,
    string Unit,
    ImmutableArray<SystemCode> Codes,
    ImmutableArray<UnitConversion> Conversions,
    double PlausibleMin,
    double PlausibleMax)
{
    /// <summary>Other spellings of the canonical unit or a conversion's unit seen in EHR data (e.g. <c>mL/min/1.73m2</c>), each to the unit it spells.</summary>
    public ImmutableDictionary<string, string> Spellings { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>The adult reference interval (either end may be open), used to word explanations; never by a model.</summary>
    public (double? Low, double? High) Reference { get; init; }

    /// <summary>"low", "raised" or "normal" against the reference interval; null without one.</summary>
    public string? Interpret(double value) => Reference switch
    {
        (null, null) => null,
        ({ } low, _) when value < low => "low",
        (_, { } high) when value >= high => "raised",
        _ => "normal",
    };
}

/// <summary>
/// A coded observation read as an ordinal or a category number (e.g. smoking status: 0 never, 1 former, 2 current).
/// Its values are codes of <see cref="System"/> (or <c>system|code</c> tokens of another), matched in a
/// valueCodeableConcept; a valueString matches a code or its display (case ignored), a valueBoolean the codes
/// <c>true</c> and <c>false</c>.
/// </summary>
public sealed record CodedAnalyte(
    string Id,
    string Title,
    ImmutableArray<SystemCode> Codes,
    string System,
    ImmutableDictionary<string, int> ValueByCode,
    ImmutableHashSet<string> UnknownCodes)
{
    /// <summary>Each value's displays and codes, lower case, to the value: how a valueString is matched.</summary>
    public ImmutableDictionary<string, int> ValueByText { get; init; } = ImmutableDictionary<string, int>.Empty;

    /// <summary>Each value's words (the first code's display listed for it: "Ex-smoker" for 1), for reasons a clinician reads.</summary>
    public ImmutableDictionary<int, string> Labels { get; init; } = ImmutableDictionary<int, string>.Empty;

    /// <summary>The title without its parenthesised value key: "Tobacco smoking status".</summary>
    public string ShortTitle => Title.IndexOf(" (", StringComparison.Ordinal) is > 0 and var cut ? Title[..cut] : Title;
}

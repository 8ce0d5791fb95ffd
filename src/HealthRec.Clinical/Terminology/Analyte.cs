using System.Collections.Immutable;

namespace HealthRec.Clinical.Terminology;

/// <summary>An analyte-specific conversion to the canonical unit: canonical = value * Factor + Offset.</summary>
public sealed record UnitConversion(string Unit, double Factor, double Offset, string Source);

/// <summary>A lab or vital sign HealthRec reads, its LOINC codes, canonical unit and possible range.</summary>
public sealed record Analyte(
    string Id,
    string Title,
    string Unit,
    ImmutableArray<string> LoincCodes,
    ImmutableArray<UnitConversion> Conversions,
    double PlausibleMin,
    double PlausibleMax)
{
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

/// <summary>A coded observation read as an ordinal (e.g. smoking status: 0 never, 1 former, 2 current).</summary>
public sealed record CodedAnalyte(
    string Id,
    string Title,
    ImmutableArray<string> LoincCodes,
    string System,
    ImmutableDictionary<string, int> ValueByCode,
    ImmutableHashSet<string> UnknownCodes);

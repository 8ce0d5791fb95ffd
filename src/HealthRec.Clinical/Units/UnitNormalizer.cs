using Fhir.Metrics;

namespace HealthRec.Clinical.Units;

public enum UnitOutcome
{
    Converted,

    /// <summary>Read under the analyte's stated equivalence (see <see cref="UnitConversion.Equivalence"/>): the caller marks and counts it.</summary>
    Equivalent,

    /// <summary>No unit, or a unit that is not valid UCUM.</summary>
    Unknown,

    /// <summary>Valid UCUM, but of another dimension than the analyte's (e.g. mg for glucose).</summary>
    Unconvertible,
}

/// <summary>
/// Converts an analyte's value to its canonical unit: the analyte's own conversions first (molar masses, the
/// HbA1c IFCC→NGSP equation), then UCUM dimension analysis for any unit of the same dimension as the canonical
/// unit or as one of those conversions' units (so µmol/L reaches mg/dL for glucose through mmol/L). Each
/// (analyte, unit) pair is resolved once and cached; an unknown or unconvertible unit is never guessed. A unit listed
/// among the analyte's spellings is read as the unit it spells; a unit accepted under an equivalence says so.
/// </summary>
public sealed class UnitNormalizer
{
    private static readonly Lazy<SystemOfUnits> Ucum = new(UCUM.Load);
    private static readonly Lock UcumLock = new();
    private readonly ConcurrentDictionary<(string Analyte, string Unit), Resolution> _cache = new();

    public UnitOutcome TryNormalize(Analyte analyte, double value, string? unit, out double canonical)
    {
        canonical = double.NaN;
        if (string.IsNullOrWhiteSpace(unit))
        {
            return UnitOutcome.Unknown;
        }

        var resolution = _cache.GetOrAdd((analyte.Id, unit.Trim()), key => Resolve(analyte, analyte.Spellings.GetValueOrDefault(key.Unit, key.Unit)));
        if (resolution.Outcome is UnitOutcome.Converted or UnitOutcome.Equivalent)
        {
            canonical = (value * resolution.Factor) + resolution.Offset;
        }

        return resolution.Outcome;
    }

    private static Resolution Resolve(Analyte analyte, string unit)
    {
        if (string.Equals(unit, analyte.Unit, StringComparison.Ordinal))
        {
            return new Resolution(UnitOutcome.Converted, 1, 0);
        }

        foreach (var conversion in analyte.Conversions)
        {
            if (string.Equals(unit, conversion.Unit, StringComparison.Ordinal))
            {
                return new Resolution(conversion.Equivalence ? UnitOutcome.Equivalent : UnitOutcome.Converted, conversion.Factor, conversion.Offset);
            }
        }

        var source = CanonicalOfOne(unit);
        if (source is null)
        {
            return new Resolution(UnitOutcome.Unknown, 0, 0);
        }

        if (Ratio(source, CanonicalOfOne(analyte.Unit)) is { } direct)
        {
            return new Resolution(UnitOutcome.Converted, direct, 0);
        }

        foreach (var conversion in analyte.Conversions)
        {
            if (Ratio(source, CanonicalOfOne(conversion.Unit)) is { } viaConversion)
            {
                return new Resolution(conversion.Equivalence ? UnitOutcome.Equivalent : UnitOutcome.Converted, viaConversion * conversion.Factor, conversion.Offset);
            }
        }

        return new Resolution(UnitOutcome.Unconvertible, 0, 0);
    }

    private static double? Ratio(Quantity source, Quantity? target) =>
        target is not null && source.Metric.Equals(target.Metric)
            ? source.Value.ValueToFloat() / target.Value.ValueToFloat()
            : null;

    // One unit expressed in UCUM base units; enough significant digits that the ratio is exact to double precision.
    private static Quantity? CanonicalOfOne(string unit)
    {
        lock (UcumLock)
        {
            try
            {
                return Ucum.Value.Canonical(Ucum.Value.Quantity("1.000000000000000", unit));
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException
                or NullReferenceException or IndexOutOfRangeException or NotImplementedException)
            {
                // Fhir.Metrics signals an unparseable unit with a variety of exceptions.
                return null;
            }
        }
    }

    private readonly record struct Resolution(UnitOutcome Outcome, double Factor, double Offset);
}

namespace HealthRec.ML.Evaluation;

/// <summary>
/// One feature's distribution in the training data: the upper edges of up to ten quantile bins (fewer when values
/// repeat, two for a 0/1 flag), the share of non-missing values in each, and the share missing.
/// </summary>
public sealed record FeatureBins(string Feature, ImmutableArray<double> Edges, ImmutableArray<double> Shares, double Missing)
{
    /// <summary>The lowest and highest value in training: beyond them a tree model extrapolates flat (null in references written before).</summary>
    public double? Min { get; init; }

    public double? Max { get; init; }
}

/// <summary>The training data's feature distributions (<c>feature-reference.json</c> beside a bundle), against which drift is measured.</summary>
public sealed record FeatureReference(int Examples, ImmutableArray<FeatureBins> Features)
{
    public const string FileName = "feature-reference.json";

    /// <summary>Quantile bins of every feature over the training rows.</summary>
    public static FeatureReference Build(IReadOnlyList<float[]> rows, IReadOnlyList<string> names, int bins = 10)
    {
        var features = ImmutableArray.CreateBuilder<FeatureBins>(names.Count);
        for (var j = 0; j < names.Count; j++)
        {
            var values = rows.Select(r => (double)r[j]).Where(v => !double.IsNaN(v)).Order().ToArray();
            var edges = values.Length == 0 ? [] : Enumerable.Range(1, bins - 1)
                .Select(k => values[Math.Min(values.Length - 1, (int)Math.Floor(k * values.Length / (double)bins))])
                .Where(edge => edge < values[^1]).Distinct().ToArray();
            var reference = new FeatureBins(names[j], [.. edges], [], 0)
            {
                Min = values.Length == 0 ? null : values[0],
                Max = values.Length == 0 ? null : values[^1],
            };
            features.Add(reference with { Shares = Shares(reference, rows, j, out var missing), Missing = missing });
        }

        return new FeatureReference(rows.Count, features.MoveToImmutable());
    }

    public void Save(string folder) => File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, ModelRegistry.Json));

    /// <summary>The reference saved beside a bundle, or null when the bundle has none.</summary>
    public static FeatureReference? Load(string folder)
    {
        var file = Path.Combine(folder, FileName);
        return File.Exists(file) ? JsonSerializer.Deserialize<FeatureReference>(File.ReadAllText(file), ModelRegistry.Json) : null;
    }

    // A value falls in the first bin whose upper edge is at or above it; above every edge, in the last bin.
    internal static ImmutableArray<double> Shares(FeatureBins bins, IReadOnlyList<float[]> rows, int column, out double missing)
    {
        var counts = new double[bins.Edges.Length + 1];
        var missingCount = 0;
        foreach (var row in rows)
        {
            var v = (double)row[column];
            if (double.IsNaN(v))
            {
                missingCount++;
                continue;
            }

            var k = bins.Edges.BinarySearch(v);
            counts[k >= 0 ? k : ~k]++;
        }

        var total = Math.Max(1, rows.Count);
        missing = missingCount / (double)total;
        return [.. counts.Select(c => c / total)];
    }
}

/// <summary>How far one feature moved: the population stability index and its band.</summary>
public sealed record FeatureShift(string Feature, double Psi, string Band);

/// <summary>
/// Feature drift by the population stability index, PSI = Σ (actual − expected) · ln(actual / expected) over the
/// training bins and the missing share, with the usual bands: below 0.1 stable, 0.1 to 0.25 watch, above 0.25 shifted.
/// Empty bins count as 0.0001 so that a bin emptied or newly filled gives a large, finite index.
/// </summary>
public static class FeatureDrift
{
    public const string Stable = "stable";
    public const string Watch = "watch";
    public const string Shifted = "shifted";
    private const double Floor = 1e-4;

    public static string Band(double psi) => psi < 0.1 ? Stable : psi <= 0.25 ? Watch : Shifted;

    /// <summary>Every feature's PSI of <paramref name="rows"/> against the reference, largest first.</summary>
    public static IReadOnlyList<FeatureShift> Compute(FeatureReference reference, IReadOnlyList<float[]> rows)
    {
        var shifts = new List<FeatureShift>(reference.Features.Length);
        for (var j = 0; j < reference.Features.Length; j++)
        {
            var bins = reference.Features[j];
            var actual = FeatureReference.Shares(bins, rows, j, out var missing);
            var psi = Term(missing, bins.Missing);
            for (var k = 0; k < bins.Shares.Length; k++)
            {
                psi += Term(actual[k], bins.Shares[k]);
            }

            shifts.Add(new FeatureShift(bins.Feature, Math.Round(psi, 6), Band(psi)));
        }

        return [.. shifts.OrderByDescending(s => s.Psi).ThenBy(s => s.Feature, StringComparer.Ordinal)];
    }

    /// <summary>The worst band among the features.</summary>
    public static string Worst(IEnumerable<FeatureShift> shifts)
    {
        var bands = shifts.Select(s => s.Band).ToHashSet(StringComparer.Ordinal);
        return bands.Contains(Shifted) ? Shifted : bands.Contains(Watch) ? Watch : Stable;
    }

    private static double Term(double actual, double expected)
    {
        if (actual == 0 && expected == 0)
        {
            return 0;
        }

        var a = Math.Max(actual, Floor);
        var e = Math.Max(expected, Floor);
        return (a - e) * Math.Log(a / e);
    }
}

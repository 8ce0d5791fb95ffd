namespace HealthRec.ML.Evaluation;

/// <summary>A rate with its 95 % interval (Wilson score interval on the weighted counts), or none when nothing was counted.</summary>
public readonly record struct Rate(double Value, double Low, double High, double Denominator)
{
    /// <summary>The rate of <paramref name="hits"/> in <paramref name="total"/>; NaN when the total is zero.</summary>
    public static Rate Of(double hits, double total)
    {
        if (total <= 0)
        {
            return new Rate(double.NaN, double.NaN, double.NaN, 0);
        }

        // Wilson (1927): the score interval, which stays inside [0, 1] and behaves for small counts and rates near 0 or 1.
        const double z = 1.959964;
        var p = hits / total;
        var centre = (p + (z * z / (2 * total))) / (1 + (z * z / total));
        var half = z * Math.Sqrt((p * (1 - p) / total) + (z * z / (4 * total * total))) / (1 + (z * z / total));
        return new Rate(p, Math.Max(0, centre - half), Math.Min(1, centre + half), total);
    }
}

/// <summary>One metric of a group set against the reference group's: their ratio and whether it leaves the band.</summary>
public sealed record FairnessRatio(string Metric, double Ratio, bool Flagged, string? NotJudged);

/// <summary>One group of a cohort dimension (e.g. sex=female) at the operating threshold.</summary>
public sealed record GroupFairness(string Dimension, string Group, bool Reference, int N, double Events, Rate Tpr, Rate Fpr, Rate Ppv, Rate FlagRate,
    IReadOnlyList<FairnessRatio> Ratios);

/// <summary>The audit of one model at its threshold: every group, its rates and their ratios to its dimension's reference group.</summary>
public sealed record FairnessReport(double Threshold, double Low, double High, int MinimumCount, IReadOnlyList<GroupFairness> Groups)
{
    /// <summary>The groups with at least one ratio outside the band.</summary>
    public IEnumerable<GroupFairness> Flagged => Groups.Where(g => g.Ratios.Any(r => r.Flagged));
}

/// <summary>
/// A fairness and threshold audit in the manner of Epic's open-source seismometer: per cohort group, the true-positive
/// rate (sensitivity), false-positive rate, positive predictive value and flag rate at the model's operating threshold,
/// each with a 95 % interval, and each as a ratio to the dimension's reference group (its largest group), flagged when
/// outside 0.8–1.25 (the four-fifths rule and its inverse). Counts are weighted by the examples' censoring weights, as
/// every other metric here. A ratio is not judged (and never flagged) when either group has fewer than
/// <c>minimumCount</c> examples in the metric's denominator: a gap in a handful of patients is noise, and the report
/// says so rather than staying silent.
/// </summary>
public static class FairnessAudit
{
    public const double Low = 0.8;
    public const double High = 1.25;

    public static FairnessReport Audit(ReadOnlySpan<double> probabilities, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, double threshold,
        IReadOnlyList<(string Dimension, string?[] GroupOf)> dimensions, int minimumCount = 10)
    {
        var groups = new List<GroupFairness>();
        foreach (var (dimension, groupOf) in dimensions)
        {
            if (groupOf.Length != probabilities.Length)
            {
                throw new ArgumentException($"{dimension}: {groupOf.Length} group labels for {probabilities.Length} examples", nameof(dimensions));
            }

            var counts = new Dictionary<string, (int N, double Tp, double Fp, double Tn, double Fn)>(StringComparer.Ordinal);
            for (var i = 0; i < probabilities.Length; i++)
            {
                if (groupOf[i] is not { } group)
                {
                    continue;
                }

                var w = weights.IsEmpty ? 1 : weights[i];
                var flagged = probabilities[i] >= threshold;
                var c = counts.GetValueOrDefault(group);
                c.N++;
                (c.Tp, c.Fp, c.Tn, c.Fn) = (labels[i], flagged) switch
                {
                    (true, true) => (c.Tp + w, c.Fp, c.Tn, c.Fn),
                    (false, true) => (c.Tp, c.Fp + w, c.Tn, c.Fn),
                    (false, false) => (c.Tp, c.Fp, c.Tn + w, c.Fn),
                    (true, false) => (c.Tp, c.Fp, c.Tn, c.Fn + w),
                };
                counts[group] = c;
            }

            if (counts.Count == 0)
            {
                continue;
            }

            var rates = counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (Group: c.Key, c.Value.N, Events: c.Value.Tp + c.Value.Fn,
                Tpr: Rate.Of(c.Value.Tp, c.Value.Tp + c.Value.Fn), Fpr: Rate.Of(c.Value.Fp, c.Value.Fp + c.Value.Tn),
                Ppv: Rate.Of(c.Value.Tp, c.Value.Tp + c.Value.Fp), Flag: Rate.Of(c.Value.Tp + c.Value.Fp, c.Value.Tp + c.Value.Fp + c.Value.Tn + c.Value.Fn))).ToList();
            var reference = rates.OrderByDescending(r => r.N).ThenBy(r => r.Group, StringComparer.Ordinal).First();
            foreach (var r in rates)
            {
                var isReference = r.Group == reference.Group;
                IReadOnlyList<FairnessRatio> ratios = isReference ? [] :
                [
                    Ratio("TPR", r.Tpr, reference.Tpr, minimumCount),
                    Ratio("FPR", r.Fpr, reference.Fpr, minimumCount),
                    Ratio("PPV", r.Ppv, reference.Ppv, minimumCount),
                    Ratio("flag rate", r.Flag, reference.Flag, minimumCount),
                ];
                groups.Add(new GroupFairness(dimension, r.Group, isReference, r.N, r.Events, r.Tpr, r.Fpr, r.Ppv, r.Flag, ratios));
            }
        }

        return new FairnessReport(threshold, Low, High, minimumCount, groups);
    }

    private static FairnessRatio Ratio(string metric, Rate group, Rate reference, int minimumCount)
    {
        if (group.Denominator < minimumCount || reference.Denominator < minimumCount)
        {
            return new FairnessRatio(metric, double.NaN, false, $"fewer than {minimumCount} in the denominator");
        }

        var (ratio, flagged) = Compare(group.Value, reference.Value);
        return new FairnessRatio(metric, ratio, flagged, null);
    }

    /// <summary>
    /// A rate against the reference group's: their ratio, and whether it leaves the band. Both zero is a ratio of 1;
    /// a rate where the reference has none is unbounded (positive infinity) and flagged.
    /// </summary>
    public static (double Ratio, bool Flagged) Compare(double rate, double reference)
    {
        var ratio = reference == 0 ? (rate == 0 ? 1 : double.PositiveInfinity) : rate / reference;
        return (ratio, ratio is < Low or > High);
    }
}

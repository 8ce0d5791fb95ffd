namespace HealthRec.ML.Recommendation;

/// <summary>
/// Ranking metrics of a recommender, per patient then averaged: precision@k, recall@k and NDCG@k (binary relevance,
/// log2 discount), and catalog coverage. A patient with nothing relevant counts in precision (zero hits) but not in
/// recall or NDCG, which are undefined for them.
/// </summary>
public static class RankingMetrics
{
    public static double PrecisionAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k) =>
        (double)ranked.Take(k).Count(relevant.Contains) / k;

    public static double? RecallAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k) =>
        relevant.Count == 0 ? null : (double)ranked.Take(k).Count(relevant.Contains) / relevant.Count;

    public static double? NdcgAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        if (relevant.Count == 0)
        {
            return null;
        }

        double dcg = 0, ideal = 0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (relevant.Contains(ranked[i]))
            {
                dcg += 1 / Math.Log2(i + 2);
            }
        }

        for (var i = 0; i < Math.Min(k, relevant.Count); i++)
        {
            ideal += 1 / Math.Log2(i + 2);
        }

        return dcg / ideal;
    }

    /// <summary>The share of the catalog recommended in anyone's top k.</summary>
    public static double CoverageAt(IEnumerable<IReadOnlyList<string>> rankings, int catalogSize, int k) =>
        (double)rankings.SelectMany(r => r.Take(k)).Distinct(StringComparer.Ordinal).Count() / catalogSize;

    /// <summary>Means over patients (recall and NDCG over those with something relevant); NaN where there are none.</summary>
    public static (double Precision, double Recall, double Ndcg) Mean(IReadOnlyList<(IReadOnlyList<string> Ranked, IReadOnlySet<string> Relevant)> patients, int k)
    {
        var precision = patients.Count == 0 ? double.NaN : patients.Average(p => PrecisionAt(p.Ranked, p.Relevant, k));
        var recalls = patients.Select(p => RecallAt(p.Ranked, p.Relevant, k)).OfType<double>().ToList();
        var ndcgs = patients.Select(p => NdcgAt(p.Ranked, p.Relevant, k)).OfType<double>().ToList();
        return (precision, recalls.Count == 0 ? double.NaN : recalls.Average(), ndcgs.Count == 0 ? double.NaN : ndcgs.Average());
    }
}

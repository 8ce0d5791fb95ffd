namespace HealthRec.ML.Recommendation;

/// <summary>One ranker's figures on held-out patients.</summary>
public sealed record RankerMetrics(string Ranker, int Patients, double PrecisionAt3, double RecallAt3, double NdcgAt3, double PrecisionAt5,
    double RecallAt5, double NdcgAt5, double CoverageAt5, double GuidelineConcordanceAt3, int ContraindicatedRecommendations)
{
    /// <summary>Patients with a start that helped (its response analyte fell by 5 % or more) in the following year.</summary>
    public int HelpedPatients { get; init; }

    /// <summary>Recall@5 when only the starts that helped count as relevant.</summary>
    public double HelpedRecallAt5 { get; init; }

    /// <summary>NDCG@5 when only the starts that helped count as relevant.</summary>
    public double HelpedNdcgAt5 { get; init; }
}

/// <summary>
/// Offline evaluation of recommenders on held-out patients, at the moment of care: for each patient, the first visit (a
/// year or more into the record) at which their clinicians started a catalog medicine, seen as the prescriber saw it
/// (<see cref="TreatmentHistory.StartVisits"/>). Relevant items are the medicines started at that visit; "helped" counts
/// only the starts after which the response analyte fell by 5 % or more. Precision, recall and NDCG at 3 and 5, catalog coverage, guideline concordance (of
/// patients with an indicated, allowed medicine they are not taking, the share offered one in the top 3) and the safety
/// count (recommended items the hard filters would exclude as contraindicated: must be 0).
/// </summary>
public static class RecommenderEvaluation
{
    public delegate IReadOnlyList<string> Ranker(PatientRecord record, DateTimeOffset at, int top);

    public static RankerMetrics Evaluate(string name, Ranker ranker, IReadOnlyList<PatientRecord> patients, InterventionCatalog catalog, Featurizer featurizer)
    {
        var medicines = TreatmentHistory.Medicines(catalog);
        var byId = catalog.Items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var rankings = new List<(IReadOnlyList<string> Ranked, IReadOnlySet<string> Relevant)>();
        var helpedRankings = new List<(IReadOnlyList<string> Ranked, IReadOnlySet<string> Relevant)>();
        int indicatedPatients = 0, concordant = 0, unsafe_ = 0;
        foreach (var visit in patients.SelectMany(p => TreatmentHistory.StartVisits(p, medicines, featurizer)))
        {
            var (record, at, followed) = (visit.Record, visit.At, visit.Followed);
            var relevant = medicines.Where((_, i) => followed[i].Grade > 0).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            var helped = medicines.Where((_, i) => followed[i].Grade == 2).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            var ranked = ranker(record, at, 5);
            rankings.Add((ranked, relevant));
            helpedRankings.Add((ranked, helped));

            var context = new RecordRuleContext(record, at, featurizer);
            double DaysSince(string analyte) => record.DaysSinceLast(analyte, at);
            unsafe_ += ranked.Count(id => catalog.Exclude(byId[id], context, DaysSince) is { Reason: var r } && r.StartsWith("contraindicated", StringComparison.Ordinal));
            var indicated = medicines.Where(i => i.Indication.Rule.Evaluate(context) && catalog.Exclude(i, context, DaysSince) is null).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            if (indicated.Count > 0)
            {
                indicatedPatients++;
                concordant += ranked.Take(3).Any(indicated.Contains) ? 1 : 0;
            }
        }

        var (p3, r3, n3) = RankingMetrics.Mean(rankings, 3);
        var (p5, r5, n5) = RankingMetrics.Mean(rankings, 5);
        var (_, hr5, hn5) = RankingMetrics.Mean(helpedRankings, 5);
        return new RankerMetrics(name, rankings.Count, p3, r3, n3, p5, r5, n5, RankingMetrics.CoverageAt(rankings.Select(r => r.Ranked), catalog.Items.Length, 5),
            indicatedPatients == 0 ? double.NaN : (double)concordant / indicatedPatients, unsafe_)
        {
            HelpedPatients = helpedRankings.Count(r => r.Relevant.Count > 0),
            HelpedRecallAt5 = hr5,
            HelpedNdcgAt5 = hn5,
        };
    }

    /// <summary>The medicines a recommender suggests (its list for the patient, other categories left out).</summary>
    public static Ranker Medicines(Recommender recommender) => (record, at, top) => [.. recommender.Recommend(record, at, top: 30).Recommendations
        .Where(r => r.Intervention.Category == InterventionCategory.Medication).Take(top).Select(r => r.Intervention.Id)];

    /// <summary>A popularity baseline: medicines in order of how often the population's clinicians started them, after the hard filters.</summary>
    public static Ranker Popularity(IEnumerable<PatientRecord> population, InterventionCatalog catalog, Featurizer featurizer)
    {
        var medicines = TreatmentHistory.Medicines(catalog);
        var counts = new int[medicines.Length];
        foreach (var visit in population.SelectMany(p => TreatmentHistory.StartVisits(p, medicines, featurizer, max: 3)))
        {
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] += visit.Followed[i].Grade > 0 ? 1 : 0;
            }
        }

        var order = medicines.Select((item, i) => (Item: item, Count: counts[i])).OrderByDescending(x => x.Count).ThenBy(x => x.Item.Id, StringComparer.Ordinal)
            .Select(x => x.Item).ToList();
        return (record, at, top) => Allowed(catalog, order, record, at, featurizer, top);
    }

    /// <summary>A collaborative-only baseline: medicines in order of what followed in the nearest similar patients, after the hard filters.</summary>
    public static Ranker Collaborative(NeighbourIndex neighbours, InterventionCatalog catalog, Featurizer featurizer)
    {
        var medicines = TreatmentHistory.Medicines(catalog).ToDictionary(i => i.Id, StringComparer.Ordinal);
        return (record, at, top) =>
        {
            var evidence = neighbours.Score(featurizer.Featurize(record, at));
            var order = neighbours.Items.Select((id, i) => (Item: medicines[id], Score: evidence[i].Score)).OrderByDescending(x => x.Score)
                .ThenBy(x => x.Item.Id, StringComparer.Ordinal).Select(x => x.Item);
            return Allowed(catalog, order, record, at, featurizer, top);
        };
    }

    private static List<string> Allowed(InterventionCatalog catalog, IEnumerable<Intervention> order, PatientRecord record, DateTimeOffset at, Featurizer featurizer, int top)
    {
        var context = new RecordRuleContext(record, at, featurizer);
        var groups = new HashSet<string>(StringComparer.Ordinal);
        return [.. order.Where(i => catalog.Exclude(i, context, a => record.DaysSinceLast(a, at)) is null && groups.Add(i.Class)).Take(top).Select(i => i.Id)];
    }
}

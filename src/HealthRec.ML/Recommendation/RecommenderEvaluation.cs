using HealthRec.Clinical.Features;
using HealthRec.Clinical.Knowledge;
using HealthRec.Clinical.Records;

namespace HealthRec.ML.Recommendation;

/// <summary>One ranker's figures on held-out patients.</summary>
public sealed record RankerMetrics(string Ranker, int Patients, double PrecisionAt3, double RecallAt3, double NdcgAt3, double PrecisionAt5,
    double RecallAt5, double NdcgAt5, double CoverageAt5, double GuidelineConcordanceAt3, int ContraindicatedRecommendations);

/// <summary>
/// Offline evaluation of recommenders on held-out patients: at an index date two years into each patient's record,
/// the relevant items are the catalog medicines their clinicians started in the following year (a prescription whose
/// classes match the item's "already taking" classes). Precision, recall and NDCG at 3 and 5, catalog coverage,
/// guideline concordance (of patients with an indicated, allowed medicine they are not taking, the share offered one in
/// the top 3) and the safety count (recommended items the hard filters would exclude: must be 0).
/// </summary>
public static class RecommenderEvaluation
{
    public delegate IReadOnlyList<string> Ranker(PatientRecord record, DateTimeOffset at, int top);

    public static RankerMetrics Evaluate(string name, Ranker ranker, IReadOnlyList<PatientRecord> patients, InterventionCatalog catalog, Featurizer featurizer)
    {
        var medicines = catalog.Items.Where(i => i.Category == InterventionCategory.Medication).ToList();
        var byId = catalog.Items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var rankings = new List<(IReadOnlyList<string> Ranked, IReadOnlySet<string> Relevant)>();
        int indicatedPatients = 0, concordant = 0, unsafe_ = 0;
        foreach (var record in patients)
        {
            if (Index(record) is not { } at)
            {
                continue;
            }

            var relevant = record.Medications
                .Where(m => m.Source == MedicationSource.Request && m.Start is { } s && s > at && s <= at.AddYears(1))
                .SelectMany(m => medicines.Where(i => i.NotIfTaking.Any(m.Classes.Contains)).Select(i => i.Id))
                .ToHashSet(StringComparer.Ordinal);
            var ranked = ranker(record, at, 5);
            rankings.Add((ranked, relevant));

            var context = new RecordRuleContext(record, at, featurizer);
            double DaysSince(string analyte) => record.DaysSinceLast(analyte, at);
            unsafe_ += ranked.Count(id => InterventionCatalog.Exclude(byId[id], context, DaysSince) is { Reason: var r } && r.StartsWith("contraindicated", StringComparison.Ordinal));
            var indicated = medicines.Where(i => i.Indication.Rule.Evaluate(context) && InterventionCatalog.Exclude(i, context, DaysSince) is null).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            if (indicated.Count > 0)
            {
                indicatedPatients++;
                concordant += ranked.Take(3).Any(indicated.Contains) ? 1 : 0;
            }
        }

        var (p3, r3, n3) = RankingMetrics.Mean(rankings, 3);
        var (p5, r5, n5) = RankingMetrics.Mean(rankings, 5);
        return new RankerMetrics(name, rankings.Count, p3, r3, n3, p5, r5, n5, RankingMetrics.CoverageAt(rankings.Select(r => r.Ranked), catalog.Items.Length, 5),
            indicatedPatients == 0 ? double.NaN : (double)concordant / indicatedPatients, unsafe_);
    }

    /// <summary>A popularity baseline: items in order of how often the population started them, after the hard filters.</summary>
    public static Ranker Popularity(IEnumerable<PatientRecord> population, InterventionCatalog catalog, Featurizer featurizer)
    {
        var medicines = catalog.Items.Where(i => i.Category == InterventionCategory.Medication).ToList();
        var counts = population.SelectMany(r => r.Medications.Where(m => m.Source == MedicationSource.Request))
            .SelectMany(m => medicines.Where(i => i.NotIfTaking.Any(m.Classes.Contains)).Select(i => i.Id))
            .GroupBy(id => id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var order = catalog.Items.OrderByDescending(i => counts.GetValueOrDefault(i.Id)).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        return (record, at, top) =>
        {
            var context = new RecordRuleContext(record, at, featurizer);
            var groups = new HashSet<string>(StringComparer.Ordinal);
            return [.. order.Where(i => InterventionCatalog.Exclude(i, context, a => record.DaysSinceLast(a, at)) is null && groups.Add(i.Class)).Take(top).Select(i => i.Id)];
        };
    }

    /// <summary>Two years after the first activity, when at least one more year of record follows; else none.</summary>
    public static DateTimeOffset? Index(PatientRecord record)
    {
        var first = record.Encounters.Select(e => (DateTimeOffset?)e.Start).Min();
        if (first is not { } start || record.LastActivity is not { } last)
        {
            return null;
        }

        var at = start.AddYears(2);
        return last >= at.AddYears(1) && (record.DeceasedAt is null || record.DeceasedAt > at.AddYears(1)) ? at : null;
    }
}

using System.Globalization;
using HealthRec.Clinical.Features;
using HealthRec.Clinical.Knowledge;
using HealthRec.Clinical.Records;
using HealthRec.ML.Phenotypes;

namespace HealthRec.ML.Recommendation;

/// <summary>How patients of one phenotype responded after starting an intervention.</summary>
public sealed record ResponseSummary(string InterventionId, int Phenotype, string Analyte, int Patients, double MeanRelativeChange, double ShrunkRelativeChange)
{
    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"in similar patients (phenotype {Phenotype}), {Analyte.ToUpperInvariant()} changed {MeanRelativeChange:+0%;−0%} on average 3–12 months after starting (n = {Patients})");
}

/// <summary>
/// The collaborative signal: what followed when patients like this one started an intervention. From a population's
/// records, every start of a catalog medicine with a response analyte (its classes matched to the item's "already
/// taking" classes) is paired with the analyte's last value in the 180 days before and its first value 90–365 days
/// after; the relative change is averaged by phenotype (the patient's K-Means cluster at the start), shrunk towards
/// the item's overall mean with the weight of 10 patients so that small phenotypes do not swing it.
/// </summary>
public sealed class TreatmentResponse
{
    private const double Shrinkage = 10;
    private readonly Dictionary<(string Item, int Phenotype), ResponseSummary> _summaries;

    private TreatmentResponse(Dictionary<(string, int), ResponseSummary> summaries) => _summaries = summaries;

    public int Count => _summaries.Count;

    public ResponseSummary? For(string interventionId, int phenotype) => _summaries.GetValueOrDefault((interventionId, phenotype));

    public static TreatmentResponse Learn(IEnumerable<PatientRecord> records, InterventionCatalog catalog, Featurizer featurizer, PhenotypeModel phenotypes)
    {
        var items = catalog.Items.Where(i => i.Response is not null && i.Category == InterventionCategory.Medication).ToList();
        var starts = new List<(string Item, string Analyte, float[] Features, double Change)>();
        foreach (var record in records)
        {
            foreach (var medication in record.Medications)
            {
                if (medication.Start is not { } start || medication.Source != MedicationSource.Request)
                {
                    continue;
                }

                foreach (var item in items.Where(i => i.NotIfTaking.Any(medication.Classes.Contains)))
                {
                    var values = record.MeasurementsOf(item.Response!);
                    var before = values.LastOrDefault(m => m.At <= start && m.At > start.AddDays(-180));
                    var after = values.FirstOrDefault(m => m.At >= start.AddDays(90) && m.At <= start.AddDays(365));
                    if (before.Value > 0 && after.Value > 0)
                    {
                        starts.Add((item.Id, item.Response!, featurizer.Featurize(record, start), (after.Value - before.Value) / before.Value));
                    }
                }
            }
        }

        var clusters = starts.Count == 0 ? [] : phenotypes.Assign([.. starts.Select(s => s.Features)]);
        var summaries = new Dictionary<(string, int), ResponseSummary>();
        foreach (var byItem in starts.Select((s, i) => (Start: s, Cluster: clusters[i])).GroupBy(x => x.Start.Item, StringComparer.Ordinal))
        {
            var overall = byItem.Average(x => x.Start.Change);
            foreach (var byCluster in byItem.GroupBy(x => x.Cluster))
            {
                var n = byCluster.Count();
                var mean = byCluster.Average(x => x.Start.Change);
                summaries[(byItem.Key, byCluster.Key)] = new ResponseSummary(byItem.Key, byCluster.Key, byCluster.First().Start.Analyte, n, mean,
                    ((n * mean) + (Shrinkage * overall)) / (n + Shrinkage));
            }
        }

        return new TreatmentResponse(summaries);
    }
}

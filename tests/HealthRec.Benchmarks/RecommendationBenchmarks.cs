using HealthRec.Clinical.Knowledge;
using HealthRec.Fhir.Knowledge;
using HealthRec.ML.Outcomes;

namespace HealthRec.Benchmarks;

/// <summary>
/// One patient's recommendations with the committed catalog and default models: candidates, predictions, scores,
/// filters, explanations; content-only, and hybrid (nearest neighbours and the LambdaRank ranker) with the committed recommender.
/// </summary>
[MemoryDiagnoser]
public class RecommendationBenchmarks : IDisposable
{
    private Recommender _recommender = null!;
    private Recommender _hybrid = null!;
    private HybridRanker? _ranker;
    private Dictionary<string, OutcomePredictor> _predictors = [];
    private List<PatientRecord> _patients = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var terminology = TerminologyFiles.Load(Path.Combine(Repository.Root, TerminologyFiles.DefaultFolder));
        var featurizer = TerminologyFiles.LoadFeaturizer(Path.Combine(Repository.Root, TerminologyFiles.DefaultSchema), terminology);
        var models = Path.Combine(Repository.Root, "models");
        _predictors = OutcomePredictor.LoadCurrent(models, featurizer, terminology);
        var outcomes = OutcomeFiles.Load(Path.Combine(Repository.Root, OutcomeFiles.DefaultFolder), terminology).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
        var vocabulary = RuleVocabulary.Of(featurizer, terminology);
        // As the server loads it: every medicine passes the medication-safety checks.
        var catalog = InterventionCatalogFiles.Load(Path.Combine(Repository.Root, InterventionCatalogFiles.DefaultFile), terminology, vocabulary, outcomes)
            .WithSafety(new Clinical.Safety.MedicationSafety(MedicationSafetyFiles.Load(Path.Combine(Repository.Root, MedicationSafetyFiles.DefaultFile), terminology), terminology));
        _recommender = new Recommender(catalog, featurizer, _predictors);
        _ranker = HybridRanker.LoadCurrent(models) ?? throw new InvalidOperationException("No recommender under models/: train one with healthrec train --outcome recommender.");
        _hybrid = new Recommender(catalog, featurizer, _predictors, _ranker);
        var mapper = new FhirRecordMapper(terminology, new UnitNormalizer());
        _patients = [.. RecordReader.ReadAsync(new NdjsonSource(Path.Combine(Repository.Root, "data", "sample")), mapper, new IngestionReport(), default)
            .ToBlockingEnumerable().Where(r => r.LastActivity is not null)];
    }

    [Benchmark]
    public int RecommendForOnePatient()
    {
        var patient = _patients[_next++ % _patients.Count];
        return _recommender.Recommend(patient, patient.LastActivity!.Value).Recommendations.Count;
    }

    [Benchmark]
    public int RecommendForOnePatientHybrid()
    {
        var patient = _patients[_next++ % _patients.Count];
        return _hybrid.Recommend(patient, patient.LastActivity!.Value).Recommendations.Count;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _ranker?.Dispose();
        foreach (var predictor in _predictors.Values)
        {
            predictor.Dispose();
        }

        GC.SuppressFinalize(this);
    }
}

using HealthRec.ML.Registry;

namespace HealthRec.Benchmarks;

/// <summary>
/// The committed t2d-5y model on the demo cohort's patients: one patient's estimate with its explanation (population
/// check, featurization, prediction, feature contributions, wording), and batch scoring of feature vectors.
/// </summary>
[MemoryDiagnoser]
public class PredictionBenchmarks : IDisposable
{
    private OutcomePredictor _predictor = null!;
    private OutcomeModel _model = null!;
    private List<(PatientRecord Record, DateTimeOffset At)> _patients = [];
    private List<float[]> _batch = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var terminology = TerminologyFiles.Load(Path.Combine(Repository.Root, TerminologyFiles.DefaultFolder));
        var featurizer = TerminologyFiles.LoadFeaturizer(Path.Combine(Repository.Root, TerminologyFiles.DefaultSchema), terminology);
        _model = OutcomeModel.Load(ModelRegistry.CurrentFolder(Path.Combine(Repository.Root, "models"), "t2d-5y")!);
        _predictor = OutcomePredictor.LoadCurrent(Path.Combine(Repository.Root, "models"), "t2d-5y", featurizer, terminology);
        var mapper = new FhirRecordMapper(terminology, new UnitNormalizer());
        var records = RecordReader.ReadAsync(new NdjsonSource(Path.Combine(Repository.Root, "data", "sample")), mapper, new IngestionReport(), default)
            .ToBlockingEnumerable().ToList();
        _patients = [.. records.Where(r => r.LastActivity is { } at && _predictor.Applies(r, at)).Select(r => (r, r.LastActivity!.Value))];
        Console.WriteLine($"// {_patients.Count} demo patients in the t2d-5y population");
        var vectors = records.Where(r => r.LastActivity is not null).Select(r => featurizer.Featurize(r, r.LastActivity!.Value)).ToList();
        _batch = [.. Enumerable.Range(0, 10_000).Select(i => vectors[i % vectors.Count])];
    }

    [Benchmark]
    public double PredictOnePatientWithExplanation()
    {
        var (record, at) = _patients[_next++ % _patients.Count];
        return _predictor.Predict(record, at)!.Estimate;
    }

    /// <summary>10,000 patients whose features exist: divide by the mean for patients per second.</summary>
    [Benchmark]
    public int ScoreBatchOf10000() => _model.Predict(_batch).Length;

    [GlobalCleanup]
    public void Dispose()
    {
        _predictor.Dispose();
        _model.Dispose();
        GC.SuppressFinalize(this);
    }
}

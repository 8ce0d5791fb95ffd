namespace HealthRec.ML.Registry;

/// <summary>
/// A loaded model bundle: predicts for one feature vector (a prediction engine per thread, since ML.NET's engine is
/// not thread-safe) or for a batch (one Transform). Binary outcomes give calibrated probabilities; regression outcomes
/// the predicted value.
/// </summary>
public sealed class OutcomeModel : IDisposable
{
    private readonly MLContext _ml = new();
    private readonly ITransformer _model;
    private readonly Microsoft.ML.Data.SchemaDefinition _schema;
    private readonly ThreadLocal<PredictionEngine<ModelRow, ScoreRow>> _engines;

    private readonly string _folder;

    private OutcomeModel(string folder, BundleManifest manifest, ITransformer model)
    {
        _folder = folder;
        Manifest = manifest;
        _model = model;
        _schema = ModelRow.Schema(manifest.FeatureNames.Length);
        _engines = new(() => _ml.Model.CreatePredictionEngine<ModelRow, ScoreRow>(_model, inputSchemaDefinition: _schema), trackAllValues: true);
    }

    public BundleManifest Manifest { get; }

    /// <summary>The version folder the bundle was loaded from.</summary>
    public string Folder => _folder;

    /// <summary>The ML.NET model (features to score).</summary>
    public ITransformer Transformer => _model;

    public OutcomeDefinition Definition => Manifest.Definition;

    /// <summary>Loads a version folder (<c>model.zip</c> + <c>bundle.json</c>).</summary>
    public static OutcomeModel Load(string folder)
    {
        var manifestFile = Path.Combine(folder, "bundle.json");
        var modelFile = Path.Combine(folder, "model.zip");
        if (!File.Exists(manifestFile) || !File.Exists(modelFile))
        {
            throw new FileNotFoundException($"'{folder}' is not a model bundle (bundle.json and model.zip are needed).");
        }

        var manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllText(manifestFile), ModelRegistry.Json)
            ?? throw new InvalidDataException($"{manifestFile} is JSON null.");
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));
        if (!string.Equals(folderName, manifest.Version, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{manifestFile} says version {manifest.Version} but lies in '{folderName}': the registry has been edited by hand.");
        }

        using var stream = File.OpenRead(modelFile);
        return new OutcomeModel(folder, manifest, new MLContext().Model.Load(stream, out _));
    }

    /// <summary>The calibrated probability (binary) or the predicted value (regression) for one feature vector.</summary>
    public double Predict(float[] features)
    {
        var score = _engines.Value!.Predict(new ModelRow { Features = features }).Score;
        return Manifest.Calibrator is { } calibrator ? calibrator.Probability(score) : score;
    }

    public double[] Predict(IReadOnlyList<float[]> batch)
    {
        var data = _ml.Data.LoadFromEnumerable(batch.Select(f => new ModelRow { Features = f }), _schema);
        var scores = OutcomeTrainer.Scores(_ml, _model, data);
        return Manifest.Calibrator is { } calibrator ? [.. scores.Select(calibrator.Probability)] : scores;
    }

    /// <summary>The saved baselines' outputs for a batch (probabilities, or values for regression), by name.</summary>
    public Dictionary<string, double[]> PredictBaselines(IReadOnlyList<float[]> batch)
    {
        var data = _ml.Data.LoadFromEnumerable(batch.Select(f => new ModelRow { Features = f }), _schema);
        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var (name, probability) in Manifest.Baselines)
        {
            using var stream = File.OpenRead(Path.Combine(_folder, "baselines", $"{name}.zip"));
            result[name] = new BaselineModel(_ml.Model.Load(stream, out _), probability).Scores(data);
        }

        return result;
    }

    public void Dispose()
    {
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
        }

        _engines.Dispose();
    }
}

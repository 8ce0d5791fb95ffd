namespace HealthRec.Server.Models;

public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>
    /// The model registry the server reads and retraining writes (relative to the content root). Default
    /// <c>var/models</c>: runtime state, out of the tracked source tree, seeded from <see cref="SeedPath"/> when it does
    /// not exist yet.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Models:Path must name the model registry folder, e.g. var/models")]
    public string Path { get; set; } = "var/models";

    /// <summary>The shipped registry (committed under <c>models/</c>) a missing <see cref="Path"/> is first copied from; empty for none.</summary>
    public string? SeedPath { get; set; } = "models";

    /// <summary>Terminology folder the models' features are computed with.</summary>
    [Required(AllowEmptyStrings = false)]
    public string TerminologyPath { get; set; } = TerminologyFiles.DefaultFolder;

    /// <summary>Feature schema the models were trained on.</summary>
    [Required(AllowEmptyStrings = false)]
    public string FeatureSchemaPath { get; set; } = TerminologyFiles.DefaultSchema;

    /// <summary>How often the registry is checked for a version promoted by another node (0 turns the check off).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Models:ReloadInterval must be between 0 and one day")]
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The terminology and the compiled feature schema the server's models and rules use, loaded once at start.</summary>
public sealed class ClinicalSchema(IOptions<ModelOptions> options, IHostEnvironment environment)
{
    private readonly Lazy<(Clinical.Terminology.ClinicalTerminology, Clinical.Features.Featurizer)> _loaded = new(() =>
    {
        var terminology = TerminologyFiles.Load(System.IO.Path.Combine(environment.ContentRootPath, options.Value.TerminologyPath));
        return (terminology, TerminologyFiles.LoadFeaturizer(System.IO.Path.Combine(environment.ContentRootPath, options.Value.FeatureSchemaPath), terminology));
    });

    public Clinical.Terminology.ClinicalTerminology Terminology => _loaded.Value.Item1;

    public Clinical.Features.Featurizer Featurizer => _loaded.Value.Item2;
}

/// <summary>
/// One consistent set of models: every current outcome model, the current recommender (if any), and the recommender built
/// on them. The set counts who holds it: the catalog while it is current, and every <see cref="ModelLease"/>. Its engines
/// are disposed when the last hold goes, so a request or a job that leased it keeps predicting through a swap, however long
/// it takes (a chunk writing back to a slow FHIR server, an evaluation running over a promotion).
/// </summary>
/// <summary>
/// A patient's features at a date, every applicable model's estimate from them (in outcome order), and the outcomes the
/// patient is at risk of to which the answering equation gives no number, with why: what a card or a panel says
/// instead of silence.
/// </summary>
public sealed record PatientEstimates(float[] Features, List<RiskPrediction> Predictions,
    List<(OutcomePredictor Predictor, Clinical.Risk.ReferenceEstimate Why)> NotEstimated)
{
    public void Deconstruct(out float[] features, out List<RiskPrediction> predictions) => (features, predictions) = (Features, Predictions);
}

public sealed class ServingModels(ImmutableDictionary<string, OutcomePredictor> predictors, HybridRanker? ranker, Recommender recommender, Featurizer featurizer)
{
    private int _holds = 1;

    public ImmutableDictionary<string, OutcomePredictor> Predictors { get; } = predictors;

    public HybridRanker? Ranker { get; } = ranker;

    public Recommender Recommender { get; } = recommender;

    public Featurizer Featurizer { get; } = featurizer;

    /// <summary>Which models answer, e.g. <c>ascvd-10y v2, ckd-5y v2, recommender v1</c>.</summary>
    public string Versions => string.Join(", ", Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal)
        .Select(p => $"{p.Definition.Id} {p.AnsweringVersion}").Append(Ranker is null ? "recommender content-only" : $"recommender {Ranker.Manifest.Version}"));

    /// <summary>Each answering model's id and version (the recommender as <c>recommender</c>): what an audit record names.</summary>
    public IEnumerable<(string Id, string Version)> Modules => Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal)
        .Select(p => (p.Definition.Id, p.AnsweringVersion)).Append(("recommender", Ranker?.Manifest.Version ?? "content-only"));

    /// <summary>
    /// The record's features at <paramref name="at"/>, every applicable model's estimate from them and why an answering
    /// equation gives none, in one pass: what the cards, the patient view and population scoring all start from.
    /// </summary>
    public PatientEstimates Estimate(Clinical.Records.PatientRecord record, DateTimeOffset at)
    {
        var features = Featurizer.Featurize(record, at);
        var predictions = new List<RiskPrediction>();
        var notEstimated = new List<(OutcomePredictor Predictor, Clinical.Risk.ReferenceEstimate Why)>();
        foreach (var predictor in Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal))
        {
            var (prediction, why) = predictor.Assess(record, at, features);
            if (prediction is not null)
            {
                predictions.Add(prediction);
            }
            else if (why is not null)
            {
                notEstimated.Add((predictor, why));
            }
        }

        return new PatientEstimates(features, predictions, notEstimated);
    }

    /// <summary>Whether its engines are gone (every hold released).</summary>
    public bool IsDisposed => Volatile.Read(ref _holds) == 0;

    /// <summary>One more hold, unless the last one has gone (then the set is disposed and cannot be revived).</summary>
    internal bool TryHold()
    {
        var holds = Volatile.Read(ref _holds);
        while (holds > 0)
        {
            var seen = Interlocked.CompareExchange(ref _holds, holds + 1, holds);
            if (seen == holds)
            {
                return true;
            }

            holds = seen;
        }

        return false;
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _holds) != 0)
        {
            return;
        }

        foreach (var predictor in Predictors.Values)
        {
            predictor.Dispose();
        }

        Ranker?.Dispose();
    }
}

/// <summary>A hold on one model set: the set's engines stay alive until it is disposed (once; repeats do nothing).</summary>
public sealed class ModelLease(ServingModels models) : IDisposable
{
    private int _released;

    public ServingModels Models { get; } = models;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Models.Release();
        }
    }
}

/// <summary>
/// The models the server answers with: every current version in the registry, and the current hybrid recommender,
/// loaded at start. A reload builds the new set aside and swaps it in one reference assignment, so a request sees the
/// old set or the new one, never a mix; the old set's engines are disposed when the last lease on it is released.
/// </summary>
public sealed partial class ModelCatalog(IOptions<ModelOptions> options, IHostEnvironment environment, ClinicalSchema schema,
    InterventionCatalog interventions, ILogger<ModelCatalog> logger) : IDisposable
{
    private volatile ServingModels? _current;
    private string _loadedPointers = "";
    private readonly Lock _reloading = new();

    public Featurizer Featurizer => schema.Featurizer;

    /// <summary>
    /// The set in use, to read what it is (its versions, its definitions). To predict with it, take a <see cref="Lease"/>:
    /// a set read here may be swapped out and disposed while it is used.
    /// </summary>
    public ServingModels Current => _current ?? throw new InvalidOperationException("The models have not been loaded: call Reload at start-up.");

    /// <summary>The set in use, held until the lease is disposed; take one per request or job and use only it.</summary>
    public ModelLease Lease()
    {
        while (true)
        {
            var models = Current;
            // Fails only when a swap retired this set and its last hold went between the read and now: read the new one.
            if (models.TryHold())
            {
                return new ModelLease(models);
            }
        }
    }

    public IReadOnlyDictionary<string, OutcomePredictor> Predictors => Current.Predictors;

    /// <summary>Reloads when the registry's current pointers differ from those loaded; true when it reloaded.</summary>
    public bool ReloadIfChanged()
    {
        if (Pointers() == _loadedPointers)
        {
            return false;
        }

        Reload();
        return true;
    }

    // Every entry's current version, read before a load: a promotion during the load is seen by the next check.
    private string Pointers()
    {
        var registry = System.IO.Path.Combine(environment.ContentRootPath, options.Value.Path);
        return !Directory.Exists(registry) ? "" : string.Join(";", Directory.GetDirectories(registry).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(entry => (entry, version: ModelRegistry.CurrentVersion(registry, entry!))).Where(e => e.version is not null)
            .Select(e => $"{e.entry}={e.version}"));
    }

    /// <summary>Loads (or reloads) every current model; a bundle that cannot be loaded is logged and left out.</summary>
    public void Reload()
    {
        lock (_reloading)
        {
            ReloadLocked();
        }
    }

    private void ReloadLocked()
    {
        _loadedPointers = Pointers();
        var registry = System.IO.Path.Combine(environment.ContentRootPath, options.Value.Path);
        var terminology = schema.Terminology;
        var featurizer = schema.Featurizer;
        var loaded = ImmutableDictionary.CreateBuilder<string, OutcomePredictor>(StringComparer.Ordinal);
        if (!ModelRegistry.Outcomes(registry).Any())
        {
            LogNoModels(registry);
        }

        foreach (var outcome in ModelRegistry.Outcomes(registry))
        {
            try
            {
                var predictor = OutcomePredictor.LoadCurrent(registry, outcome, featurizer, terminology);
                loaded[outcome] = predictor;
                LogLoaded(outcome, predictor.AnsweringVersion, predictor.ReferenceAnswers
                    ? $"{predictor.Reference!.Name} answers (no model promoted over it); {predictor.Manifest.Version} is a challenger"
                    : predictor.Manifest.Validation);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or ML.Training.TrainingException or InvalidOperationException)
            {
                LogNotLoaded(ex, outcome);
            }
        }

        HybridRanker? ranker = null;
        try
        {
            ranker = HybridRanker.LoadCurrent(registry);
            if (ranker is not null)
            {
                LogLoaded(HybridRanker.Folder, ranker.Manifest.Version, ranker.Manifest.Validation);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException)
        {
            LogNotLoaded(ex, HybridRanker.Folder);
        }

        var predictors = loaded.ToImmutable();
        var next = new ServingModels(predictors, ranker, new Recommender(interventions, featurizer, predictors, ranker), featurizer);
        // The catalog's hold on the previous set goes; its engines follow when the last lease on it is released.
        Interlocked.Exchange(ref _current, next)?.Release();
    }

    public void Dispose() => Interlocked.Exchange(ref _current, null)?.Release();

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Model {Outcome} {Version} loaded: {Validation}")]
    private partial void LogLoaded(string outcome, string version, string validation);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "No registered models in {Registry}: no estimates will be given")]
    private partial void LogNoModels(string registry);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Model {Outcome} could not be loaded and is left out")]
    private partial void LogNotLoaded(Exception exception, string outcome);
}

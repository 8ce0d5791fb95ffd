namespace HealthRec.Server.Transparency;

/// <summary>
/// The source attribute sets in force: built from the models in use, the catalog and the jobs' stored results, held
/// in memory so that a card carries its set's digest without a database read, and rebuilt when the models change or
/// <see cref="RefreshAsync"/> reads newer results (every minute, by <see cref="SourceAttributeRefresher"/>). Until the
/// first read of the model history the measured attributes say they have not been measured.
/// </summary>
public sealed class SourceAttributeSets(ModelCatalog catalog, ModelLifecycleStore lifecycle, IOptions<TransparencyOptions> options,
    IOptions<EvaluationOptions> evaluation, IOptions<RetrainOptions> retrain, IOptions<ModelOptions> models, IHostEnvironment environment, TimeProvider time)
{
    private sealed record Snapshot(ServingModels Models, IReadOnlyList<StoredEvaluation> Evaluations, IReadOnlyList<StoredDecision> Decisions, DateTimeOffset At)
    {
        public ConcurrentDictionary<string, SourceAttributeSet> Sets { get; } = new(StringComparer.Ordinal);

        /// <summary>Each model's set with the subject it was built from, by outcome and model.</summary>
        public ConcurrentDictionary<string, (PredictiveSubject Subject, SourceAttributeSet Set)> Predictive { get; } = new(StringComparer.Ordinal);
    }

    private volatile Snapshot? _snapshot;
    private readonly ConcurrentDictionary<string, JsonNode?> _trainingMetrics = new(StringComparer.Ordinal);

    /// <summary>The models a set can be asked for: the LightGBM model, its saved baselines and, where one exists, the published equation.</summary>
    public static IReadOnlyList<string> ModelsOf(OutcomePredictor predictor) =>
        [PredictiveSubject.LightGbm, .. predictor.Manifest.Baselines.Keys.Order(StringComparer.Ordinal), .. predictor.Reference is { } r ? [r.Id] : Array.Empty<string>()];

    /// <summary>The set of one model of an outcome (default: the one that answers); null when there is no such outcome or model.</summary>
    public SourceAttributeSet? ForModel(string outcome, string? model = null)
    {
        var snapshot = Current();
        if (!snapshot.Models.Predictors.TryGetValue(outcome, out var predictor))
        {
            return null;
        }

        return CardInputs(outcome, model)?.Set;
    }

    /// <summary>
    /// One model of an outcome (default: the one that answers) as its attribute set and the subject it was built from —
    /// what a CHAI model card and a TRIPOD+AI checklist are written from; null when there is no such outcome or model.
    /// </summary>
    public (PredictiveSubject Subject, SourceAttributeSet Set)? CardInputs(string outcome, string? model = null)
    {
        var snapshot = Current();
        if (!snapshot.Models.Predictors.TryGetValue(outcome, out var predictor))
        {
            return null;
        }

        model ??= PredictiveSubject.AnsweringModel(predictor);
        // Every card of every call asks: a set already built is returned before the outcome's models are listed.
        var key = $"{outcome}/{model}";
        if (snapshot.Predictive.TryGetValue(key, out var built))
        {
            return built;
        }

        return !ModelsOf(predictor).Contains(model) ? null : snapshot.Predictive.GetOrAdd(key, _ =>
        {
            var subject = new PredictiveSubject(predictor, model, TrainingMetrics(outcome, predictor.Manifest.Version, model),
                snapshot.Evaluations.FirstOrDefault(e => e.Outcome == outcome && e.Version == predictor.AnsweringVersion),
                snapshot.Decisions.FirstOrDefault(d => d.Outcome == outcome));
            return (subject, PredictiveAttributes.Build(subject, Jobs, options.Value, snapshot.At));
        });
    }

    /// <summary>The outcomes of the models in use, in order.</summary>
    public IReadOnlyList<string> Outcomes() => [.. Current().Models.Predictors.Keys.Order(StringComparer.Ordinal)];

    public SourceAttributeSet Recommender()
    {
        var snapshot = Current();
        return snapshot.Sets.GetOrAdd("recommender", _ => EvidenceAttributes.ForRecommender(snapshot.Models.Recommender.Catalog, snapshot.Models.Ranker?.Manifest, options.Value, snapshot.At));
    }

    public SourceAttributeSet? Intervention(string id)
    {
        var snapshot = Current();
        var item = snapshot.Models.Recommender.Catalog.Items.FirstOrDefault(i => i.Id == id);
        return item is null ? null : snapshot.Sets.GetOrAdd($"intervention:{id}", _ => EvidenceAttributes.ForIntervention(item, options.Value, snapshot.At));
    }

    /// <summary>Reads the newest evaluations and gate decisions and starts a new snapshot (every set is rebuilt on its next use).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var evaluations = await lifecycle.EvaluationsAsync(null, 500, cancellationToken);
        var decisions = await lifecycle.DecisionsAsync(null, 200, cancellationToken);
        _snapshot = new Snapshot(catalog.Current, evaluations, decisions, time.GetUtcNow());
    }

    private JobSettings Jobs => new(evaluation.Value.Source, evaluation.Value.Cron, evaluation.Value.RecentYears, retrain.Value.Source, retrain.Value.Cron, retrain.Value.Gate);

    // The snapshot of the models in use: a reload (a promotion) starts a new one with the results already read.
    private Snapshot Current()
    {
        var snapshot = _snapshot;
        var inUse = catalog.Current;
        if (snapshot is null || !ReferenceEquals(snapshot.Models, inUse))
        {
            snapshot = new Snapshot(inUse, snapshot?.Evaluations ?? [], snapshot?.Decisions ?? [], time.GetUtcNow());
            _snapshot = snapshot;
        }

        return snapshot;
    }

    // The figures saved with a version's training (metrics.json): the model's, or one baseline's.
    private JsonNode? TrainingMetrics(string outcome, string version, string model)
    {
        var all = _trainingMetrics.GetOrAdd($"{outcome}/{version}",
            _ => ML.Registry.MetricsJson.OfVersion(Path.Combine(environment.ContentRootPath, models.Value.Path, outcome, version), outcome));
        return model == PredictiveSubject.LightGbm ? all : all?["baselines"]?[model];
    }
}

/// <summary>Refreshes <see cref="SourceAttributeSets"/> from the model history every minute (staleness moves with time too).</summary>
public sealed partial class SourceAttributeRefresher(SourceAttributeSets sets, TimeProvider time, ILogger<SourceAttributeRefresher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                try
                {
                    await sets.RefreshAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRefreshFailed(ex.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping (or a start that failed): nothing is lost, the sets are rebuilt at the next start.
        }
    }

    [LoggerMessage(EventId = 5300, Level = LogLevel.Warning, Message = "Source attributes: the model history could not be read ({Error}); the sets keep the results read before")]
    private partial void LogRefreshFailed(string error);
}

using HealthRec.ML.Training;

namespace HealthRec.Server.Jobs;

/// <summary>Settings under <c>Jobs:Evaluation</c>.</summary>
public sealed class EvaluationOptions
{
    public const string Section = "Jobs:Evaluation";

    /// <summary>The newest labelled data: a folder or file of NDJSON or Bundles (relative to the content root), or a FHIR base URL.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Jobs:Evaluation:Source must name the labelled data, e.g. data/sample or a FHIR base URL")]
    public string Source { get; set; } = "data/sample";

    /// <summary>When the daily evaluation starts (cron, UTC); empty for no schedule.</summary>
    public string? Cron { get; set; } = "0 4 * * *";

    /// <summary>How many years of the newest labelled index dates are evaluated (labels need the outcome's horizon, so the newest are that far back).</summary>
    [Range(0.25, 50, ErrorMessage = "Jobs:Evaluation:RecentYears must be between 0.25 and 50")]
    public double RecentYears { get; set; } = 2;

    /// <summary>Fewer examples than this and drift is not computed (the flag says so): a PSI of a few dozen examples is noise.</summary>
    [Range(1, 1_000_000)]
    public int MinimumExamples { get; set; } = 200;
}

/// <summary>One outcome's evaluation as the job leaves it.</summary>
public sealed record EvaluationSummary(string Outcome, string Version, int Examples, string Headline, string DriftFlag, IReadOnlyList<FeatureShift> Drift);

/// <summary>
/// The evaluation job: each serving champion on the newest labelled examples of the source (index dates within
/// <see cref="EvaluationOptions.RecentYears"/> before the newest complete negative label: later landmarks are labelled
/// only when the event came early, so taking them would bias the metrics) and its features' drift (PSI) against its training data. Stored per evaluation and
/// outcome, keyed by the Hangfire job id, so a retried attempt writes the same rows.
/// </summary>
public sealed partial class EvaluationJob(ClinicalSchema schema, ModelCatalog catalog, ModelLifecycleStore store, IOptions<EvaluationOptions> options,
    IOptions<ModelOptions> modelOptions, IOptions<RetrainOptions> retrainOptions, IHostEnvironment environment, IHttpClientFactory httpClients, TimeProvider time,
    ILogger<EvaluationJob> logger)
{
    public const string Name = "evaluate";

    [JobDisplayName("evaluate the champions")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 300, 1800])]
    public async Task<string> RunAsync(PerformContext? context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var source = InputSources.Resolve(environment.ContentRootPath, settings.Source);
        using var http = httpClients.CreateClient(RetrainJob.Name);
        var (records, _, error) = await InputSources.ReadAllAsync([source], schema.Terminology, http, cancellationToken);
        if (error is not null)
        {
            throw new InvalidOperationException($"Evaluate: {error}");
        }

        var evaluationId = context?.BackgroundJob.Id is { } jobId ? $"job:{jobId}" : $"run:{Guid.NewGuid():N}";
        var registry = Path.Combine(environment.ContentRootPath, modelOptions.Value.Path);
        var now = time.GetUtcNow();
        var summaries = new List<EvaluationSummary>();
        using var lease = catalog.Lease();
        foreach (var predictor in lease.Models.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var summary = Evaluate(predictor, catalog.Featurizer, records, registry, settings.RecentYears, settings.MinimumExamples, out var metrics,
                retrainOptions.Value.Gate.AucTolerance);
            if (summary is null)
            {
                LogNoExamples(predictor.Definition.Id);
                continue;
            }

            await store.RecordEvaluationAsync(new StoredEvaluation(evaluationId, summary.Outcome, summary.Version, now, settings.Source, summary.Examples,
                metrics!.ToJsonString(), JsonSerializer.Serialize(summary.Drift, ModelRegistry.Json), summary.DriftFlag), cancellationToken);
            var moved = string.Join(", ", summary.Drift.Where(d => d.Band != FeatureDrift.Stable).Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Feature} {d.Psi:0.00}")));
            LogEvaluated(summary.Outcome, summary.Version, summary.Examples, summary.Headline, summary.DriftFlag, moved);
            summaries.Add(summary);
        }

        return string.Join("\n", summaries.Select(s => $"{s.Outcome} {s.Version}: {s.Examples} examples, {s.Headline}, drift {s.DriftFlag}"));
    }

    /// <summary>The champion's metrics on the newest labelled examples and its features' drift; null when the data has none.</summary>
    internal static EvaluationSummary? Evaluate(ML.Serving.OutcomePredictor predictor, Clinical.Features.Featurizer featurizer,
        IReadOnlyList<Clinical.Records.PatientRecord> records, string registry, double recentYears, int minimumExamples, out System.Text.Json.Nodes.JsonObject? metricsJson,
        double aucTolerance = 0.01)
    {
        metricsJson = null;
        // The champion is what is judged: the reference equation when it answers, on the examples it gives a figure for.
        var byEquation = predictor.ReferenceAnswers;
        var definition = byEquation ? predictor.Definition with { Reference = predictor.Reference!.Id } : predictor.Definition;
        var (examples, _) = OutcomeExamples.Build(records, definition, featurizer);
        if (byEquation)
        {
            examples = examples.Where(e => double.IsFinite(e.ReferenceRisk)).ToList();
        }

        if (examples.Count == 0)
        {
            return null;
        }

        // A negative label needs the whole horizon, a positive one only the event: after the newest complete negative,
        // only positives are labelled yet, and taking them would bias every metric. The window ends there.
        var binary = definition.Kind == OutcomeKind.Binary;
        var complete = binary ? examples.Where(e => !e.Label).ToList() : examples;
        if (complete.Count == 0)
        {
            return null;
        }

        var newest = complete.Max(e => e.IndexAt);
        var recent = examples.Where(e => e.IndexAt <= newest && e.IndexAt >= newest.AddDays(-365.25 * recentYears)).ToList();
        if (binary && (recent.TrueForAll(e => e.Label) || !recent.Exists(e => e.Label)))
        {
            return null;
        }

        List<float[]> features = [.. recent.Select(e => e.Features)];
        var scores = byEquation ? [.. recent.Select(e => e.ReferenceRisk)] : predictor.Model.Predict(features);
        var metrics = binary
            ? OutcomeMetrics.Binary(byEquation ? predictor.Reference!.Id : "lightgbm", recent, scores, byEquation ? definition.DecisionThreshold : predictor.Manifest.Threshold)
            : OutcomeMetrics.Regression("lightgbm", recent, scores);

        metricsJson = MetricsJson.Of(metrics);
        metricsJson["from"] = recent.Min(e => e.IndexAt).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        metricsJson["to"] = newest.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var reference = FeatureReference.Load(Path.Combine(registry, definition.Id, predictor.Manifest.Version));
        var enough = recent.Count >= minimumExamples;
        var drift = reference is null || !enough ? [] : FeatureDrift.Compute(reference, features);
        var headline = binary
            ? string.Create(CultureInfo.InvariantCulture, $"ROC-AUC {metrics.RocAuc:0.000}, Brier {metrics.Brier:0.0000}, calibration slope {metrics.CalibrationSlope:0.00}")
            : string.Create(CultureInfo.InvariantCulture, $"MAE {metrics.Mae:0.000}, R² {metrics.R2:0.000}");
        // The patients whose outcomes are not in yet (at risk at the end of the data): their ROC-AUC estimated from
        // the model's calibrated probabilities (CBPE), and an alert when it falls below the labelled one by more than the
        // promotion gate's tolerance. Only for a model: an equation's figures are not the model's calibrated output here.
        if (binary && !byEquation && metrics.RocAuc is { } labelled)
        {
            // Everyone at risk at the end of the data, as population scoring would score them: none of their outcomes is in.
            var end = Clinical.Outcomes.OutcomeLabeler.EndOf(records) ?? newest;
            // The predictor's batch path: each patient's population checked once (a prediction is null outside it).
            var pending = predictor.Predict([.. records.Select(r => (r, end))]).OfType<ML.Serving.RiskPrediction>().Select(p => p.Estimate).ToArray();
            if (pending.Length > 0)
            {
                var estimate = ML.Evaluation.PerformanceEstimate.Estimate(pending);
                var below = estimate.RocAuc < labelled - aucTolerance;
                metricsJson["estimated_before_labels"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["method"] = "CBPE: expected ROC-AUC from the calibrated probabilities (holds while calibration holds)",
                    ["n"] = estimate.N,
                    ["at"] = end.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    ["roc_auc"] = Math.Round(estimate.RocAuc, 6),
                    ["expected_event_rate"] = Math.Round(estimate.ExpectedEventRate, 6),
                    ["below_labelled_by_more_than_tolerance"] = below,
                };
                headline += string.Create(CultureInfo.InvariantCulture,
                    $"; estimated ROC-AUC {estimate.RocAuc:0.000} on {estimate.N} patients not yet labelled{(below ? $" — ALERT: more than {aucTolerance} below the labelled {labelled:0.000}" : "")}");
            }

            if (Reconcile(predictor, definition, records, end, aucTolerance) is { } reconciled)
            {
                metricsJson["reconciled"] = reconciled;
            }
        }

        return new EvaluationSummary(definition.Id, predictor.AnsweringVersion, recent.Count, headline,
            reference is null ? "unknown (the bundle has no training reference)"
            : !enough ? string.Create(CultureInfo.InvariantCulture, $"unknown (fewer than {minimumExamples} examples)") : FeatureDrift.Worst(drift), drift);
    }

    /// <summary>
    /// The estimate reconciled with what the labels now say: the patients at risk one horizon before the end of the data
    /// — the newest cohort whose outcomes have all had time to arrive — estimated as the job would have estimated them
    /// then (CBPE on every one at risk), against the ROC-AUC their outcomes give (those censored before the horizon left
    /// out). Null when the cohort lacks either outcome.
    /// </summary>
    internal static System.Text.Json.Nodes.JsonObject? Reconcile(ML.Serving.OutcomePredictor predictor, OutcomeDefinition definition,
        IReadOnlyList<Clinical.Records.PatientRecord> records, DateTimeOffset end, double tolerance)
    {
        var at = end.AddDays(-definition.HorizonDays);
        var predictions = predictor.Predict([.. records.Select(r => (r, at))]);
        var labeler = new Clinical.Outcomes.OutcomeLabeler(definition, end);
        var estimates = new List<double>();
        var scores = new List<double>();
        var labels = new List<bool>();
        for (var i = 0; i < records.Count; i++)
        {
            if (predictions[i] is not { } prediction)
            {
                continue;
            }

            estimates.Add(prediction.Estimate);
            var label = labeler.Label(records[i], at);
            if (label.Status is Clinical.Outcomes.LabelStatus.Positive or Clinical.Outcomes.LabelStatus.Negative)
            {
                scores.Add(prediction.Estimate);
                labels.Add(label.Status == Clinical.Outcomes.LabelStatus.Positive);
            }
        }

        if (!labels.Contains(true) || !labels.Contains(false))
        {
            return null;
        }

        var estimated = ML.Evaluation.PerformanceEstimate.Estimate(estimates.ToArray()).RocAuc;
        var realized = ML.Evaluation.BinaryMetrics.RocAuc(scores.ToArray(), labels.ToArray());
        return new System.Text.Json.Nodes.JsonObject
        {
            ["method"] = "CBPE estimate for the cohort at risk one horizon before the end of the data, against the ROC-AUC of its outcomes now known",
            ["at"] = at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["n_estimated"] = estimates.Count,
            ["n_labelled"] = labels.Count,
            ["estimated_roc_auc"] = Math.Round(estimated, 6),
            ["realized_roc_auc"] = Math.Round(realized, 6),
            ["difference"] = Math.Round(estimated - realized, 6),
            ["beyond_tolerance"] = Math.Abs(estimated - realized) > tolerance,
        };
    }

    [LoggerMessage(EventId = 5200, Level = LogLevel.Information, Message = "Evaluate {Outcome} {Version}: {Examples} newest labelled examples, {Headline}; drift {Flag} {Moved}")]
    private partial void LogEvaluated(string outcome, string version, int examples, string headline, string flag, string moved);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "Evaluate {Outcome}: the source has no labelled examples of both classes for it")]
    private partial void LogNoExamples(string outcome);
}

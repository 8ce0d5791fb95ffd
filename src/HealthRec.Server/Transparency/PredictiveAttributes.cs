namespace HealthRec.Server.Transparency;

/// <summary>
/// What the attribute builder knows of one predictive model: the predictor of its outcome, which model it is (the
/// LightGBM model, one of its saved baselines, or the published equation), the figures saved with its training, and
/// the newest evaluation and gate decision the jobs stored for the outcome.
/// </summary>
public sealed record PredictiveSubject(OutcomePredictor Predictor, string Model, JsonNode? TrainingMetrics, StoredEvaluation? Evaluation, StoredDecision? Decision)
{
    public const string LightGbm = "lightgbm";

    /// <summary>The model that answers an outcome: its published equation when no trained model was promoted over it, else LightGBM.</summary>
    public static string AnsweringModel(OutcomePredictor predictor) => predictor.ReferenceAnswers ? predictor.Reference!.Id : LightGbm;

    public bool IsEquation => Predictor.Reference is { } r && r.Id == Model;

    /// <summary>The published equation this subject is, or null for a trained model.</summary>
    public Clinical.Risk.ReferenceModel? Equation => IsEquation ? Predictor.Reference : null;

    /// <summary>Whether this model is the one that answers (and the one the daily evaluation judges).</summary>
    public bool Answers => Model == AnsweringModel(Predictor);

    /// <summary>
    /// The newest evaluation's figures when this model is the one evaluated (the daily evaluation judges the answering
    /// one; <c>healthrec evaluate</c> the current trained version, whether or not it answers), else null.
    /// </summary>
    public JsonNode? EvaluatedMetrics => Evaluation is { } e && e.Version == Version ? JsonNode.Parse(e.MetricsJson) : null;

    public string Version => IsEquation ? Model : Model == LightGbm ? Predictor.Manifest.Version : $"{Predictor.Manifest.Version}/{Model}";
}

/// <summary>Where the jobs read their data and when they run: the context groups 6, 8 and 9 describe.</summary>
public sealed record JobSettings(string EvaluationSource, string? EvaluationCron, double EvaluationYears, string RetrainSource, string? RetrainCron, GateThresholds Gate);

/// <summary>
/// The 31 predictive source attributes of HTI-1 for one model, filled from what HealthRec holds: the outcome definition
/// and the model's manifest (groups 1–5), the figures saved when it was trained, and the evaluation and retrain jobs'
/// stored results (groups 6–9, each with its run, data window, interval and staleness).
/// </summary>
public static partial class PredictiveAttributes
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static SourceAttributeSet Build(PredictiveSubject subject, JobSettings jobs, TransparencyOptions options, DateTimeOffset now)
    {
        var p = subject.Predictor;
        var d = p.Definition;
        var manifest = p.Manifest;
        var equation = subject.IsEquation ? p.Reference : null;
        var binary = d.Kind == OutcomeKind.Binary;
        var stale = TimeSpan.FromDays(options.StaleAfterDays);
        var trained = subject.TrainingMetrics;
        var evaluated = subject.EvaluatedMetrics;
        var evaluation = evaluated is not null ? subject.Evaluation : null;
        var external = evaluation is not null && !SameSource(evaluation.Source, manifest.Provenance.Input) && equation is null;
        var modelName = equation is not null ? equation.Name : subject.Model == PredictiveSubject.LightGbm ? "LightGBM gradient-boosted trees" : $"{subject.Model.Replace('_', ' ')} (baseline)";

        AttributeMeasurement? FromTraining(string window) => equation is not null ? null
            : new AttributeMeasurement($"train {manifest.Version}", manifest.TrainedAt, window, now - manifest.TrainedAt > stale);
        AttributeMeasurement? FromEvaluation() => evaluation is null || evaluated is null ? null
            : new AttributeMeasurement(evaluation.EvaluationId, evaluation.EvaluatedAt,
                string.Create(Ci, $"{evaluation.Source}, index dates {(string?)evaluated["from"] ?? "?"} to {(string?)evaluated["to"] ?? "?"}, {evaluation.Examples:N0} examples"),
                now - evaluation.EvaluatedAt > stale);
        var trainingWindow = string.Create(Ci, $"held-out test patients of {manifest.Provenance.Input} (SHA-256 {Short(manifest.Provenance.DataSha256)})");
        var notEvaluated = subject.Answers
            ? "Not yet measured: the daily evaluation has not stored a result for this version."
            : $"Not measured: the daily evaluation judges the model that answers ({p.AnsweringVersion}), and this one does not.";

        var population = Population(d);
        IReadOnlyList<string> inputs = equation is not null ? equation.Inputs : manifest.FeatureNames;
        var values = new Dictionary<string, (string Value, string Source, AttributeMeasurement? Measurement)>(StringComparer.Ordinal)
        {
            ["B.1.i"] = (equation is null ? $"{options.DeveloperName}; contact: {options.DeveloperContact}"
                : $"{equation.Citation} (the equation); served and monitored by {options.DeveloperName}; contact: {options.DeveloperContact}", "Transparency:DeveloperName, Transparency:DeveloperContact", null),
            ["B.1.ii"] = (equation is null ? options.FundingSource : $"The equation: as declared in {equation.Citation}. Its implementation here: {options.FundingSource}", "Transparency:FundingSource", null),
            ["B.1.iii"] = (binary
                ? string.Create(Ci, $"An estimated probability of {d.Title.ToLowerInvariant()} (0–100 %), with its risk band and the factors that moved it, from {modelName}.")
                : $"An estimate of {d.Title.ToLowerInvariant()}, with the factors that moved it, from {modelName}.", "outcome definition " + d.Id, null),
            ["B.1.iv"] = (binary ? "Prediction (a probability), banded into a classification for worklists and cards" : "Prediction (a value)", "outcome definition " + d.Id, null),
            ["B.2.i"] = ($"To estimate {d.Title.ToLowerInvariant()} for one patient at the point of care (CDS Hooks cards, the SMART view) and to rank patients on population worklists, supporting a clinician's judgement.", "model card", null),
            ["B.2.ii"] = (population, "outcome definition " + d.Id, null),
            ["B.2.iii"] = ("Clinicians in primary and preventive care (physicians, nurse practitioners, pharmacists) and the care managers who work population worklists.", "model card", null),
            ["B.2.iv"] = ("Informs: it shows an estimate, its factors and its evidence; the clinician decides. It never orders, prescribes or blocks a workflow.", "CDS cards (indicator info or warning, never hard-stop)", null),
            ["B.3.i"] = ($"Not for diagnosis; not for patients outside the population ({population}); not for children; not when the card says the record lacks inputs it needs."
                + (manifest.Provenance.Synthetic && equation is null ? " Trained on synthetic data: not for clinical use before validation on this site's patients." : ""), "model card: Intended use, Limitations", null),
            ["B.3.ii"] = (Limitations(subject, evaluation), "model card: Limitations; bundle manifest", null),
            ["B.4.i"] = (equation is not null ? $"As published: {equation.Population}." : Inclusion(d, manifest), "outcome definition " + d.Id + "; model card: Data", null),
            ["B.4.ii"] = (VariablesUsed(inputs), equation is not null ? "the equation's inputs" : "bundle manifest: featureNames", null),
            ["B.4.iii"] = (equation is not null ? $"As published: {equation.Population}." : Representativeness(trained, "training test set"), "bundle metrics.json: subgroups", null),
            ["B.4.iv"] = (equation is not null ? $"Developed on the cohorts named in {equation.Citation}; its fit to this site is measured by the daily evaluation (B.8.ii)."
                : manifest.Provenance.Synthetic ? $"Trained on synthetic patients from HealthRec's generator ({manifest.Provenance.Input}): its relevance to this site is unknown until measured on local data (B.8.ii)."
                : $"Trained on {manifest.Provenance.Input} (SHA-256 {Short(manifest.Provenance.DataSha256)}); the daily evaluation measures it on this site's newest data (B.8.ii).", "bundle manifest: provenance", null),
            ["B.5.i"] = ("Performance is reported per sex and age band (and race and ethnicity where the data states them) at training and in every evaluation; the fairness audit compares true-positive rate, false-positive rate, PPV and flag rate of each group with a reference group and flags a ratio outside 0.8–1.25.", "model card; metrics.fairness", null),
            ["B.5.ii"] = equation is not null ? ($"As published: {equation.Population}. Here the evaluation's fairness audit measures it per sex and age band on this site's data (B.8.iv).", equation.Url, null)
                : (string.Create(Ci, $"Patient-level splits; censoring handled by inverse-probability weights; race, ethnicity and language are not inputs; the promotion gate refuses a challenger whose subgroup ROC-AUC is below its minimum or more than {jobs.Gate.SubgroupMaxGap:0.00} under the whole")
                + (jobs.Gate.RefuseFairnessFlags ? ", and one the fairness audit flags." : "; refusing on fairness flags is off (Jobs:Retrain:Gate:RefuseFairnessFlags)."), "Jobs:Retrain:Gate", null),
        };

        // Group 6: the daily evaluation is external validation only when it reads another source than the training did.
        values["B.6.i"] = external
            ? ($"{evaluation!.Source}: the daily evaluation's source, other than the training source ({manifest.Provenance.Input}).", "Jobs:Evaluation:Source", FromEvaluation())
            : equation is not null ? ($"As published: {equation.Validation}.", equation.Url, null)
            : (evaluation is null ? $"None yet. {notEvaluated}" : $"None: the daily evaluation reads the training source ({evaluation.Source}); it is local monitoring (B.8), not external validation.", "Jobs:Evaluation:Source", FromEvaluation());
        values["B.6.ii"] = external ? ($"This site's HealthRec evaluation job (run {evaluation!.EvaluationId}).", "Jobs:Evaluation", FromEvaluation())
            : equation is not null ? ($"The equation's developers ({equation.Citation}).", equation.Url, null)
            : ("No party has tested it on external data yet.", "Jobs:Evaluation", FromEvaluation());
        values["B.6.iii"] = external ? (Representativeness(evaluated, "evaluation data"), "evaluation metrics: subgroups", FromEvaluation())
            : equation is not null ? ($"As published: {equation.Population}.", equation.Url, null)
            : ("No external data yet.", "Jobs:Evaluation", FromEvaluation());
        values["B.6.iv"] = (string.Create(Ci, $"The evaluation job ({Schedule(jobs.EvaluationCron)}) scores the answering model on the newest labelled index dates of {jobs.EvaluationSource} (the last {jobs.EvaluationYears:0.##} years before the newest complete label) and stores ROC-AUC with its interval, Brier, calibration, subgroup figures, the fairness audit and feature drift."),
            "Jobs:Evaluation", FromEvaluation());

        // Group 7: same-source figures come from training; external ones from the evaluation when its source differs.
        values["B.7.i"] = equation is not null ? ($"Not trained here. Published: {equation.Validation}.", equation.Url, null) : Validity(trained, FromTraining(trainingWindow), "bundle metrics.json");
        values["B.7.ii"] = equation is not null ? ($"Not trained here. Published: {equation.Validation}.", equation.Url, null) : Fairness(trained, FromTraining(trainingWindow), "bundle metrics.json: subgroups, fairness");
        values["B.7.iii"] = external ? Validity(evaluated, FromEvaluation(), "evaluation metrics") : (values["B.6.i"].Value, "Jobs:Evaluation:Source", FromEvaluation());
        values["B.7.iv"] = external ? Fairness(evaluated, FromEvaluation(), "evaluation metrics: fairness") : (values["B.6.i"].Value, "Jobs:Evaluation:Source", FromEvaluation());
        values["B.7.v"] = (equation is not null
            ? $"No evaluation of outcomes with HealthRec's use of it; the equation's own studies: {equation.Citation}."
            : "None: no study has yet evaluated whether this estimate changes morbidity, mortality, length of stay or other outcomes.", "—", null);

        // Group 8: the daily evaluation on this site's data, with the estimate before labels arrive.
        values["B.8.i"] = ($"The evaluation job, {Schedule(jobs.EvaluationCron)}: ROC-AUC and calibration on the newest labelled data, feature drift (PSI) against the training data, and ROC-AUC estimated from calibrated probabilities for patients not yet labelled (CBPE), with an alert when it falls past the promotion gate's tolerance ({jobs.Gate.AucTolerance:0.###}).",
            "Jobs:Evaluation:Cron", FromEvaluation());
        values["B.8.ii"] = evaluated is null ? (notEvaluated, "Jobs:Evaluation", null) : Validity(evaluated, FromEvaluation(), "evaluation metrics", Cbpe(evaluated) + $" Drift: {evaluation!.DriftFlag}.");
        values["B.8.iii"] = ($"Every evaluation ({Schedule(jobs.EvaluationCron)}) recomputes the fairness audit per sex and age band; clinicians' acceptance and override of cards are compared by the same cohorts at /admin/cds-feedback.", "Jobs:Evaluation:Cron; /admin/cds-feedback", FromEvaluation());
        values["B.8.iv"] = evaluated is null ? (notEvaluated, "Jobs:Evaluation", null) : Fairness(evaluated, FromEvaluation(), "evaluation metrics: fairness");

        // Group 9: retraining through the gate.
        var decision = subject.Decision;
        AttributeMeasurement? FromDecision() => decision is null ? null
            : new AttributeMeasurement($"gate {decision.Challenger}", decision.DecidedAt, string.Create(Ci, $"{decision.TestExamples:N0} held-out examples"), now - decision.DecidedAt > stale);
        values["B.9.i"] = ($"The retrain job, {Schedule(jobs.RetrainCron)}, trains a challenger on {jobs.RetrainSource}; it answers only after the promotion gate compares it with the champion on the same held-out patients (discrimination, calibration, subgroups{(jobs.Gate.RefuseFairnessFlags ? ", fairness" : "")})."
            + (decision is null ? " No gate decision stored yet." : $" Last decision: {decision.Summary}"), "Jobs:Retrain", FromDecision());
        values["B.9.ii"] = ($"When the daily evaluation alerts (estimated ROC-AUC past tolerance, drift, a fairness flag) an administrator can start the retrain at once (POST /admin/jobs/retrain); otherwise at the next scheduled retrain ({Schedule(jobs.RetrainCron)}). Between them the answering model stays, and its cards say what was measured.",
            "Jobs:Retrain:Cron; /admin/jobs", FromDecision());

        var attributes = Hti1.PredictiveAttributes.Select(a =>
        {
            var (value, source, measurement) = values[a.Id];
            return new SourceAttributeEntry(a.Id, a.Group, a.Name, value, source) { Measurement = measurement };
        }).ToList();
        return new SourceAttributeSet($"{d.Id}/{subject.Model}", SourceAttributeSet.Predictive, subject.Version, now, attributes);
    }

    private static bool SameSource(string a, string b) =>
        string.Equals(a.Trim().TrimEnd('/', '\\'), b.Trim().TrimEnd('/', '\\'), StringComparison.OrdinalIgnoreCase);

    private static string Short(string? sha) => sha is { Length: > 12 } ? sha[..12] : sha ?? "unknown";

    private static string Schedule(string? cron) => cron is { Length: > 0 } ? $"on the schedule '{cron}' (UTC)" : "on demand only (no schedule set)";
}

using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthRec.Clinical.Outcomes;
using HealthRec.ML.Evaluation;
using HealthRec.ML.Training;
using Microsoft.ML;

namespace HealthRec.ML.Registry;

/// <summary>Where the training data came from, for the model card.</summary>
public sealed record TrainingProvenance(string Input, string DataSha256, bool Synthetic, string Command, int Seed, string FeatureSchemaId,
    string FeatureSchemaVersion);

/// <summary>What a bundle says about itself (<c>bundle.json</c>), beside <c>model.zip</c>.</summary>
public sealed record BundleManifest
{
    public required string Outcome { get; init; }

    public required string Version { get; init; }

    public required OutcomeDefinition Definition { get; init; }

    public required ImmutableArray<string> FeatureNames { get; init; }

    public required string FeatureSchemaId { get; init; }

    public required string FeatureSchemaVersion { get; init; }

    public Calibrator? Calibrator { get; init; }

    public double Threshold { get; init; }

    public required LightGbmParameters Parameters { get; init; }

    public required TrainingProvenance Provenance { get; init; }

    public required DateTimeOffset TrainedAt { get; init; }

    /// <summary>Share of LightGBM's split gain by feature, largest first.</summary>
    public ImmutableArray<FeatureGain> Importance { get; init; } = [];

    /// <summary>The salt of <see cref="TrainingPatients"/>' digests of the patients this version learnt from; null for bundles that predate them.</summary>
    public string? TrainingPatientsSalt { get; init; }

    /// <summary>How many patients this version learnt from (its training and validation parts).</summary>
    public int? TrainingPatientCount { get; init; }

    /// <summary>The K-fold cross-validation run beside this training (<c>train --cv K</c>), when asked for.</summary>
    public Training.CrossValidationSummary? CrossValidation { get; init; }

    /// <summary>Only demographics (age, sex) contribute: the data's measurements, conditions and medicines taught it nothing.</summary>
    public bool DemographicsOnly { get; init; }

    /// <summary>The warning a demographics-only model carries wherever its figures are shown.</summary>
    public const string DemographicsOnlyWarning =
        "Only demographics (age, sex) contribute to this model: nothing in the record's measurements, conditions or medicines did. " +
        "Check the unused-data report (unread-codes.csv) for codes the terminology does not read.";

    /// <summary>How the model did on its test set, in one line a clinician can read beside any estimate it gives.</summary>
    public string Validation { get; init; } = "";

    /// <summary>Binary outcomes: the held-out patients' Kaplan–Meier incidence against the mean estimate over all their at-risk landmarks.</summary>
    public CalibrationInTheLarge? InTheLarge { get; init; }

    /// <summary>
    /// How censored examples entered training: <c>ipcw</c> (inverse probability of censoring weights, deaths competing);
    /// null for bundles trained before, on complete cases only (censored left out, deaths censored).
    /// </summary>
    public string? Censoring { get; init; }

    /// <summary>The mean estimate over the Kaplan–Meier incidence when they disagree by more than a quarter (estimates run high above 1, low below); null otherwise or when unknown.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double? InTheLargeRatio => InTheLarge is { KaplanMeierIncidence: > 0 } large && double.IsFinite(large.MeanEstimate)
        && large.MeanEstimate / large.KaplanMeierIncidence is var ratio && (ratio > 1.25 || ratio < 0.8) ? ratio : null;

    /// <summary>The baselines saved beside the model (<c>baselines/&lt;name&gt;.zip</c>): whether each outputs a probability.</summary>
    public ImmutableDictionary<string, bool> Baselines { get; init; } = ImmutableDictionary<string, bool>.Empty;
}

public sealed record FeatureGain(string Name, double Gain);

/// <summary>
/// Versioned model bundles on disk: <c>DIR/&lt;outcome&gt;/&lt;version&gt;/</c> holds <c>model.zip</c> (the ML.NET model),
/// <c>bundle.json</c>, <c>metrics.json</c> and <c>model-card.md</c>; <c>DIR/&lt;outcome&gt;/current</c> names the
/// active version. A version is never overwritten: each save takes the next number.
/// </summary>
public static class ModelRegistry
{
    public const string CurrentFile = "current";

    /// <summary>A version's manifest, beside its <c>model.zip</c>.</summary>
    public const string ManifestFile = "bundle.json";

    /// <summary>How bundles and metrics are written: web naming, indented.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Saves a trained outcome as the next version and, unless <paramref name="makeCurrent"/> is false (a challenger that
    /// must pass the promotion gate first), makes it current; returns the version's folder.
    /// </summary>
    public static string Save(string directory, TrainedOutcome trained, IReadOnlyList<string> featureNames, TrainingProvenance provenance,
        DateTimeOffset trainedAt, bool makeCurrent = true, Training.CrossValidationSummary? crossValidation = null)
    {
        var outcomeFolder = Path.Combine(directory, trained.Definition.Id);
        var (version, folder) = NewVersion(outcomeFolder);

        var ml = new MLContext();
        ml.Model.Save(trained.Model, trained.InputSchema, Path.Combine(folder, "model.zip"));
        Directory.CreateDirectory(Path.Combine(folder, "baselines"));
        foreach (var (name, baseline) in trained.Baselines)
        {
            ml.Model.Save(baseline.Model, trained.InputSchema, Path.Combine(folder, "baselines", $"{name}.zip"));
        }

        var manifest = new BundleManifest
        {
            Outcome = trained.Definition.Id,
            Version = version,
            Definition = trained.Definition,
            FeatureNames = [.. featureNames],
            FeatureSchemaId = provenance.FeatureSchemaId,
            FeatureSchemaVersion = provenance.FeatureSchemaVersion,
            Calibrator = trained.Calibrator,
            Threshold = trained.Threshold,
            Parameters = trained.Parameters,
            Provenance = provenance,
            TrainedAt = trainedAt,
            Importance = [.. trained.Importance.Select(x => new FeatureGain(x.Name, Math.Round(x.Gain, 6)))],
            DemographicsOnly = trained.DemographicsOnly,
            CrossValidation = crossValidation,
            TrainingPatientsSalt = TrainingPatients.SaltFor(trained.Definition.Id, version, trainedAt),
            TrainingPatientCount = trained.TrainingPatients.Count,
            Validation = Validation(trained, provenance),
            InTheLarge = trained.Metrics.InTheLarge,
            Censoring = trained.Definition.Kind == OutcomeKind.Binary ? "ipcw" : null,
            Baselines = trained.Baselines.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.Probability, StringComparer.Ordinal),
        };
        File.WriteAllText(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(manifest, Json));
        TrainingPatients.Write(folder, manifest.TrainingPatientsSalt!, trained.TrainingPatients);
        trained.Reference?.Save(folder);
        var metrics = new JsonObject { ["outcomes"] = new JsonObject { [trained.Definition.Id] = MetricsJson.Of(trained.Metrics) } };
        File.WriteAllText(Path.Combine(folder, "metrics.json"), metrics.ToJsonString(Json));
        File.WriteAllText(Path.Combine(folder, "model-card.md"), ModelCard.Write(manifest, trained));

        if (makeCurrent)
        {
            MakeCurrent(outcomeFolder, version);
        }

        return folder;
    }

    /// <summary>An outcome version's manifest, or null when the folder holds none (malformed JSON throws <see cref="JsonException"/>).</summary>
    public static BundleManifest? ReadManifest(string folder)
    {
        var file = Path.Combine(folder, ManifestFile);
        return File.Exists(file) ? JsonSerializer.Deserialize<BundleManifest>(File.ReadAllText(file), Json) : null;
    }

    /// <summary>Creates the next version's folder (v1, v2, …) under an entry of the registry.</summary>
    public static (string Version, string Folder) NewVersion(string entryFolder)
    {
        Directory.CreateDirectory(entryFolder);
        var next = Directory.GetDirectories(entryFolder).Select(Path.GetFileName)
            .Select(n => n is ['v', .. var digits] && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : 0)
            .DefaultIfEmpty(0).Max() + 1;
        var version = string.Create(CultureInfo.InvariantCulture, $"v{next}");
        var folder = Path.Combine(entryFolder, version);
        Directory.CreateDirectory(folder);
        return (version, folder);
    }

    /// <summary>Points the entry at a version atomically: readers see the old name or the new one, never half of one.</summary>
    public static void MakeCurrent(string entryFolder, string version)
    {
        var pointer = Path.Combine(entryFolder, CurrentFile);
        var temporary = pointer + ".tmp";
        File.WriteAllText(temporary, version);
        File.Move(temporary, pointer, overwrite: true);
    }

    private static string Validation(TrainedOutcome trained, TrainingProvenance provenance)
    {
        var m = trained.Metrics;
        var data = provenance.Synthetic ? "synthetic patients" : "patients";
        return trained.Definition.Kind == OutcomeKind.Binary
            ? string.Create(CultureInfo.InvariantCulture,
                $"LightGBM, held-out test of {m.N:N0} examples from {data}: ROC-AUC {m.RocAuc:0.00} (95 % CI {m.RocAucCi?.Low:0.00}–{m.RocAucCi?.High:0.00}), calibration slope {m.CalibrationSlope:0.00}{InTheLarge(m)}")
            : string.Create(CultureInfo.InvariantCulture, $"LightGBM, held-out test of {m.N:N0} examples from {data}: mean absolute error {m.Mae:0.00}, R² {m.R2:0.00}");
    }

    private static string InTheLarge(OutcomeMetrics m) => m.InTheLarge is { } large
        ? string.Create(CultureInfo.InvariantCulture, $"; over all at-risk patients, censored ones included, mean estimate {large.MeanEstimate:P1} against an observed (Kaplan–Meier) incidence of {large.KaplanMeierIncidence:P1}")
        : "";

    /// <summary>The current version's folder of an outcome, or null when none is registered.</summary>
    public static string? CurrentFolder(string directory, string outcome) =>
        CurrentVersion(directory, outcome) is { } version ? Path.Combine(directory, outcome, version) : null;

    /// <summary>The current version of an outcome (<c>v3</c>), or null when none is registered.</summary>
    public static string? CurrentVersion(string directory, string outcome)
    {
        var pointer = Path.Combine(directory, outcome, CurrentFile);
        return File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : null;
    }

    /// <summary>The outcomes with a current version under <paramref name="directory"/> (the phenotype model and the recommender are not outcomes).</summary>
    public static IEnumerable<string> Outcomes(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory).Where(d => File.Exists(Path.Combine(d, CurrentFile))).Select(d => Path.GetFileName(d)!)
                .Where(name => name is not (PhenotypesFolder or RecommenderFolder)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>Where the K-Means phenotype model is registered, beside the outcomes.</summary>
    public const string PhenotypesFolder = "phenotypes";

    /// <summary>Where the hybrid recommender is registered, beside the outcomes.</summary>
    public const string RecommenderFolder = "recommender";
}

/// <summary>The <c>metrics.json</c> shape: fixed names, nulls left out.</summary>
public static class MetricsJson
{
    public static JsonObject Of(OutcomeMetrics m)
    {
        var o = new JsonObject { ["algorithm"] = m.Algorithm, ["n"] = m.N };
        void Put(string name, double? value)
        {
            if (value is { } v && double.IsFinite(v))
            {
                o[name] = Math.Round(v, 6);
            }
        }

        if (m.Train > 0)
        {
            o["n_train"] = m.Train;
        }

        if (m.Validation > 0)
        {
            o["n_validation"] = m.Validation;
        }

        Put("prevalence", m.Prevalence);
        Put("roc_auc", m.RocAuc);
        if (m.RocAucCi is { } ci)
        {
            o["roc_auc_ci95"] = new JsonArray(Math.Round(ci.Low, 6), Math.Round(ci.High, 6));
        }

        Put("pr_auc", m.PrAuc);
        Put("brier", m.Brier);
        Put("calibration_slope", m.CalibrationSlope);
        Put("calibration_intercept", m.CalibrationIntercept);
        Put("threshold", m.Threshold);
        if (m.Confusion is { } c)
        {
            Put("accuracy", c.Accuracy);
            Put("precision", c.Precision);
            Put("recall", c.Recall);
            Put("specificity", c.Specificity);
            Put("f1", c.F1);
            o["confusion_matrix"] = new JsonObject { ["tp"] = c.TruePositives, ["fp"] = c.FalsePositives, ["tn"] = c.TrueNegatives, ["fn"] = c.FalseNegatives };
        }

        Put("mae", m.Mae);
        Put("rmse", m.Rmse);
        Put("r2", m.R2);
        if (m.Subgroups.Count > 0)
        {
            var subgroups = new JsonObject();
            foreach (var (name, s) in m.Subgroups)
            {
                var sub = Of(s);
                sub.Remove("algorithm");
                subgroups[name] = sub;
            }

            o["subgroups"] = subgroups;
        }

        if (m.From is { } from)
        {
            o["from"] = from.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        if (m.InTheLarge is { } large)
        {
            var inTheLarge = new JsonObject { ["n_at_risk"] = large.AtRisk };
            foreach (var (name, value) in new[] { ("kaplan_meier_incidence", large.KaplanMeierIncidence), ("mean_estimate", large.MeanEstimate) })
            {
                if (double.IsFinite(value))
                {
                    inTheLarge[name] = Math.Round(value, 6);
                }
            }

            if (large.Tenths is { } tenths)
            {
                inTheLarge["by_tenth"] = new JsonArray([.. tenths.Select(t => (JsonNode)new JsonObject
                {
                    ["n"] = t.Count,
                    ["mean_estimate"] = Math.Round(t.MeanPredicted, 6),
                    ["kaplan_meier_incidence"] = double.IsFinite(t.Observed) ? Math.Round(t.Observed, 6) : null,
                })]);
            }

            o["calibration_in_the_large"] = inTheLarge;
        }

        if (m.OutOfTime is { } later)
        {
            o["out_of_time"] = Of(later);
        }

        if (m.Baselines.Count > 0)
        {
            var baselines = new JsonObject();
            foreach (var (name, b) in m.Baselines)
            {
                baselines[name] = Of(b);
            }

            o["baselines"] = baselines;
        }

        return o;
    }
}

/// <summary>The model card a reviewer reads beside each bundle.</summary>
internal static class ModelCard
{
    public static string Write(BundleManifest manifest, TrainedOutcome trained)
    {
        var d = trained.Definition;
        var m = trained.Metrics;
        var p = manifest.Provenance;
        var s = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        s.AppendLine(ci, $"# Model card: {d.Title} ({d.Id}, {manifest.Version})");
        s.AppendLine();
        if (p.Synthetic)
        {
            s.AppendLine("> **Trained on synthetic data** (HealthRec's generator). Its figures describe the synthetic population, not any real one;");
            s.AppendLine("> validate on local data before any clinical use.");
            s.AppendLine();
        }

        s.AppendLine("## Intended use");
        s.AppendLine(ci, $"An estimate of {(d.Kind == OutcomeKind.Binary ? $"the probability of: {d.Title.ToLowerInvariant()}" : d.Title.ToLowerInvariant())}, to support — not replace — a clinician's judgement in primary care. Not for diagnosis, not for patients outside the population below.");
        s.AppendLine();
        s.AppendLine("## Population and outcome");
        s.AppendLine(d.Description ?? d.Title);
        s.AppendLine();
        s.Append(ci, $"Age {d.Population.AgeRange}");
        s.Append(d.Population.RequireConditionGroups.IsEmpty ? "" : $"; with {string.Join(", ", d.Population.RequireConditionGroups)}");
        s.Append(d.Population.ExcludeConditionGroups.IsEmpty ? "" : $"; without {string.Join(", ", d.Population.ExcludeConditionGroups)} at the index date");
        s.AppendLine(d.Kind == OutcomeKind.Binary
            ? string.Create(ci, $"; horizon {d.HorizonDays} days. Death without the event is a competing event (a negative); a living patient is followed to the end of the data or {d.FollowUpGraceDays} days after their last contact, whichever comes first; shorter follow-up than {d.MinFollowUpDays ?? d.HorizonDays} days without the event is censored and enters through inverse-probability-of-censoring weights (IPCW).")
            : ".");
        s.AppendLine(d.Landmarks.At == LandmarkAnchor.Discharge
            ? string.Create(ci, $"Index dates: each discharge from an encounter of class {string.Join(" or ", d.Landmarks.EncounterClasses)}, at most {d.Landmarks.MaxPerPatient} per patient.")
            : string.Create(ci, $"Index dates: the first {d.Landmarks.FirstAfterDays} days after a patient's first recorded activity, then every {d.Landmarks.EveryDays} days, at most {d.Landmarks.MaxPerPatient} per patient."));
        s.AppendLine();
        s.AppendLine("## Data");
        var counts = trained.Counts;
        s.Append(ci, $"- source: `{p.Input}` (SHA-256 `{p.DataSha256}`), {counts.Patients:N0} patients, {counts.Landmarks:N0} index dates: {counts.NotAtRisk:N0} not at risk, ");
        s.Append(d.Kind == OutcomeKind.Binary ? string.Create(ci, $"{counts.TooRecent:N0} too close to the end of the data for the horizon, ") : "");
        s.Append(ci, $"{counts.Censored:N0} censored, {counts.Usable:N0} used");
        s.AppendLine(d.Kind == OutcomeKind.Binary
            ? string.Create(ci, $" ({counts.Positives:N0} with the event); {counts.FollowedShare:P0} of at-risk index dates still followed at the horizon (Kaplan–Meier of censoring), so a negative's weight is {1 / counts.FollowedShare:0.00}.")
            : ".");
        s.AppendLine(ci, $"- split by patient (no patient in two sets): {m.Train:N0} training, {m.Validation:N0} validation, {m.N:N0} test examples; seed {p.Seed}.");
        s.AppendLine(ci, $"- features: `{p.FeatureSchemaId}` {p.FeatureSchemaVersion}, {manifest.FeatureNames.Length} columns; the most used: {string.Join(", ", trained.Importance.Take(8).Select(x => string.Create(ci, $"{x.Name} ({x.Gain:P0})")))}.");
        s.AppendLine(ci, $"- command: `{p.Command}`");
        if (manifest.DemographicsOnly)
        {
            s.AppendLine();
            s.AppendLine($"> **Warning.** {BundleManifest.DemographicsOnlyWarning}");
        }

        s.AppendLine();
        s.AppendLine("## Model");
        s.Append(ci, $"LightGBM, {trained.Parameters.Leaves} leaves, learning rate {trained.Parameters.LearningRate}, {trained.Parameters.Iterations} trees (early stopping on validation), at least {trained.Parameters.MinExamplesPerLeaf} examples per leaf, feature fraction {trained.Parameters.FeatureFraction}");
        s.AppendLine(manifest.Calibrator is null ? "." : string.Create(ci,
            $"; probabilities calibrated on validation by {(manifest.Calibrator is IsotonicCalibrator ? "isotonic regression" : "Platt scaling")}; operating threshold {manifest.Threshold:0.000} ({d.Threshold.Policy.ToString().ToLowerInvariant()} on validation)."));
        s.AppendLine();
        s.AppendLine("## Test metrics");
        s.AppendLine();
        if (d.Kind == OutcomeKind.Binary)
        {
            s.AppendLine("| model | ROC-AUC (95 % CI) | PR-AUC | Brier | calibration slope / intercept |");
            s.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var x in new[] { m }.Concat(m.Baselines.Values))
            {
                var interval = x.RocAucCi is { } c ? string.Create(ci, $" ({c.Low:0.000}–{c.High:0.000})") : "";
                var algorithm = x.N == m.N ? x.Algorithm : string.Create(ci, $"{x.Algorithm} (the {x.N:N0} test examples it gives a figure for)");
                s.AppendLine(ci, $"| {algorithm} | {x.RocAuc:0.000}{interval} | {x.PrAuc:0.000} | {x.Brier:0.0000} | {x.CalibrationSlope:0.00} / {x.CalibrationIntercept:0.00} |");
            }

            if (m.Confusion is { } cm)
            {
                s.AppendLine();
                s.AppendLine(ci, $"At the threshold: sensitivity {cm.Recall:P0}, specificity {cm.Specificity:P0}, precision {cm.Precision:P0}, F1 {cm.F1:0.00} (prevalence {m.Prevalence:P1}, n = {m.N:N0}).");
            }
        }
        else
        {
            s.AppendLine("| model | MAE | RMSE | R² |");
            s.AppendLine("| --- | --- | --- | --- |");
            foreach (var x in new[] { m }.Concat(m.Baselines.Values))
            {
                s.AppendLine(ci, $"| {x.Algorithm} | {x.Mae:0.000} | {x.Rmse:0.000} | {x.R2:0.000} |");
            }
        }

        if (m.InTheLarge is { } large)
        {
            s.AppendLine();
            s.AppendLine(ci, $"Every metric above weights each example by the inverse probability of censoring (IPCW), estimating what full follow-up would have shown. Calibration against the observed risk on every at-risk index date of the test patients, censored ones included ({large.AtRisk:N0}): Kaplan–Meier (Aalen–Johansen, death competing) incidence {large.KaplanMeierIncidence:P1}, mean estimate {large.MeanEstimate:P1}.");
            if (large.Tenths is { Count: > 0 } tenths)
            {
                s.AppendLine();
                s.AppendLine("| tenth of predicted risk | n | mean estimate | observed (Kaplan–Meier) |");
                s.AppendLine("| --- | --- | --- | --- |");
                for (var i = 0; i < tenths.Count; i++)
                {
                    s.AppendLine(ci, $"| {i + 1} | {tenths[i].Count:N0} | {tenths[i].MeanPredicted:P1} | {tenths[i].Observed:P1} |");
                }
            }
        }

        if (m.OutOfTime is { } oot)
        {
            s.AppendLine();
            s.AppendLine(d.Kind == OutcomeKind.Binary
                ? string.Create(ci, $"Out-of-time check: refitted on training examples dated before {oot.From:yyyy-MM-dd} ({oot.Train:N0}), tested on {oot.N:N0} test examples from then on: ROC-AUC {oot.RocAuc:0.000}, Brier {oot.Brier:0.0000}.")
                : string.Create(ci, $"Out-of-time check: refitted on training examples dated before {oot.From:yyyy-MM-dd} ({oot.Train:N0}), tested on {oot.N:N0} test examples from then on: MAE {oot.Mae:0.000}, R² {oot.R2:0.000}."));
        }

        if (manifest.CrossValidation is { } cv)
        {
            s.AppendLine();
            s.AppendLine(ci, $"## Cross-validation ({cv.Folds} folds)");
            s.AppendLine();
            s.AppendLine(Training.CrossValidation.Describe(cv));
            s.AppendLine();
            s.AppendLine(ci, $"| model | {(cv.Metric == "roc_auc" ? "ROC-AUC" : "MAE")} mean ± SD | pooled out-of-fold | per fold |");
            s.AppendLine("| --- | --- | --- | --- |");
            foreach (var a in cv.Algorithms)
            {
                s.AppendLine(ci, $"| {a.Algorithm} | {a.Mean:0.000} ± {a.StandardDeviation:0.000} | {a.Pooled:0.000} | {string.Join(", ", a.PerFold.Select(v => v.ToString("0.000", ci)))} |");
            }
        }

        s.AppendLine();
        s.AppendLine("## Subgroups (test set)");
        s.AppendLine();
        s.AppendLine(d.Kind == OutcomeKind.Binary ? "| subgroup | n | prevalence | ROC-AUC |\n| --- | --- | --- | --- |" : "| subgroup | n | MAE | R² |\n| --- | --- | --- | --- |");
        foreach (var (name, g) in m.Subgroups)
        {
            s.AppendLine(d.Kind == OutcomeKind.Binary
                ? string.Create(ci, $"| {name} | {g.N:N0} | {g.Prevalence:P1} | {(g.RocAuc is { } auc && double.IsFinite(auc) ? auc.ToString("0.000", ci) : "— (one outcome only)")} |")
                : string.Create(ci, $"| {name} | {g.N:N0} | {g.Mae:0.000} | {g.R2:0.000} |"));
        }

        s.AppendLine();
        s.AppendLine("## Limitations");
        s.AppendLine("- Race and ethnicity are not in the patient record HealthRec builds: subgroup checks cover sex and age only, and the Pooled Cohort Equations baseline uses the white equations for everyone.");
        s.AppendLine("- Patients followed too briefly are left out (censored); if the reasons they leave care are linked to risk, estimates may be biased.");
        s.AppendLine("- Small subgroups have wide uncertainty; the confidence interval is by patient-level bootstrap of the test set.");
        s.AppendLine("- The estimate is a statistical association, not a causal effect of any factor.");
        return s.ToString();
    }
}

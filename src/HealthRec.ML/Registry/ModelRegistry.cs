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
        File.WriteAllText(Path.Combine(folder, MetricsJson.FileName), metrics.ToJsonString(Json));
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

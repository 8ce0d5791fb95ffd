using HealthRec.ML.Training;

namespace HealthRec.Server.Jobs;

/// <summary>What one outcome's retrain came to: the gate's decision, or why there is none.</summary>
public sealed record RetrainResult(string Outcome, GateDecision? Decision, string? ChallengerFolder, string? Skipped, bool UpToDate = false)
{
    /// <summary>Neither decided nor up to date: training failed or another retrain held the outcome.</summary>
    public bool Failed => Decision is null && !UpToDate;

    public bool Promoted => Decision?.Promote == true;

    public string Line => Decision is { } d ? $"{Outcome}: {d.Summary}" : $"{Outcome}: {Skipped}";
}

/// <summary>
/// Trains a challenger for each outcome, judges it against the champion with the <see cref="PromotionGate"/> on the
/// same held-out patients, records the decision beside the challenger and promotes only through the gate; a rejected
/// challenger stays in the registry for review. The same code runs in the retrain job and in <c>healthrec retrain</c>.
///
/// Idempotent under at-least-once delivery: the attempt's key (the job id, or the data fingerprint and seed on the
/// command line) is written into the challenger's folder first; a repeat with that key reuses a decided challenger
/// (finishing a promotion a crash interrupted) and replaces an undecided one, so a job killed half-way and run again
/// leaves what one clean run leaves. One retrain per outcome at a time: an exclusive lock file in the outcome's folder
/// (the registry is shared by every node), and the job also holds a Hangfire distributed lock.
/// </summary>
public sealed class Retrainer(Featurizer featurizer, IReadOnlyList<OutcomeDefinition> definitions)
{
    public const string KeyFile = "retrain-key";
    private const string LockFile = ".retrain.lock";

    /// <summary>
    /// Retrains every outcome (or those in <paramref name="only"/>) on <paramref name="records"/>; <paramref name="outcomeLock"/>,
    /// when given, takes a lock per outcome (null when another holder has it: that outcome is skipped).
    /// </summary>
    public IReadOnlyList<RetrainResult> Run(IReadOnlyList<PatientRecord> records, string registry, string key, TrainingProvenance provenance,
        GateThresholds thresholds, IReadOnlyCollection<string> only, DateTimeOffset now, TextWriter? log, CancellationToken cancellationToken,
        Func<string, IDisposable?>? outcomeLock = null)
    {
        var results = new List<RetrainResult>();
        foreach (var definition in definitions.Where(d => only.Count == 0 || only.Contains(d.Id)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var held = outcomeLock?.Invoke(definition.Id);
            if (outcomeLock is not null && held is null)
            {
                results.Add(new RetrainResult(definition.Id, null, null, "not retrained: another node is retraining this outcome"));
                log?.WriteLine(results[^1].Line);
                continue;
            }

            var result = RetrainOne(definition, records, registry, key, provenance, thresholds, now, cancellationToken);
            log?.WriteLine(result.Line);
            results.Add(result);
        }

        return results;
    }

    private RetrainResult RetrainOne(OutcomeDefinition definition, IReadOnlyList<PatientRecord> records, string registry, string key,
        TrainingProvenance provenance, GateThresholds thresholds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var entry = Path.Combine(registry, definition.Id);
        Directory.CreateDirectory(entry);
        using var exclusive = TryLock(entry);
        if (exclusive is null)
        {
            return new RetrainResult(definition.Id, null, null, "not retrained: another retrain of this outcome is running");
        }

        var current = ModelRegistry.CurrentVersion(registry, definition.Id);
        var reference = definition.Reference is { } id && Clinical.Risk.ReferenceModels.All.TryGetValue(id, out var found) ? found : null;
        // With a reference equation, the current model is the champion only when the gate promoted it over the equation;
        // otherwise the equation answers, and a challenger is judged against it alone.
        var currentAnswers = current is not null && (reference is null
            || PromotionGate.Load(Path.Combine(entry, current)) is { Promote: true, OverReference: true } promoted && promoted.Reference == reference.Id);
        if (current is not null && currentAnswers && ChampionTrainedOn(entry, current, provenance))
        {
            return new RetrainResult(definition.Id, null, null, $"not retrained: the champion {current} was trained on this very data with the same seed", UpToDate: true);
        }

        // An earlier attempt with this key: reuse its decision, or replace what it left half-done.
        foreach (var folder in Directory.GetDirectories(entry))
        {
            var keyFile = Path.Combine(folder, KeyFile);
            if (!File.Exists(keyFile) || File.ReadAllText(keyFile).Trim() != key || Path.GetFileName(folder) == current)
            {
                continue;
            }

            if (PromotionGate.Load(folder) is { } earlier)
            {
                if (earlier.Promote)
                {
                    ModelRegistry.MakeCurrent(entry, earlier.Challenger);
                }

                return new RetrainResult(definition.Id, earlier, folder, null);
            }

            Directory.Delete(folder, recursive: true);
        }

        var (examples, counts) = OutcomeExamples.Build(records, definition, featurizer);
        cancellationToken.ThrowIfCancellationRequested();
        TrainedOutcome trained;
        try
        {
            trained = new OutcomeTrainer(featurizer, provenance.Seed).Train(definition, examples, counts, OutcomeExamples.AtRisk(records, definition, featurizer));
        }
        catch (TrainingException ex)
        {
            return new RetrainResult(definition.Id, null, null, $"not retrained: {ex.Message}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var challengerFolder = ModelRegistry.Save(registry, trained, featurizer.Names, provenance, now, makeCurrent: false);
        File.WriteAllText(Path.Combine(challengerFolder, KeyFile), key);
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, provenance.Seed) == PatientSplit.Part.Test).ToList();
        GateDecision decision;
        using (var challenger = OutcomeModel.Load(challengerFolder))
        using (var champion = current is null || !currentAnswers ? null : OutcomeModel.Load(Path.Combine(entry, current)))
        {
            decision = PromotionGate.Decide(challenger, champion, test, thresholds, now, reference, definition.DecisionThreshold);
        }

        PromotionGate.Record(challengerFolder, decision);
        if (decision.Promote)
        {
            ModelRegistry.MakeCurrent(entry, decision.Challenger);
        }

        return new RetrainResult(definition.Id, decision, challengerFolder, null);
    }

    private static bool ChampionTrainedOn(string entry, string current, TrainingProvenance provenance) =>
        ModelRegistry.ReadManifest(Path.Combine(entry, current))?.Provenance is { } p && p.DataSha256 == provenance.DataSha256 && p.Seed == provenance.Seed
            && p.FeatureSchemaVersion == provenance.FeatureSchemaVersion && !provenance.Input.StartsWith("http", StringComparison.OrdinalIgnoreCase);

    private static FileStream? TryLock(string entry)
    {
        try
        {
            return new FileStream(Path.Combine(entry, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The key of a command-line retrain: the same data and seed give the same key.</summary>
    public static string CommandLineKey(TrainingProvenance provenance) =>
        string.Create(CultureInfo.InvariantCulture, $"cli:{provenance.DataSha256}:{provenance.Seed}");
}

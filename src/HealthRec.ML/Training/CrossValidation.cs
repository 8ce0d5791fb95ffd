namespace HealthRec.ML.Training;

/// <summary>One algorithm's cross-validated figure: each fold's, their mean and spread, and the pooled out-of-fold one.</summary>
public sealed record CrossValidatedMetric(string Algorithm, ImmutableArray<double> PerFold, double Mean, double StandardDeviation, double Pooled);

/// <summary>
/// K-fold cross-validation of an outcome (<c>train --cv K</c>): the metric (ROC-AUC for a binary outcome, MAE for a
/// regression) of LightGBM and each baseline, per fold, as mean ± SD, and pooled over every out-of-fold estimate.
/// </summary>
public sealed record CrossValidationSummary(int Folds, string Metric, int Seed, ImmutableArray<int> PatientsPerFold, ImmutableArray<int> EventsPerFold,
    ImmutableArray<CrossValidatedMetric> Algorithms)
{
    /// <summary>LightGBM's figure, the model's own.</summary>
    public CrossValidatedMetric Model => Algorithms.First(a => a.Algorithm == "lightgbm");
}

/// <summary>
/// Folds grouped by patient (every example of a patient in one fold: no patient is both trained and tested on) and
/// stratified by label (patients with an event, and those without, are dealt out separately, so each fold has its share
/// of both). In fold f the fold is the test set, the next fold the validation set (early stopping, calibration,
/// threshold) and the other K − 2 the training set — the same 60/20/20 as a single training for K = 5.
/// </summary>
public static class CrossValidation
{
    public const int MinFolds = 3;
    public const int MaxFolds = 20;

    /// <summary>Each patient's fold, 0 .. K−1.</summary>
    public static Dictionary<string, int> Folds(IEnumerable<OutcomeExample> examples, int folds, int seed)
    {
        var patients = examples.GroupBy(e => e.PatientId, StringComparer.Ordinal)
            .Select(g => (Id: g.Key, Event: g.Any(e => e.Label), Key: PatientSplit.Hash(g.Key, (ulong)(seed * 7919L))))
            .ToList();
        var assignment = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var stratum in patients.GroupBy(p => p.Event))
        {
            var i = 0;
            foreach (var patient in stratum.OrderBy(p => p.Key).ThenBy(p => p.Id, StringComparer.Ordinal))
            {
                assignment[patient.Id] = i++ % folds;
            }
        }

        return assignment;
    }

    public static CrossValidationSummary Run(Featurizer featurizer, OutcomeDefinition definition, List<OutcomeExample> examples, ExampleCounts counts,
        int folds, int seed, Action<string>? progress = null)
    {
        if (folds is < MinFolds or > MaxFolds)
        {
            throw new TrainingException($"--cv {folds}: give between {MinFolds} and {MaxFolds} folds.");
        }

        var fold = Folds(examples, folds, seed);
        var binary = definition.Kind == OutcomeKind.Binary;
        var perFold = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var pooledProbabilities = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var pooledLabels = new Dictionary<string, List<bool>>(StringComparer.Ordinal);
        var pooledWeights = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var pooledErrors = new Dictionary<string, (double Sum, int N)>(StringComparer.Ordinal);
        var patients = new int[folds];
        var events = new int[folds];
        foreach (var (id, f) in fold)
        {
            patients[f]++;
        }

        foreach (var e in examples.Where(e => e.Label))
        {
            events[fold[e.PatientId]]++;
        }

        for (var f = 0; f < folds; f++)
        {
            var test = f;
            var validation = (f + 1) % folds;
            var trainer = new OutcomeTrainer(featurizer, seed)
            {
                Split = id => fold[id] == test ? PatientSplit.Part.Test : fold[id] == validation ? PatientSplit.Part.Validation : PatientSplit.Part.Train,
            };
            var trained = trainer.Train(definition, examples, counts);
            foreach (var m in new[] { trained.Metrics }.Concat(trained.Metrics.Baselines.Values))
            {
                var value = binary ? m.RocAuc : m.Mae;
                if (value is not { } figure || !double.IsFinite(figure))
                {
                    continue;
                }

                Add(perFold, m.Algorithm, figure);
                if (binary)
                {
                    foreach (var (p, i) in m.Probabilities.Select((p, i) => (p, i)))
                    {
                        Add(pooledProbabilities, m.Algorithm, p);
                        Add(pooledLabels, m.Algorithm, m.Labels[i]);
                        Add(pooledWeights, m.Algorithm, m.Weights[i]);
                    }
                }
                else
                {
                    var (sum, n) = pooledErrors.GetValueOrDefault(m.Algorithm);
                    pooledErrors[m.Algorithm] = (sum + figure * m.N, n + m.N);
                }
            }

            progress?.Invoke($"fold {f + 1}/{folds}: {(binary ? "ROC-AUC" : "MAE")} {(binary ? trained.Metrics.RocAuc : trained.Metrics.Mae):0.000} " +
                $"({patients[f]} patients, {events[f]} examples with the event)");
        }

        var algorithms = perFold.Where(kv => kv.Value.Count == folds).Select(kv =>
        {
            var values = kv.Value;
            var mean = values.Average();
            var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
            var pooled = binary
                ? BinaryMetrics.RocAuc([.. pooledProbabilities[kv.Key]], [.. pooledLabels[kv.Key]], [.. pooledWeights[kv.Key]])
                : pooledErrors[kv.Key].Sum / pooledErrors[kv.Key].N;
            return new CrossValidatedMetric(kv.Key, [.. values], mean, sd, pooled);
        }).OrderBy(a => a.Algorithm == "lightgbm" ? 0 : 1).ThenBy(a => a.Algorithm, StringComparer.Ordinal).ToImmutableArray();
        return new CrossValidationSummary(folds, binary ? "roc_auc" : "mae", seed, [.. patients], [.. events], algorithms);
    }

    /// <summary>How the folds were made, in one sentence for a model card or a report.</summary>
    public static string Describe(CrossValidationSummary cv) =>
        $"{cv.Folds} folds grouped by patient and stratified by label (seed {cv.Seed}); patients per fold {string.Join(", ", cv.PatientsPerFold)}, " +
        $"examples with the event {string.Join(", ", cv.EventsPerFold)}. In each fold the next fold validates (early stopping, calibration, threshold) " +
        "and the rest train; pooled = one figure over every out-of-fold estimate.";

    private static void Add<T>(Dictionary<string, List<T>> lists, string key, T value)
    {
        if (!lists.TryGetValue(key, out var list))
        {
            lists[key] = list = [];
        }

        list.Add(value);
    }
}

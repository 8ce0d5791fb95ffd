using System.Globalization;
using HealthRec.Clinical.Features;
using HealthRec.Clinical.Outcomes;
using HealthRec.Clinical.Records;
using HealthRec.ML.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Data;
using ConfusionMatrix = HealthRec.ML.Evaluation.ConfusionMatrix;
using RegressionMetrics = HealthRec.ML.Evaluation.RegressionMetrics;
using MlPlatt = Microsoft.ML.Calibrators.PlattCalibrator;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace HealthRec.ML.Training;

/// <summary>
/// A problem with the data that stops training; the message says what to fix. <see cref="TooShort"/>: the records do not
/// span the outcome's horizon — not a fault of the data, only too little of it for this outcome.
/// </summary>
public sealed class TrainingException(string message, bool tooShort = false) : Exception(message)
{
    public bool TooShort { get; } = tooShort;
}

/// <summary>The rows ML.NET sees: the feature vector (width set at run time), the label and the regression target.</summary>
public sealed class ModelRow
{
    public float[] Features { get; set; } = [];

    public bool Label { get; set; }

    public float Value { get; set; }

    /// <summary>The example's censoring weight (training only; 1 when scoring).</summary>
    public float Weight { get; set; } = 1;

    public static SchemaDefinition Schema(int width)
    {
        var schema = SchemaDefinition.Create(typeof(ModelRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return schema;
    }
}

public sealed class ScoreRow
{
    public float Score { get; set; }
}

/// <summary>Which examples train, tune and test: by patient, so no patient is on two sides.</summary>
public static class PatientSplit
{
    public enum Part
    {
        Train,
        Validation,
        Test,
    }

    /// <summary>60 % train, 20 % validation, 20 % test, from a stable hash of the seed and the patient id.</summary>
    public static Part Of(string patientId, int seed)
    {
        var bucket = (Hash(patientId, (ulong)seed) >> 11) % 100;
        return bucket < 60 ? Part.Train : bucket < 80 ? Part.Validation : Part.Test;
    }

    /// <summary>64-bit FNV-1a of a patient id, its offset basis mixed with <paramref name="salt"/>: stable across processes (string.GetHashCode is not).</summary>
    internal static ulong Hash(string patientId, ulong salt)
    {
        var hash = 14695981039346656037UL ^ salt;
        foreach (var c in patientId)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}

/// <summary>The LightGBM parameters that matter, as searched.</summary>
public sealed record LightGbmParameters(int Leaves, double LearningRate, int MinExamplesPerLeaf, double FeatureFraction)
{
    public int Iterations { get; init; }
}

/// <summary>
/// Calibration in the large on every at-risk landmark (censored ones included) of held-out patients: the Kaplan–Meier
/// incidence by the horizon against the mean estimate; and the same by tenth of predicted risk.
/// </summary>
public sealed record CalibrationInTheLarge(int AtRisk, double KaplanMeierIncidence, double MeanEstimate)
{
    public IReadOnlyList<CalibrationBin>? Tenths { get; init; }
}

/// <summary>What training an outcome produced: the model, its calibration and threshold, and the test metrics.</summary>
public sealed class TrainedOutcome
{
    public required OutcomeDefinition Definition { get; init; }

    public required ITransformer Model { get; init; }

    public required DataViewSchema InputSchema { get; init; }

    public Calibrator? Calibrator { get; init; }

    public double Threshold { get; init; }

    public required LightGbmParameters Parameters { get; init; }

    public required ExampleCounts Counts { get; init; }

    public required OutcomeMetrics Metrics { get; init; }

    public required IReadOnlyList<(string Name, double Gain)> Importance { get; init; }

    /// <summary>
    /// Whether every input with at least <see cref="OutcomeTrainer.ContributingGain"/> of the split gain is demographic
    /// (age, sex) — or none is used at all: a model that has learnt nothing from the record's measurements, conditions
    /// and medicines, which usually means the site's data never reached the features (codes no definition reads).
    /// </summary>
    public bool DemographicsOnly { get; init; }

    /// <summary>The patients the model learnt from: those of its training and validation parts (not the held-out test).</summary>
    public IReadOnlyList<string> TrainingPatients { get; init; } = [];

    /// <summary>The baselines trained on the same split, kept so evaluation on new data can compare with them.</summary>
    public required IReadOnlyDictionary<string, BaselineModel> Baselines { get; init; }

    /// <summary>The training examples' feature distributions, for drift.</summary>
    public FeatureReference? Reference { get; init; }
}

/// <summary>
/// Trains one outcome: patient-grouped split, a seeded search over LightGBM's main parameters with early stopping on
/// validation, probability calibration chosen on validation, the operating threshold by the definition's policy, and
/// baselines on the same split (logistic or linear regression, a single decision tree, a random forest, and the Pooled
/// Cohort Equations where the definition asks). Reproducible for a seed (one thread, deterministic LightGBM).
/// </summary>
public sealed class OutcomeTrainer(Featurizer featurizer, int seed = 1)
{
    private const int SearchCandidates = 6;
    private static readonly int[] LeavesGrid = [15, 31, 63];
    private static readonly double[] LearningRateGrid = [0.03, 0.05, 0.1];
    private static readonly int[] MinLeafGrid = [20, 50, 100];
    private static readonly double[] FeatureFractionGrid = [0.7, 0.9, 1.0];

    /// <summary>
    /// Which part each patient is in: by default <see cref="PatientSplit.Of"/> (60/20/20 by a hash of the seed and the
    /// id); cross-validation gives each fold's split.
    /// </summary>
    public Func<string, PatientSplit.Part>? Split { get; init; }

    private PatientSplit.Part PartOf(string patientId) => Split?.Invoke(patientId) ?? PatientSplit.Of(patientId, seed);

    /// <summary>Below this Kaplan–Meier share still followed at the horizon, censoring weights (1 / share) are too unstable to train on.</summary>
    public const double MinFollowedShare = 0.05;

    /// <summary>
    /// Trains the outcome on its usable examples, each with its censoring weight (IPCW, see
    /// <see cref="OutcomeExamples.Build"/>): LightGBM, the calibrator, the threshold, the baselines and every metric
    /// are weighted. <paramref name="atRisk"/> — every at-risk landmark, censored ones included — gives the test
    /// patients' calibration against Kaplan–Meier: overall and by tenth of predicted risk.
    /// </summary>
    public TrainedOutcome Train(OutcomeDefinition definition, List<OutcomeExample> examples, ExampleCounts counts, IReadOnlyList<AtRiskExample>? atRisk = null)
    {
        if (definition.Kind == OutcomeKind.Binary && examples.Count == 0 && counts.TooRecent > 0)
        {
            CheckFollowUp(definition, counts);
        }

        if (examples.Count == 0 && counts.Landmarks == 0 && counts.Patients > 0)
        {
            throw new TrainingException($"{definition.Id}: none of the {counts.Patients} patients has a dated fact HealthRec reads (a measurement, " +
                "condition, medicine or encounter), so no index date can be placed. The unused-data report lists the codes no definition reads.");
        }

        if (examples.Count == 0)
        {
            throw new TrainingException($"{definition.Id}: no usable examples ({counts.Patients} patients, {counts.Landmarks} landmarks: " +
                $"{counts.NotAtRisk} not at risk, {counts.Censored} censored). Give it more patients or longer follow-up.");
        }

        var train = examples.Where(e => PartOf(e.PatientId) == PatientSplit.Part.Train).ToList();
        var validation = examples.Where(e => PartOf(e.PatientId) == PatientSplit.Part.Validation).ToList();
        var test = examples.Where(e => PartOf(e.PatientId) == PatientSplit.Part.Test).ToList();
        var binary = definition.Kind == OutcomeKind.Binary;
        if (binary)
        {
            CheckFollowUp(definition, counts);
            foreach (var (name, part) in new[] { ("training", train), ("validation", validation), ("test", test) })
            {
                var positives = part.Count(e => e.Label);
                if (positives == 0 || positives == part.Count)
                {
                    throw new TrainingException($"{definition.Id}: the {name} set ({(Split is null ? "patients are split 60/20/20" : "of this fold")}) has {positives} examples with the event " +
                        $"and {part.Count - positives} followed without it for {FollowUpNeeded(definition)}; both are needed in every set. Give it more patients.");
                }
            }

            GuardAgainstLeakage(definition, train);
        }
        else if (train.Count < 10 || validation.Count < 5 || test.Count < 5)
        {
            throw new TrainingException($"{definition.Id}: {examples.Count} examples are too few to train and test a regression.");
        }

        var ml = new MLContext(seed);
        var schema = ModelRow.Schema(featurizer.Width);
        IDataView Load(List<OutcomeExample> part) => ml.Data.LoadFromEnumerable(
            part.Select(e => new ModelRow { Features = e.Features, Label = e.Label, Value = e.Value, Weight = (float)e.Weight }), schema);
        var trainView = Load(train);
        var validationView = Load(validation);
        var testView = Load(test);

        var (model, parameters) = Search(ml, definition, trainView, validationView, validation);
        var validationScores = Scores(ml, model, validationView);
        var testScores = Scores(ml, model, testView);

        Calibrator? calibrator = null;
        double threshold = 0;
        OutcomeMetrics metrics;
        var baselines = new Dictionary<string, BaselineModel>(StringComparer.Ordinal);
        double[] Baseline(string name, EstimatorChain<ITransformer> pipeline, bool probability)
        {
            var model = pipeline.Fit(trainView);
            baselines[name] = new BaselineModel(model, probability);
            return baselines[name].Scores(testView);
        }

        CalibrationInTheLarge? inTheLarge = null;
        if (binary)
        {
            var validationLabels = validation.Select(e => e.Label).ToArray();
            var validationWeights = validation.Select(e => e.Weight).ToArray();
            calibrator = Calibrator.Choose(validationScores, validationLabels, validationWeights);
            if (atRisk is { Count: > 0 } && (definition.MinFollowUpDays ?? definition.HorizonDays) >= definition.HorizonDays)
            {
                inTheLarge = InTheLarge(ml, model, definition, calibrator, atRisk);
            }

            var validationProbabilities = validationScores.Select(calibrator.Probability).ToArray();
            threshold = definition.Threshold.Policy switch
            {
                ThresholdPolicy.Fixed => definition.Threshold.Value!.Value,
                ThresholdPolicy.Sensitivity => BinaryMetrics.SensitivityThreshold(validationProbabilities, validationLabels, definition.Threshold.Value!.Value, validationWeights),
                _ => BinaryMetrics.MaxF1Threshold(validationProbabilities, validationLabels, validationWeights),
            };
            var probabilities = testScores.Select(calibrator.Probability).ToArray();
            metrics = OutcomeMetrics.Binary("lightgbm", test, probabilities, threshold);
            metrics.Baselines["logistic_regression"] = OutcomeMetrics.Binary("logistic_regression", test,
                Baseline("logistic_regression", Imputed(ml, ml.Transforms.NormalizeMeanVariance("Features")
                    .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(exampleWeightColumnName: nameof(ModelRow.Weight)))), probability: true), null);
            metrics.Baselines["decision_tree"] = OutcomeMetrics.Binary("decision_tree", test,
                Baseline("decision_tree", Imputed(ml, ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
                {
                    NumberOfTrees = 1, NumberOfLeaves = 16, MinimumExampleCountPerLeaf = 50, LearningRate = 1, ExampleWeightColumnName = nameof(ModelRow.Weight),
                })), probability: true), null);
            metrics.Baselines["random_forest"] = OutcomeMetrics.Binary("random_forest", test,
                Baseline("random_forest", Imputed(ml, ml.BinaryClassification.Trainers.FastForest(new FastForestBinaryTrainer.Options
                {
                    NumberOfTrees = 100, NumberOfLeaves = 32, MinimumExampleCountPerLeaf = 20, ExampleWeightColumnName = nameof(ModelRow.Weight),
                }).Append(ml.BinaryClassification.Calibrators.Platt(exampleWeightColumnName: nameof(ModelRow.Weight)))), probability: true), null);
            if (definition.PooledCohortBaseline)
            {
                metrics.Baselines["pooled_cohort_equations"] = OutcomeMetrics.Binary("pooled_cohort_equations", test,
                    [.. test.Select(e => e.PooledCohortRisk)], null);
            }

            if (ReferenceBaseline(definition, test) is { } reference)
            {
                metrics.Baselines[reference.Algorithm] = reference;
            }
        }
        else
        {
            metrics = OutcomeMetrics.Regression("lightgbm", test, testScores);
            metrics.Baselines["linear_regression"] = OutcomeMetrics.Regression("linear_regression", test,
                Baseline("linear_regression", Imputed(ml, ml.Transforms.NormalizeMeanVariance("Features")
                    .Append(ml.Regression.Trainers.Sdca(labelColumnName: "Value"))), probability: false));
            metrics.Baselines["decision_tree"] = OutcomeMetrics.Regression("decision_tree", test,
                Baseline("decision_tree", Imputed(ml, ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
                {
                    LabelColumnName = "Value", NumberOfTrees = 1, NumberOfLeaves = 16, MinimumExampleCountPerLeaf = 20, LearningRate = 1,
                })), probability: false));
            metrics.Baselines["random_forest"] = OutcomeMetrics.Regression("random_forest", test,
                Baseline("random_forest", Imputed(ml, ml.Regression.Trainers.FastForest(new FastForestRegressionTrainer.Options
                {
                    LabelColumnName = "Value", NumberOfTrees = 100, NumberOfLeaves = 32, MinimumExampleCountPerLeaf = 10,
                })), probability: false));
        }

        metrics.Train = train.Count;
        metrics.Validation = validation.Count;
        metrics.InTheLarge = inTheLarge;
        metrics.OutOfTime = OutOfTime(ml, definition, parameters, schema, train, validation, test);
        var importance = Importance(model);
        return new TrainedOutcome
        {
            Reference = FeatureReference.Build([.. train.Select(e => e.Features)], featurizer.Names),
            Definition = definition,
            Model = model,
            InputSchema = trainView.Schema,
            Calibrator = calibrator,
            Threshold = threshold,
            Parameters = parameters,
            Counts = counts,
            Metrics = metrics,
            Importance = importance,
            DemographicsOnly = DemographicsOnly(importance),
            TrainingPatients = [.. train.Concat(validation).Select(e => e.PatientId).Distinct(StringComparer.Ordinal)],
            Baselines = baselines,
        };
    }

    /// <summary>
    /// Calibration against Kaplan–Meier on the test patients' at-risk landmarks, censored ones included: the incidence
    /// by the horizon against the mean estimate, overall and by tenth of predicted risk.
    /// </summary>
    private CalibrationInTheLarge InTheLarge(MLContext ml, ITransformer model, OutcomeDefinition definition, Calibrator calibrator, IReadOnlyList<AtRiskExample> atRisk)
    {
        var test = atRisk.Where(e => PartOf(e.PatientId) == PatientSplit.Part.Test).ToList();
        var estimates = test.Count == 0 ? [] : Scores(ml, model, ml.Data.LoadFromEnumerable(test.Select(e => new ModelRow { Features = e.Features }), ModelRow.Schema(featurizer.Width)))
            .Select(calibrator.Probability).ToArray();
        return AgainstKaplanMeier(estimates, test, definition);
    }

    /// <summary>Mean estimate against the Kaplan–Meier incidence by the horizon, overall and by tenth of the estimate.</summary>
    public static CalibrationInTheLarge AgainstKaplanMeier(IReadOnlyList<double> estimates, IReadOnlyList<AtRiskExample> atRisk, OutcomeDefinition definition)
    {
        var outcomes = atRisk.Select(e => e.Outcome).ToList();
        return new CalibrationInTheLarge(atRisk.Count,
            atRisk.Count == 0 ? double.NaN : KaplanMeier.CumulativeIncidence(outcomes, definition.HorizonDays),
            estimates.DefaultIfEmpty(double.NaN).Average())
        {
            Tenths = atRisk.Count < 10 ? null : KaplanMeier.Bins(estimates, outcomes, definition.HorizonDays),
        };
    }

    /// <summary>
    /// The outcome's reference equation on the examples it gives a number for (its own <c>n</c>): beside the models in
    /// the card and the report, so a reader sees the validated floor on the same patients.
    /// </summary>
    public static OutcomeMetrics? ReferenceBaseline(OutcomeDefinition definition, List<OutcomeExample> examples)
    {
        if (definition.Reference is not { } id)
        {
            return null;
        }

        var scored = examples.Where(e => double.IsFinite(e.ReferenceRisk)).ToList();
        return scored.Exists(e => e.Label) && scored.Exists(e => !e.Label)
            ? OutcomeMetrics.Binary(id, scored, [.. scored.Select(e => e.ReferenceRisk)], null)
            : null;
    }

    /// <summary>
    /// A binary outcome needs patients known to be event-free for the whole follow-up a negative needs, and enough of
    /// them that the censoring weights stay stable; a cohort too short for the horizon is told so.
    /// </summary>
    private static void CheckFollowUp(OutcomeDefinition definition, ExampleCounts counts)
    {
        var longest = counts.LongestEventFreeDays ?? 0;
        if (counts.Negatives == 0)
        {
            var seen = counts.Usable == 0
                ? $"all {counts.TooRecent:N0} index dates at risk are closer than that to the end of the data"
                : $"{counts.TooRecent:N0} index dates are closer than that to the end of the data; the longest event-free follow-up is " +
                  $"{longest / 365.25:0.0} years; {counts.Positives:N0} usable examples have the event, {counts.Censored:N0} are censored";
            throw new TrainingException($"{definition.Id}: the cohort is too short for this outcome: no index date has {FollowUpNeeded(definition)} " +
                $"of data after it in which a patient could be followed without the event ({seen}). Give it records spanning at least " +
                $"{((definition.MinFollowUpDays ?? definition.HorizonDays) + definition.Landmarks.FirstAfterDays) / 365.25:0.#} years, or a shorter horizon.",
                tooShort: true);
        }

        if (counts.FollowedShare is { } share && share < MinFollowedShare)
        {
            throw new TrainingException($"{definition.Id}: the cohort is too short for this outcome: only {share:P1} of at-risk index dates are still " +
                $"followed after {FollowUpNeeded(definition)} (Kaplan–Meier of censoring), so each negative would stand for more than " +
                $"{1 / MinFollowedShare:0} patients. Give it longer records or a shorter horizon.", tooShort: true);
        }

        if (counts.Positives == 0)
        {
            throw new TrainingException($"{definition.Id}: no example has the event within {definition.HorizonDays} days " +
                $"({counts.Usable:N0} usable examples); nothing to learn. Check the outcome's target codes against the data.");
        }
    }

    private static string FollowUpNeeded(OutcomeDefinition definition) =>
        $"{definition.MinFollowUpDays ?? definition.HorizonDays} days";

    /// <summary>
    /// Temporal validation, when the index dates span at least three years: the chosen parameters refitted on training
    /// patients' examples dated before the last quarter of index dates, tested on test patients' examples from that
    /// last quarter. Labels of the earlier examples may reach past the cut-off (their horizon does): this checks drift
    /// over calendar time, not leakage, which the patient split and the feature windows already exclude.
    /// </summary>
    private OutcomeMetrics? OutOfTime(MLContext ml, OutcomeDefinition definition, LightGbmParameters parameters, Microsoft.ML.Data.SchemaDefinition schema,
        List<OutcomeExample> train, List<OutcomeExample> validation, List<OutcomeExample> test)
    {
        var dates = train.Concat(validation).Concat(test).Select(e => e.IndexAt).Order().ToList();
        if ((dates[^1] - dates[0]).TotalDays < 3 * 365.25)
        {
            return null;
        }

        var cutoff = dates[(int)(dates.Count * 0.75)];
        var early = train.Where(e => e.IndexAt < cutoff).ToList();
        var earlyValidation = validation.Where(e => e.IndexAt < cutoff).ToList();
        var late = test.Where(e => e.IndexAt >= cutoff).ToList();
        var binary = definition.Kind == OutcomeKind.Binary;
        bool Both(List<OutcomeExample> part) => !binary || (part.Exists(e => e.Label) && part.Exists(e => !e.Label));
        if (late.Count < 50 || early.Count < 100 || earlyValidation.Count < 20 || !Both(early) || !Both(earlyValidation) || !Both(late))
        {
            return null;
        }

        IDataView Load(List<OutcomeExample> part) => ml.Data.LoadFromEnumerable(
            part.Select(e => new ModelRow { Features = e.Features, Label = e.Label, Value = e.Value, Weight = (float)e.Weight }), schema);
        var model = Fit(ml, definition, parameters, Load(early), Load(earlyValidation));
        var scores = Scores(ml, model, Load(late));
        var metrics = binary
            ? OutcomeMetrics.Binary("lightgbm", late, [.. scores.Select(Calibrator.Choose(Scores(ml, model, Load(earlyValidation)), [.. earlyValidation.Select(e => e.Label)], [.. earlyValidation.Select(e => e.Weight)]).Probability)], null)
            : OutcomeMetrics.Regression("lightgbm", late, scores);
        metrics.From = cutoff;
        metrics.Train = early.Count;
        return metrics;
    }

    /// <summary>
    /// A feature that alone ranks the training labels (almost) perfectly is a copy of the label, not a predictor:
    /// training stops and names it.
    /// </summary>
    private void GuardAgainstLeakage(OutcomeDefinition definition, List<OutcomeExample> train)
    {
        var labels = train.Select(e => e.Label).ToArray();
        var column = new double[train.Count];
        for (var f = 0; f < featurizer.Width; f++)
        {
            for (var i = 0; i < train.Count; i++)
            {
                var v = train[i].Features[f];
                column[i] = float.IsNaN(v) ? double.MinValue : v;
            }

            var auc = BinaryMetrics.RocAuc(column, labels);
            if (auc is >= 0.995 or <= 0.005)
            {
                throw new TrainingException($"{definition.Id}: feature '{featurizer.Names[f]}' alone separates the outcome in training " +
                    $"(ROC-AUC {auc:0.000}): it must be reading the label or the future. Remove it from the feature schema or fix its window.");
            }
        }
    }

    private (ITransformer Model, LightGbmParameters Parameters) Search(MLContext ml, OutcomeDefinition definition, IDataView train,
        IDataView validation, List<OutcomeExample> validationExamples)
    {
        var random = new Random(seed);
        var grid = (from leaves in LeavesGrid
                    from rate in LearningRateGrid
                    from minLeaf in MinLeafGrid
                    from fraction in FeatureFractionGrid
                    select new LightGbmParameters(leaves, rate, minLeaf, fraction)).ToList();
        var candidates = grid.OrderBy(_ => random.Next()).Take(SearchCandidates).ToList();
        ITransformer? best = null;
        LightGbmParameters? bestParameters = null;
        var bestScore = double.NegativeInfinity;
        foreach (var candidate in candidates)
        {
            var model = Fit(ml, definition, candidate, train, validation);
            var scores = Scores(ml, model, validation);
            var score = definition.Kind == OutcomeKind.Binary
                ? BinaryMetrics.RocAuc(scores, [.. validationExamples.Select(e => e.Label)], [.. validationExamples.Select(e => e.Weight)])
                : -RegressionMetrics.Compute(scores, [.. validationExamples.Select(e => (double)e.Value)]).Rmse;
            if (score > bestScore)
            {
                (best, bestParameters, bestScore) = (model, candidate, score);
            }
        }

        return (best!, bestParameters! with { Iterations = Iterations(best!) });
    }

    private ITransformer Fit(MLContext ml, OutcomeDefinition definition, LightGbmParameters p, IDataView train, IDataView validation)
    {
        var booster = new GradientBooster.Options { FeatureFraction = p.FeatureFraction };
        if (definition.Kind == OutcomeKind.Binary)
        {
            return ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                NumberOfLeaves = p.Leaves, LearningRate = p.LearningRate, MinimumExampleCountPerLeaf = p.MinExamplesPerLeaf,
                NumberOfIterations = 1000, EarlyStoppingRound = 40, Booster = booster, Seed = seed, Deterministic = true,
                NumberOfThreads = 1, UnbalancedSets = false, Silent = true, ExampleWeightColumnName = nameof(ModelRow.Weight),
            }).Fit(train, validation);
        }

        return ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
        {
            LabelColumnName = "Value", NumberOfLeaves = p.Leaves, LearningRate = p.LearningRate, MinimumExampleCountPerLeaf = p.MinExamplesPerLeaf,
            NumberOfIterations = 1000, EarlyStoppingRound = 40, Booster = booster, Seed = seed, Deterministic = true, NumberOfThreads = 1, Silent = true,
        }).Fit(train, validation);
    }

    private static int Iterations(ITransformer model) => model switch
    {
        BinaryPredictionTransformer<CalibratedModelParametersBase<LightGbmBinaryModelParameters, MlPlatt>> b =>
            b.Model.SubModel.TrainedTreeEnsemble.Trees.Count,
        RegressionPredictionTransformer<LightGbmRegressionModelParameters> r => r.Model.TrainedTreeEnsemble.Trees.Count,
        _ => 0,
    };

    /// <summary>The share of split gain from which an input counts as contributing to a model.</summary>
    public const double ContributingGain = 0.01;

    private bool DemographicsOnly(List<(string Name, double Gain)> importance)
    {
        var demographic = featurizer.Schema.Features.Where(f => f.Kind is FeatureKind.Age or FeatureKind.Sex).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        return importance.Where(x => x.Gain >= ContributingGain)
            .All(x => demographic.Contains(x.Name.EndsWith("_missing", StringComparison.Ordinal) ? x.Name[..^"_missing".Length] : x.Name));
    }

    private List<(string Name, double Gain)> Importance(ITransformer model)
    {
        var gains = new VBuffer<float>();
        switch (model)
        {
            case BinaryPredictionTransformer<CalibratedModelParametersBase<LightGbmBinaryModelParameters, MlPlatt>> b:
                b.Model.SubModel.GetFeatureWeights(ref gains);
                break;
            case RegressionPredictionTransformer<LightGbmRegressionModelParameters> r:
                r.Model.GetFeatureWeights(ref gains);
                break;
        }

        var values = gains.DenseValues().ToArray();
        var total = values.Sum();
        return [.. values.Select((g, i) => (featurizer.Names[i], total > 0 ? g / (double)total : 0)).Where(x => x.Item2 > 0).OrderByDescending(x => x.Item2)];
    }

    /// <summary>The model's raw scores (binary: the margin before calibration; regression: the prediction).</summary>
    public static double[] Scores(MLContext ml, ITransformer model, IDataView data) =>
        [.. ml.Data.CreateEnumerable<ScoreRow>(model.Transform(data), reuseRowObject: false).Select(r => (double)r.Score)];

    // Baselines do not take missing values: the mean is put in (each missing value also has its indicator column).
    private static EstimatorChain<ITransformer> Imputed(MLContext ml, IEstimator<ITransformer> then) =>
        ml.Transforms.ReplaceMissingValues("Features", replacementMode: Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean)
            .Append(then);

}

/// <summary>A baseline's fitted pipeline, and whether its output is a probability (else a raw score or a value).</summary>
public sealed record BaselineModel(ITransformer Model, bool Probability)
{
    public double[] Scores(IDataView data)
    {
        var scored = Model.Transform(data);
        return [.. scored.GetColumn<float>(Probability ? "Probability" : "Score").Select(v => (double)v)];
    }
}

/// <summary>An algorithm's test metrics, in the shape <c>metrics.json</c> writes.</summary>
public sealed class OutcomeMetrics
{
    public required string Algorithm { get; init; }

    public int N { get; init; }

    public int Train { get; set; }

    public int Validation { get; set; }

    public double? Prevalence { get; init; }

    public double? RocAuc { get; init; }

    public (double Low, double High)? RocAucCi { get; init; }

    public double? PrAuc { get; init; }

    public double? Brier { get; init; }

    public double? CalibrationSlope { get; init; }

    public double? CalibrationIntercept { get; init; }

    public double? Threshold { get; init; }

    public ConfusionMatrix? Confusion { get; init; }

    public double? Mae { get; init; }

    public double? Rmse { get; init; }

    public double? R2 { get; init; }

    public Dictionary<string, OutcomeMetrics> Subgroups { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, OutcomeMetrics> Baselines { get; } = new(StringComparer.Ordinal);

    /// <summary>Complete-case binary outcomes: the test patients' Kaplan–Meier incidence against the mean estimate over all their at-risk landmarks.</summary>
    public CalibrationInTheLarge? InTheLarge { get; set; }

    /// <summary>The out-of-time check: trained before <see cref="From"/>, tested on later index dates (null when the data is too short).</summary>
    public OutcomeMetrics? OutOfTime { get; set; }

    /// <summary>For the out-of-time metrics: the first index date tested.</summary>
    public DateTimeOffset? From { get; set; }

    /// <summary>The scored examples behind the metrics, for the report's curves (binary outcomes).</summary>
    public double[] Probabilities { get; private init; } = [];

    public bool[] Labels { get; private init; } = [];

    /// <summary>The examples' censoring weights, aligned with <see cref="Labels"/>.</summary>
    public double[] Weights { get; private init; } = [];

    /// <summary>
    /// Binary metrics, each weighted by the examples' censoring weights (so each estimates what full follow-up would
    /// have shown); with a threshold also the confusion matrix, net benefit, subgroups and a bootstrap interval for ROC-AUC.
    /// </summary>
    public static OutcomeMetrics Binary(string algorithm, List<OutcomeExample> test, double[] probabilities, double? threshold)
    {
        var labels = test.Select(e => e.Label).ToArray();
        var weights = test.Select(e => e.Weight).ToArray();
        var (slope, intercept) = BinaryMetrics.Calibration(probabilities, labels, weights);
        var metrics = new OutcomeMetrics
        {
            Algorithm = algorithm,
            N = test.Count,
            Prevalence = BinaryMetrics.EventRate(labels, weights),
            RocAuc = BinaryMetrics.RocAuc(probabilities, labels, weights),
            RocAucCi = threshold is null ? null : BinaryMetrics.BootstrapInterval(probabilities, labels, [.. test.Select(e => e.PatientId)],
                (s, l, w) => BinaryMetrics.RocAuc(s, l, w), weights),
            PrAuc = BinaryMetrics.PrAuc(probabilities, labels, weights),
            Brier = BinaryMetrics.Brier(probabilities, labels, weights),
            CalibrationSlope = slope,
            CalibrationIntercept = intercept,
            Threshold = threshold,
            Confusion = threshold is { } t ? BinaryMetrics.At(probabilities, labels, t, weights) : null,
            Probabilities = probabilities,
            Labels = labels,
            Weights = weights,
        };
        if (threshold is not null)
        {
            foreach (var (name, member) in Subgroups_(test))
            {
                var index = Enumerable.Range(0, test.Count).Where(i => member(test[i])).ToArray();
                var subLabels = index.Select(i => labels[i]).ToArray();
                var subWeights = index.Select(i => weights[i]).ToArray();
                if (index.Length > 0)
                {
                    metrics.Subgroups[name] = new OutcomeMetrics
                    {
                        Algorithm = algorithm,
                        N = index.Length,
                        Prevalence = BinaryMetrics.EventRate(subLabels, subWeights),
                        RocAuc = BinaryMetrics.RocAuc([.. index.Select(i => probabilities[i])], subLabels, subWeights),
                    };
                }
            }
        }

        return metrics;
    }

    public static OutcomeMetrics Regression(string algorithm, List<OutcomeExample> test, double[] predictions)
    {
        var actual = test.Select(e => (double)e.Value).ToArray();
        var (mae, rmse, r2) = RegressionMetrics.Compute(predictions, actual);
        var metrics = new OutcomeMetrics { Algorithm = algorithm, N = test.Count, Mae = mae, Rmse = rmse, R2 = r2 };
        foreach (var (name, member) in Subgroups_(test))
        {
            var index = Enumerable.Range(0, test.Count).Where(i => member(test[i])).ToArray();
            if (index.Length > 1)
            {
                var (subMae, subRmse, subR2) = RegressionMetrics.Compute([.. index.Select(i => predictions[i])], [.. index.Select(i => actual[i])]);
                metrics.Subgroups[name] = new OutcomeMetrics { Algorithm = algorithm, N = index.Length, Mae = subMae, Rmse = subRmse, R2 = subR2 };
            }
        }

        return metrics;
    }

    private static IEnumerable<(string Name, Func<OutcomeExample, bool> Member)> Subgroups_(List<OutcomeExample> test)
    {
        _ = test;
        yield return ("sex=female", e => e.Sex == Sex.Female);
        yield return ("sex=male", e => e.Sex == Sex.Male);
        yield return ("age<45", e => e.Age < 45);
        yield return ("age=45-64", e => e.Age is >= 45 and < 65);
        yield return ("age>=65", e => e.Age >= 65);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Algorithm}: n={N} auc={RocAuc:0.000} brier={Brier:0.0000} mae={Mae:0.000}");
}

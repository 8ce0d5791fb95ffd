using RegressionMetrics = HealthRec.ML.Evaluation.RegressionMetrics;
using MlPlatt = Microsoft.ML.Calibrators.PlattCalibrator;
using Microsoft.ML.Calibrators;

namespace HealthRec.ML.Training;

/// <summary>
/// Trains one outcome: patient-grouped split, a seeded search over LightGBM's main parameters with early stopping on
/// validation, probability calibration chosen on validation, the operating threshold by the definition's policy, and
/// baselines on the same split (logistic or linear regression, a single decision tree, a random forest, and the Pooled
/// Cohort Equations where the definition asks). Reproducible for a seed (one thread, deterministic LightGBM).
/// </summary>
public sealed partial class OutcomeTrainer(Featurizer featurizer, int seed = 1)
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

using System.Text.Json.Nodes;
using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Outcomes;
using HealthRec.Clinical.Records;
using HealthRec.Clinical.Units;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Sources;
using HealthRec.Fhir.Synthetic;
using HealthRec.ML.Evaluation;
using HealthRec.ML.Outcomes;
using HealthRec.ML.Registry;
using HealthRec.ML.Serving;
using HealthRec.ML.Training;
using Microsoft.ML;

namespace HealthRec.ML.Tests;

/// <summary>A generated cohort (6,000 patients followed 13 years, seed 42), read through the real ingestion path.</summary>
public class GeneratedCohort : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-train-");

    public List<PatientRecord> Records { get; } = [];

    public virtual async ValueTask InitializeAsync()
    {
        var data = Path.Combine(_folder.FullName, "cohort");
        await new CohortGenerator(new CohortOptions { Patients = 10000, Seed = 42, Years = 13 }).WriteAsync(data, SyntheticFormat.Ndjson, null, "test", default);
        var mapper = new FhirRecordMapper(Repo.Terminology, new UnitNormalizer());
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(data), mapper, new IngestionReport(), default))
        {
            Records.Add(record);
        }

        Directory.Delete(data, recursive: true);
    }

    public virtual ValueTask DisposeAsync()
    {
        _folder.Delete(recursive: true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

public sealed class TrainingTests(GeneratedCohort cohort) : IClassFixture<GeneratedCohort>, IDisposable
{
    private readonly DirectoryInfo _registry = Directory.CreateTempSubdirectory("healthrec-registry-");

    public void Dispose() => _registry.Delete(recursive: true);

    private static OutcomeDefinition Outcome(string id) => OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == id);

    private (TrainedOutcome Trained, List<OutcomeExample> Examples) Train(string id, int seed = 1)
    {
        var featurizer = Repo.Featurizer();
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, Outcome(id), featurizer);
        return (new OutcomeTrainer(featurizer, seed).Train(Outcome(id), examples, counts, OutcomeExamples.AtRisk(cohort.Records, Outcome(id), featurizer)), examples);
    }

    [Theory]
    [InlineData("ascvd-10y")]
    [InlineData("ckd-5y")]
    public void GivenTheGeneratedCohort_WhenTrainedWithCensoringWeights_ThenItsEstimatesAgreeWithKaplanMeierOverallAndByTenth(string id)
    {
        var (trained, _) = Train(id);

        var m = trained.Metrics;
        Assert.True(m.N >= 300, $"only {m.N} test examples");
        // Good, not perfect: the generator's ceiling is well below 1. (Whether it beats the Pooled Cohort Equations is the
        // promotion gate's question, not a given.) The cohort has 10,000 patients: on 6,000, the ten-year outcome's test set
        // held about 50 events and the figure wandered below 0.6; on 10,000 it holds about 85 and its 95 % interval spans
        // ±0.06 (0.65 with the readmissions the generator now draws), so the floor sits below that spread.
        Assert.True(m.RocAuc!.Value is >= 0.62 and <= 0.9, $"ROC-AUC {m.RocAuc} ({m.RocAucCi}), logistic {m.Baselines["logistic_regression"].RocAuc}, n {m.N}, prevalence {m.Prevalence}");
        if (id == "ascvd-10y")
        {
            Assert.InRange(m.Baselines["pooled_cohort_equations"].RocAuc!.Value, 0.65, 0.9);
        }

        // Calibration against Kaplan–Meier on every at-risk test landmark, censored ones included: trained with censoring
        // weights, the mean estimate is the population's risk — within 10 % (relative), or within two standard errors of
        // the Kaplan–Meier estimate where the test set is too small for 10 % (the ten-year outcome: about 2,900 at-risk
        // landmarks at 6 % give a standard error of 7 %). Complete-case training put it at four times the incidence.
        var large = m.InTheLarge!;
        Assert.True(large.AtRisk > m.N, $"{large.AtRisk} at-risk landmarks, {m.N} complete cases");
        var p = large.KaplanMeierIncidence;
        var tolerance = Math.Max(0.10, 2 * Math.Sqrt(p * (1 - p) / large.AtRisk) / p);
        Assert.True(Math.Abs((large.MeanEstimate / p) - 1) <= tolerance,
            $"mean estimate {large.MeanEstimate:P2}, Kaplan–Meier {p:P2} (tolerance {tolerance:P0}), weighted test event rate {m.Prevalence:P2}, n {m.N}, at risk {large.AtRisk}; " +
            string.Join(", ", large.Tenths!.Select(t => $"{t.MeanPredicted:P1}/{t.Observed:P1}")));
        Assert.Equal(10, large.Tenths!.Count);
        Assert.True(large.Tenths[^1].Observed > 3 * large.Tenths[0].Observed, "the top tenth of predicted risk must have a higher observed risk");
        Assert.InRange(m.RocAuc.Value, m.RocAucCi!.Value.Low, m.RocAucCi.Value.High);
    }

    [Fact]
    public void GivenTheReadmesSynthCommand_WhenEachDefaultOutcomeIsLabelled_ThenEveryBinaryOneHasBothClassesAndTheTrajectoryHasValues()
    {
        // This fixture is `healthrec synth --patients 10000 --seed 42` (13 years), the command the README gives for
        // training every default outcome (the 300-patient demo sample spans ten years: too short for ascvd-10y).
        var featurizer = Repo.Featurizer();
        foreach (var definition in OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology))
        {
            var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
            if (definition.Kind == OutcomeKind.Binary)
            {
                Assert.True(counts.Positives >= 100 && examples.Count(e => !e.Label) >= 1000, $"{definition.Id}: {counts.Positives} positives among {examples.Count}");
            }
            else
            {
                Assert.True(examples.Count >= 1000, $"{definition.Id}: {examples.Count} values");
            }
        }
    }

    [Fact]
    public void GivenDeathAsASitesOutcome_WhenTrainedOnTheGeneratedCohort_ThenAModelIsTrainedWithDeathsAsItsEvents()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeTests.Death();
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);

        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts, OutcomeExamples.AtRisk(cohort.Records, definition, featurizer));

        // Every positive is a death within five years of its index date, and deaths are not counted as competing.
        var byId = cohort.Records.ToDictionary(r => r.PatientId, StringComparer.Ordinal);
        Assert.All(examples.Where(e => e.Label), e => Assert.True(byId[e.PatientId].DeceasedAt is { } died && died > e.IndexAt && died <= e.IndexAt.AddDays(1826)));
        Assert.True(counts.Positives > 100, $"{counts.Positives} deaths");
        // Age and illness predict death well; the record does not make it certain.
        Assert.InRange(trained.Metrics.RocAuc!.Value, 0.75, 0.97);
        Assert.True(trained.Metrics.InTheLarge is { } large && Math.Abs((large.MeanEstimate / large.KaplanMeierIncidence) - 1) < 0.2,
            $"mean estimate {trained.Metrics.InTheLarge?.MeanEstimate:P2}, Kaplan–Meier {trained.Metrics.InTheLarge?.KaplanMeierIncidence:P2}");
    }

    [Theory]
    [InlineData("ascvd-10y")]
    [InlineData("t2d-5y")]
    [InlineData("ckd-5y")]
    public void GivenCensoredPatients_WhenExamplesAreWeighted_ThenTheWeightedEventRateIsTheKaplanMeierIncidence(string id)
    {
        // Satten and Datta (Am Stat 2001): weighting the uncensored by 1 / G from the Kaplan–Meier of censoring
        // reproduces the Kaplan–Meier (here Aalen–Johansen, death competing) estimate itself. The complete cases alone
        // overstate the risk.
        var featurizer = Repo.Featurizer();
        var definition = Outcome(id);
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        // The index dates with the whole follow-up inside the data (the later ones cannot be negatives and are left out).
        var end = OutcomeLabeler.EndOf(cohort.Records)!.Value;
        var all = OutcomeExamples.AtRisk(cohort.Records, definition, featurizer);
        var atRisk = all.Where(e => e.IndexAt.AddDays(definition.HorizonDays) <= end).ToList();

        var km = KaplanMeier.CumulativeIncidence(atRisk.Select(e => e.Outcome), definition.HorizonDays);
        var weighted = BinaryMetrics.EventRate([.. examples.Select(e => e.Label)], [.. examples.Select(e => e.Weight)]);
        var completeCase = examples.Count(e => e.Label) / (double)examples.Count;

        Assert.True(counts.Censored > 50, $"{counts.Censored} censored: nothing to weight");
        Assert.Equal(all.Count - atRisk.Count, counts.TooRecent);
        Assert.True(id != "ascvd-10y" || counts.TooRecent > 0, "no index date near the end of the data: the exclusion is not exercised");
        Assert.Equal(km, weighted, 3);
        Assert.True(completeCase > km, $"complete-case {completeCase:P1}, Kaplan–Meier {km:P1}");
        Assert.All(examples, e => Assert.True(e.Weight >= 1, $"weight {e.Weight}"));
        Assert.InRange(counts.FollowedShare!.Value, 0.05, 1);
    }

    [Fact]
    public void GivenACohortShorterThanTheHorizon_WhenTrained_ThenTheMessageSaysTheCohortIsTooShort()
    {
        // Thirteen years of records cannot show anyone event-free for fourteen years after an index date.
        var featurizer = Repo.Featurizer();
        var definition = Outcome("ascvd-10y") with { HorizonDays = 14 * 365 };
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);

        var ex = Assert.Throws<TrainingException>(() => new OutcomeTrainer(featurizer).Train(definition, examples, counts));

        Assert.Equal(0, counts.Negatives);
        Assert.True(counts.TooRecent > 1000, $"{counts.TooRecent} index dates too close to the end of the data");
        Assert.Contains("too short", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5110 days", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheSplit_WhenExamplesAreAssigned_ThenNoPatientIsInTwoSets()
    {
        var (examples, _) = OutcomeExamples.Build(cohort.Records, Outcome("t2d-5y"), Repo.Featurizer());

        var parts = examples.GroupBy(e => e.PatientId, StringComparer.Ordinal).Select(g => g.Select(e => PatientSplit.Of(e.PatientId, 1)).Distinct().Count());
        Assert.All(parts, n => Assert.Equal(1, n));
        Assert.True(examples.GroupBy(e => e.PatientId, StringComparer.Ordinal).Any(g => g.Count() > 1), "no patient has several landmarks: the check would be empty");
        var shares = examples.GroupBy(e => PatientSplit.Of(e.PatientId, 1)).ToDictionary(g => g.Key, g => g.Count() / (double)examples.Count);
        Assert.InRange(shares[PatientSplit.Part.Train], 0.55, 0.65);
    }

    [Fact]
    public void GivenAFeatureThatCopiesTheLabel_WhenTrained_ThenTrainingRefusesAndNamesIt()
    {
        var featurizer = Repo.Featurizer();
        var definition = Outcome("t2d-5y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var leaky = featurizer.Names.IndexOf("phq9_last");
        foreach (var example in examples)
        {
            example.Features[leaky] = example.Label ? 1 : 0;
        }

        var ex = Assert.Throws<TrainingException>(() => new OutcomeTrainer(featurizer).Train(definition, examples, counts));

        Assert.Contains("'phq9_last'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheTrainingReference_WhenTheTestPatientsAreComparedAndThenOneFeatureIsShiftedOnPurpose_ThenOnlyThatFeatureIsFlagged()
    {
        var featurizer = Repo.Featurizer();
        var (examples, _) = OutcomeExamples.Build(cohort.Records, Outcome("t2d-5y"), featurizer);
        var (trained, _) = Train("t2d-5y");
        var folder = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
        var reference = FeatureReference.Load(folder)!;
        Assert.Equal(featurizer.Names, reference.Features.Select(f => f.Feature));
        Assert.All(reference.Features, f => Assert.Equal(1.0, f.Shares.Sum() + f.Missing, 6));
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).Select(e => e.Features).ToList();

        // Other patients of the same population: nothing moved.
        var same = FeatureDrift.Compute(reference, test);
        Assert.All(same, s => Assert.True(s.Band == FeatureDrift.Stable, $"{s.Feature} PSI {s.Psi} on held-out patients of the training population"));

        // Systolic pressure read 15 mmHg higher everywhere (a miscalibrated cuff): that feature, and only it, is shifted.
        var sbp = featurizer.Names.ToList().IndexOf("sbp_last");
        var shiftedRows = test.Select(row => { var copy = (float[])row.Clone(); copy[sbp] += 15; return copy; }).ToList();
        var shifted = FeatureDrift.Compute(reference, shiftedRows);
        Assert.Equal("sbp_last", shifted[0].Feature);
        Assert.Equal(FeatureDrift.Shifted, shifted[0].Band);
        Assert.All(shifted.Skip(1), s => Assert.Equal(FeatureDrift.Stable, s.Band));
        Assert.Equal(FeatureDrift.Shifted, FeatureDrift.Worst(shifted));
        Assert.Equal(FeatureDrift.Stable, FeatureDrift.Worst(same));
    }

    [Fact]
    public void GivenPsiValuesAtTheBandEdges_ThenTheUsualBandsApply()
    {
        Assert.Equal([FeatureDrift.Stable, FeatureDrift.Watch, FeatureDrift.Watch, FeatureDrift.Shifted],
            new[] { 0.099, 0.1, 0.25, 0.251 }.Select(FeatureDrift.Band));
    }

    [Fact]
    public void GivenAModelAndOneTrainedOnShuffledLabels_WhenTheGateJudgesEachAgainstTheOther_ThenTheRealOneIsPromotedAndTheShuffledOneRejected()
    {
        var featurizer = Repo.Featurizer();
        var definition = Outcome("t2d-5y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var (good, _) = Train("t2d-5y");
        var random = new Random(7);
        var labels = examples.Select(e => e.Label).OrderBy(_ => random.Next()).ToArray();
        var shuffled = new OutcomeTrainer(featurizer).Train(definition, [.. examples.Select((e, i) => e with { Label = labels[i] })], counts);
        using var real = OutcomeModel.Load(ModelRegistry.Save(_registry.FullName, good, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch, makeCurrent: false));
        using var noise = OutcomeModel.Load(ModelRegistry.Save(_registry.FullName, shuffled, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch, makeCurrent: false));
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).ToList();

        var promoted = PromotionGate.Decide(real, noise, test, new GateThresholds(), DateTimeOffset.UnixEpoch);
        var rejected = PromotionGate.Decide(noise, real, test, new GateThresholds(), DateTimeOffset.UnixEpoch);

        Assert.True(promoted.Promote, promoted.Summary + ": " + string.Join("; ", promoted.Checks.Select(c => $"{c.Name} {c.Detail}")));
        Assert.False(rejected.Promote);
        Assert.False(rejected.Checks.Single(c => c.Name == "discrimination").Passed);
        Assert.Equal(test.Count, rejected.TestExamples);
        Assert.Contains("rejected (discrimination", rejected.Summary, StringComparison.Ordinal);
        // Nothing was made current: a challenger waits for the gate.
        Assert.False(File.Exists(Path.Combine(_registry.FullName, "t2d-5y", ModelRegistry.CurrentFile)));
    }

    [Fact]
    public void GivenTheSameSeed_WhenTrainedTwice_ThenPredictionsAreIdentical_AndASavedBundleLoadsWithTheSamePredictions()
    {
        var (first, examples) = Train("t2d-5y");
        var (second, _) = Train("t2d-5y");
        var featurizer = Repo.Featurizer();
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).Take(500).ToList();
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(test.Select(e => new ModelRow { Features = e.Features }), ModelRow.Schema(featurizer.Width));
        var firstScores = OutcomeTrainer.Scores(ml, first.Model, data).Select(first.Calibrator!.Probability).ToArray();
        var secondScores = OutcomeTrainer.Scores(ml, second.Model, data).Select(second.Calibrator!.Probability).ToArray();
        Assert.Equal(first.Parameters, second.Parameters);
        Assert.Equal(firstScores, secondScores);
        // Thirteen years of records: the out-of-time check runs, on later index dates only.
        var later = Assert.IsType<OutcomeMetrics>(first.Metrics.OutOfTime);
        Assert.True(later.N >= 50 && later.From > examples.Min(e => e.IndexAt), $"{later.N} examples from {later.From}");
        Assert.Equal(examples.Count(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test && e.IndexAt >= later.From), later.N);
        Assert.InRange(later.RocAuc!.Value, 0.6, 0.97);

        var folder = ModelRegistry.Save(_registry.FullName, first, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
        using var loaded = OutcomeModel.Load(folder);

        var batch = loaded.Predict([.. test.Select(e => e.Features)]);
        for (var i = 0; i < test.Count; i++)
        {
            Assert.Equal(firstScores[i], loaded.Predict(test[i].Features), 1e-6);
            Assert.Equal(firstScores[i], batch[i], 1e-6);
        }

        Assert.Equal(first.Threshold, loaded.Manifest.Threshold);
        Assert.Equal("t2d-5y", loaded.Definition.Id);
    }

    [Fact]
    public void GivenAnAscvdModel_WhenTheGateJudgesItAgainstPrevent_ThenTheDecisionCarriesEveryNumber_AndOnlyAPromotionOverTheEquationMakesTheModelAnswer()
    {
        var featurizer = Repo.Featurizer();
        var definition = Outcome("ascvd-10y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts, OutcomeExamples.AtRisk(cohort.Records, definition, featurizer));
        var folder = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).ToList();
        var prevent = Clinical.Risk.ReferenceModels.All["prevent-ascvd"];
        // A year after their first visit many generated patients have no lipid panel yet: PREVENT gives those no number.
        Assert.True(test.Count(e => double.IsFinite(e.ReferenceRisk)) >= 100, $"PREVENT gives a number for {test.Count(e => double.IsFinite(e.ReferenceRisk))} test examples");

        using (var model = OutcomeModel.Load(folder))
        {
            var decision = PromotionGate.Decide(model, null, test, new GateThresholds(), DateTimeOffset.UnixEpoch, prevent, definition.DecisionThreshold);
            PromotionGate.Record(folder, decision);

            Assert.Equal("prevent-ascvd", decision.Reference);
            Assert.Equal("reference prevent-ascvd", decision.Champion);
            Assert.Contains(decision.Checks, c => c.Name == "discrimination against PREVENT (AHA 2024), 10-year ASCVD" && c.Detail.Contains("the equation's 0.", StringComparison.Ordinal));
            Assert.Contains(decision.Checks, c => c.Name == "net benefit" && c.Detail.StartsWith("at a risk threshold of 7.5 %", StringComparison.Ordinal));
            Assert.Contains(decision.Checks, c => c.Name == "calibration in the large");
            Assert.Equal(decision.Checks.Where(c => c.Name is not ("calibration" or "subgroups")).All(c => c.Passed), decision.OverReference);
            using var served = OutcomePredictor.LoadCurrent(_registry.FullName, "ascvd-10y", featurizer, Repo.Terminology);
            Assert.Equal(!(decision.Promote && decision.OverReference), served.ReferenceAnswers);
        }

        // A decision promoting the model over the equation (as a better model would earn) makes the model answer.
        var promoted = PromotionGate.Load(folder)! with { Promote = true, OverReference = true };
        File.WriteAllText(Path.Combine(folder, PromotionGate.FileName), System.Text.Json.JsonSerializer.Serialize(promoted, ModelRegistry.Json));
        using var answering = OutcomePredictor.LoadCurrent(_registry.FullName, "ascvd-10y", featurizer, Repo.Terminology);
        Assert.False(answering.ReferenceAnswers);
        var (record, at) = cohort.Records.Select(r => (r, r.LastActivity!.Value)).First(x => answering.Predict(x.r, x.Value) is { Reference.Estimate: not null });
        var prediction = answering.Predict(record, at)!;
        Assert.False(prediction.ByReference);
        Assert.Equal(prevent.Evaluate(record, at).Estimate, prediction.Reference!.Estimate);
    }

    [Fact]
    public void GivenTwoSaves_WhenRegistered_ThenVersionsAreNeverOverwrittenAndCurrentNamesTheLatest()
    {
        var (trained, _) = Train("hba1c-1y");
        var featurizer = Repo.Featurizer();

        var v1 = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
        var v1Card = File.ReadAllText(Path.Combine(v1, "model-card.md"));
        var v2 = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch.AddDays(1));

        Assert.EndsWith("v1", v1, StringComparison.Ordinal);
        Assert.EndsWith("v2", v2, StringComparison.Ordinal);
        Assert.Equal(v2, ModelRegistry.CurrentFolder(_registry.FullName, "hba1c-1y"));
        Assert.Equal(v1Card, File.ReadAllText(Path.Combine(v1, "model-card.md")));
        Assert.Contains("Trained on synthetic data", v1Card, StringComparison.Ordinal);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(v2, "metrics.json")))!["outcomes"]!["hba1c-1y"]!;
        Assert.Equal("lightgbm", (string)metrics["algorithm"]!);
        Assert.True((double)metrics["mae"]! > 0);
        Assert.NotNull(metrics["baselines"]!["linear_regression"]!["r2"]);
    }

    [Fact]
    public void GivenAnEmptyCohortOrOneWithoutPositives_WhenTrained_ThenTheErrorSaysWhatIsMissing()
    {
        var featurizer = Repo.Featurizer();
        var definition = Outcome("t2d-5y");

        var empty = Assert.Throws<TrainingException>(() => new OutcomeTrainer(featurizer).Train(definition, [], new ExampleCounts(0, 0, 0, 0, 0, 0)));
        Assert.Contains("no usable examples", empty.Message, StringComparison.Ordinal);

        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var negatives = examples.Where(e => !e.Label).ToList();
        var none = Assert.Throws<TrainingException>(() => new OutcomeTrainer(featurizer).Train(definition, negatives, counts));
        Assert.Contains("0 examples with the event", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheHandExample_WhenWrittenToMetricsJson_ThenEveryMetricMatchesAnIndependentCalculation()
    {
        double[] p = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
        bool[] y = [true, true, false, true, false, false, true, false];
        var test = y.Select((label, i) => new OutcomeExample($"p{i}", DateTimeOffset.UnixEpoch, [], label, 0, i % 2 == 0 ? Sex.Female : Sex.Male, 50, double.NaN)).ToList();

        var json = MetricsJson.Of(OutcomeMetrics.Binary("lightgbm", test, p, threshold: 0.6));

        Assert.Equal(8, (int)json["n"]!);
        Assert.Equal(0.5, (double)json["prevalence"]!, 6);
        Assert.Equal(12.0 / 16, (double)json["roc_auc"]!, 6);
        Assert.Equal((1 + 1 + 0.75 + (4.0 / 7)) / 4, (double)json["pr_auc"]!, 6);
        Assert.Equal(p.Zip(y, (a, b) => Math.Pow(a - (b ? 1 : 0), 2)).Average(), (double)json["brier"]!, 6);
        Assert.Equal(0.75, (double)json["accuracy"]!, 6);
        Assert.Equal(0.75, (double)json["precision"]!, 6);
        Assert.Equal(0.75, (double)json["recall"]!, 6);
        Assert.Equal(0.75, (double)json["f1"]!, 6);
        Assert.Equal(0.6, (double)json["threshold"]!, 6);
        // The calibration fit is the maximum of the likelihood: any step away lowers it.
        var slope = (double)json["calibration_slope"]!;
        var intercept = (double)json["calibration_intercept"]!;
        var (a, b) = LogisticMaximum(p, y);
        Assert.Equal(b, slope, 3);
        Assert.True(LogLikelihood(p, y, 0, 1, intercept) >= LogLikelihood(p, y, 0, 1, intercept + 0.01));
        Assert.True(LogLikelihood(p, y, 0, 1, intercept) >= LogLikelihood(p, y, 0, 1, intercept - 0.01));
        _ = a;
        Assert.Equal(4, (int)json["subgroups"]!["sex=female"]!["n"]!);
    }

    // A coarse-to-fine grid search of logit P(y) = a + b·logit(p): an independent route to the calibration slope.
    private static (double A, double B) LogisticMaximum(double[] p, bool[] y)
    {
        var (bestA, bestB, step) = (0.0, 1.0, 1.0);
        for (var round = 0; round < 30; round++)
        {
            var best = LogLikelihood(p, y, bestA, bestB, 0);
            var (na, nb) = (bestA, bestB);
            for (var da = -5; da <= 5; da++)
            {
                for (var db = -5; db <= 5; db++)
                {
                    var value = LogLikelihood(p, y, bestA + (da * step), bestB + (db * step), 0);
                    if (value > best)
                    {
                        (best, na, nb) = (value, bestA + (da * step), bestB + (db * step));
                    }
                }
            }

            (bestA, bestB) = (na, nb);
            step /= 2;
        }

        return (bestA, bestB);
    }

    private static double LogLikelihood(double[] p, bool[] y, double a, double b, double offset)
    {
        double sum = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var x = Math.Log(p[i] / (1 - p[i]));
            var mu = 1 / (1 + Math.Exp(-(a + offset + (b * x))));
            sum += y[i] ? Math.Log(mu) : Math.Log(1 - mu);
        }

        return sum;
    }

    private static TrainingProvenance Provenance() => new("test cohort", "00", true, "test", 1, "healthrec-features", "1.0.0");
}

public sealed class EvaluationTests(GeneratedCohort cohort) : IClassFixture<GeneratedCohort>, IDisposable
{
    private readonly DirectoryInfo _registry = Directory.CreateTempSubdirectory("healthrec-evaluate-");

    public void Dispose() => _registry.Delete(recursive: true);

    [Fact]
    public void GivenARegisteredModel_WhenEvaluatedOnHeldOutPatients_ThenMetricsAndASelfContainedReportWithItsPlotsAreProduced()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "ascvd-10y");
        var training = cohort.Records.Take(4500).ToList();
        var heldOut = cohort.Records.Skip(4500).ToList();
        var (examples, counts) = OutcomeExamples.Build(training, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts);
        var folder = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names,
            new TrainingProvenance("cohort", "00", true, "test", 1, "healthrec-features", "1.0.0"), DateTimeOffset.UnixEpoch);
        using var model = OutcomeModel.Load(folder);

        var evaluation = OutcomeEvaluator.Evaluate(model, heldOut, featurizer);
        var html = HtmlReport.Render([evaluation], "held-out patients", DateTimeOffset.UnixEpoch);

        var m = evaluation.Metrics;
        Assert.Equal(OutcomeExamples.Build(heldOut, definition, featurizer).Examples.Count, m.N);
        // Realistic: published ASCVD equations reach C 0.72–0.79, and this held-out set is small.
        Assert.InRange(m.RocAuc!.Value, 0.62, 0.95);
        Assert.Equal(["decision_tree", "logistic_regression", "pooled_cohort_equations", "prevent-ascvd", "random_forest"], m.Baselines.Keys.Order(StringComparer.Ordinal));
        // PREVENT beside the models, on the held-out examples it gives a figure for (fewer than all: some lack a lipid panel).
        var prevent = m.Baselines["prevent-ascvd"];
        Assert.InRange(prevent.N, 50, m.N - 1);
        Assert.InRange(prevent.RocAuc!.Value, 0.6, 0.9);
        Assert.Equal(model.Manifest.Threshold, m.Confusion!.Threshold);
        Assert.Contains("ROC curve", html, StringComparison.Ordinal);
        Assert.Contains("Precision–recall", html, StringComparison.Ordinal);
        Assert.Contains("Calibration", html, StringComparison.Ordinal);
        Assert.Contains("Pooled Cohort Equations", html, StringComparison.Ordinal);
        Assert.Contains("PREVENT (its patients only)", html, StringComparison.Ordinal);
        Assert.Contains("synthetic", html, StringComparison.Ordinal);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $">{m.Confusion.TruePositives:N0}<"), html, StringComparison.Ordinal);
        // Self-contained: six curves on the ROC plot and six on the PR plot, one calibration line, nothing fetched.
        Assert.Equal(13, System.Text.RegularExpressions.Regex.Count(html, "<polyline"));
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("(src|href)=\"https?:", html);
    }

    [Fact]
    public void GivenDataFeaturizedWithAnotherSchema_WhenEvaluated_ThenTheMismatchIsNamed()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "hba1c-1y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts);
        var names = featurizer.Names.Take(featurizer.Width - 1).ToList();
        var folder = ModelRegistry.Save(_registry.FullName, trained, names,
            new TrainingProvenance("cohort", "00", true, "test", 1, "other-features", "0.1.0"), DateTimeOffset.UnixEpoch);
        using var model = OutcomeModel.Load(folder);

        var ex = Assert.Throws<TrainingException>(() => OutcomeEvaluator.Evaluate(model, cohort.Records, featurizer));

        Assert.Contains("other-features 0.1.0", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class PredictionTests(GeneratedCohort cohort) : IClassFixture<GeneratedCohort>, IDisposable
{
    private readonly DirectoryInfo _registry = Directory.CreateTempSubdirectory("healthrec-predict-");

    public void Dispose() => _registry.Delete(recursive: true);

    [Fact]
    public void GivenARegisteredModel_WhenAPatientIsScored_ThenTheEstimateIsTheModelsAndTheFactorsAreInClinicalWords()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "t2d-5y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts);
        var folder = ModelRegistry.Save(_registry.FullName, trained, featurizer.Names,
            new TrainingProvenance("cohort", "00", true, "test", 1, "healthrec-features", "1.0.0"), DateTimeOffset.UnixEpoch);
        using var model = OutcomeModel.Load(folder);
        using var predictor = new Serving.OutcomePredictor(model, featurizer, Repo.Terminology);

        var scored = 0;
        foreach (var record in cohort.Records.Take(300))
        {
            if (record.LastActivity is not { } at)
            {
                continue;
            }

            var prediction = predictor.Predict(record, at);
            var outside = new OutcomeLabeler(definition).Label(record, at).Status == LabelStatus.NotAtRisk;
            if (outside)
            {
                // Outside the population at risk: no estimate rather than a meaningless one.
                Assert.Null(prediction);
                continue;
            }

            Assert.NotNull(prediction);
            scored++;
            Assert.Equal(model.Predict(featurizer.Featurize(record, at)), prediction.Estimate, 1e-6);
            Assert.Equal(prediction.Estimate >= model.Manifest.Threshold ? "high" : prediction.Estimate >= model.Manifest.Threshold / 2 ? "intermediate" : "low", prediction.Band);
            Assert.InRange(prediction.Factors.Count, 1, 5);
            Assert.All(prediction.Factors, f => Assert.DoesNotContain("_", f.Text, StringComparison.Ordinal));
            Assert.Equal(prediction.Factors.Count, prediction.Factors.Select(f => f.Text).Distinct(StringComparer.Ordinal).Count());
            Assert.Contains("ROC-AUC", prediction.Validation, StringComparison.Ordinal);
            Assert.Contains("synthetic", prediction.Validation, StringComparison.Ordinal);
        }

        Assert.True(scored > 100, $"only {scored} patients scored");

        // A coded value (smoking status) in its code system's words, never its ordinal; its absence by its title.
        var wording = new Serving.FeatureWording(featurizer.Schema, Repo.Terminology);
        var names = featurizer.Names.ToList();
        var smoking = names.IndexOf("smoking_status");
        var values = new float[names.Count];
        Assert.Equal(["Never smoked tobacco", "Ex-smoker", "Smokes tobacco daily"],
            new[] { 0f, 1f, 2f }.Select(v => { values[smoking] = v; return wording.Describe(smoking, values); }));
        values[names.IndexOf("smoking_status_missing")] = 1;
        Assert.Equal("no Tobacco smoking status in the last 5 years", wording.Describe(names.IndexOf("smoking_status_missing"), values));

        // A value beyond the highest the model saw in training is read as that bound, and the estimate says so.
        var bmiMax = Evaluation.FeatureReference.Load(folder)!.Features.Single(f => f.Feature == "bmi_last").Max!.Value;
        var (someone, when) = cohort.Records.Take(300).Where(r => r.LastActivity is not null).Select(r => (r, r.LastActivity!.Value))
            .First(x => predictor.Predict(x.r, x.Value) is not null);
        var heavy = predictor.Predict(someone.WithMeasurement("bmi", new Measurement(when, bmiMax + 25, false)), when)!;
        Assert.Contains(heavy.Lacks, l => l.StartsWith(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Body mass index {bmiMax + 25:0.#}"), StringComparison.Ordinal)
            && l.EndsWith(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the model was trained on; it reads it as {bmiMax:0.##}"), StringComparison.Ordinal));
        Assert.DoesNotContain(predictor.Predict(someone, when)!.Lacks, l => l.Contains("the model was trained on", StringComparison.Ordinal) && l.StartsWith("Body mass index", StringComparison.Ordinal));

        var batch = cohort.Records.Take(300).Where(r => r.LastActivity is not null).Select(r => (r, r.LastActivity!.Value)).ToList();
        var many = predictor.Predict(batch);
        Assert.Equal(batch.Select(p => predictor.Predict(p.r, p.Value)?.Estimate), many.Select(p => p?.Estimate));
    }

    [Fact]
    public void GivenAnalyteValues_WhenWorded_ThenTheUnitAndTheReferenceIntervalSpeak()
    {
        var featurizer = Repo.Featurizer();
        var wording = new Serving.FeatureWording(featurizer.Schema, Repo.Terminology);
        var values = new float[featurizer.Width];
        Array.Fill(values, float.NaN);
        var hba1c = featurizer.Names.IndexOf("hba1c_last");
        var egfr = featurizer.Names.IndexOf("egfr_last");
        var missing = featurizer.Names.IndexOf("hba1c_last_missing");
        values[hba1c] = 6.2f;
        values[egfr] = 48;
        values[missing] = 1;

        Assert.Equal("HbA1c 6.2 % (raised)", wording.Describe(hba1c, values));
        Assert.Equal("eGFR 48 mL/min/1.73 m² (low)", wording.Describe(egfr, values));
        Assert.StartsWith("no HbA1c in the last ", wording.Describe(missing, values), StringComparison.Ordinal);
        values[hba1c] = 5.1f;
        Assert.Equal("HbA1c 5.1 %", wording.Describe(hba1c, values));
    }

    [Fact]
    public void GivenTheAscvdBands_WhenAProbabilityIsBanded_ThenTheAccAhaCutPointsApply()
    {
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "ascvd-10y");

        Assert.Equal("low", definition.BandOf(0.049, 0.15));
        Assert.Equal("borderline", definition.BandOf(0.05, 0.15));
        Assert.Equal("intermediate", definition.BandOf(0.19, 0.15));
        Assert.Equal("high", definition.BandOf(0.20, 0.15));
    }
}

public sealed class PhenotypeTests(GeneratedCohort cohort) : IClassFixture<GeneratedCohort>, IDisposable
{
    private readonly DirectoryInfo _registry = Directory.CreateTempSubdirectory("healthrec-phenotypes-");

    public void Dispose() => _registry.Delete(recursive: true);

    [Fact]
    public void GivenTheCohort_WhenPhenotypesAreTrained_ThenKIsTheStatedCriterionsChoice_ProfilesCoverEveryoneAndTheSavedModelAgrees()
    {
        var featurizer = Repo.Featurizer();
        var provenance = new TrainingProvenance("cohort", "00", true, "test", 1, "healthrec-features", "1.0.0");

        var manifest = Phenotypes.PhenotypeTrainer.Train(cohort.Records, featurizer, Repo.Terminology, _registry.FullName, provenance, 1, DateTimeOffset.UnixEpoch);
        var again = Phenotypes.PhenotypeTrainer.Train(cohort.Records, featurizer, Repo.Terminology, _registry.FullName, provenance, 1, DateTimeOffset.UnixEpoch);

        Assert.Equal(Enumerable.Range(3, 6), manifest.Candidates.Select(c => c.K));
        Assert.Equal(manifest.Candidates.MinBy(c => c.DaviesBouldin)!.K, manifest.K);
        var withData = cohort.Records.Where(r => r.LastActivity is not null).ToList();
        Assert.Equal(withData.Count, manifest.Profiles.Sum(p => p.Patients));
        Assert.All(manifest.Profiles, p => Assert.Equal(5, p.Traits.Length));
        Assert.All(manifest.Profiles.SelectMany(p => p.Traits), t => Assert.Contains("overall", t.Text, StringComparison.Ordinal));
        Assert.Equal(manifest.Profiles.Select(p => p.Patients), again.Profiles.Select(p => p.Patients));
        Assert.Equal("v2", again.Version);
        var readable = File.ReadAllText(Path.Combine(_registry.FullName, "phenotypes", "v1", "profiles.md"));
        Assert.Contains(manifest.Profiles[0].Traits[0].Text, readable, StringComparison.Ordinal);
        Assert.Contains("Trained on synthetic patients.", readable, StringComparison.Ordinal);

        var model = Phenotypes.PhenotypeModel.Load(Path.Combine(_registry.FullName, "phenotypes", "v1"));
        var clusters = model.Assign([.. withData.Select(r => featurizer.Featurize(r, r.LastActivity!.Value))]);
        Assert.Equal(manifest.Profiles.Select(p => p.Patients), manifest.Profiles.Select(p => clusters.Count(c => c == p.Id)));
    }
}

namespace HealthRec.ML.Tests;

/// <summary>The promotion gate and the registry: a real model against a shuffled one, reproducible bundles, a model judged against PREVENT, versions never overwritten.</summary>
public sealed partial class TrainingTests
{
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
        using var real = OutcomeModel.Load(ModelRegistry.Save(Folder.FullName, good, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch, makeCurrent: false));
        using var noise = OutcomeModel.Load(ModelRegistry.Save(Folder.FullName, shuffled, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch, makeCurrent: false));
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).ToList();

        var promoted = PromotionGate.Decide(real, noise, test, new GateThresholds(), DateTimeOffset.UnixEpoch);
        var rejected = PromotionGate.Decide(noise, real, test, new GateThresholds(), DateTimeOffset.UnixEpoch);

        Assert.True(promoted.Promote, promoted.Summary + ": " + string.Join("; ", promoted.Checks.Select(c => $"{c.Name} {c.Detail}")));
        Assert.False(rejected.Promote);
        Assert.False(rejected.Checks.Single(c => c.Name == "discrimination").Passed);
        Assert.Equal(test.Count, rejected.TestExamples);
        Assert.Contains("rejected (discrimination", rejected.Summary, StringComparison.Ordinal);
        // Nothing was made current: a challenger waits for the gate.
        Assert.False(File.Exists(Path.Combine(Folder.FullName, "t2d-5y", ModelRegistry.CurrentFile)));
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

        var folder = ModelRegistry.Save(Folder.FullName, first, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
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
        var folder = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
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
            using var served = OutcomePredictor.LoadCurrent(Folder.FullName, "ascvd-10y", featurizer, Repo.Terminology);
            Assert.Equal(!(decision.Promote && decision.OverReference), served.ReferenceAnswers);
        }

        // A decision promoting the model over the equation (as a better model would earn) makes the model answer.
        var promoted = PromotionGate.Load(folder)! with { Promote = true, OverReference = true };
        File.WriteAllText(Path.Combine(folder, PromotionGate.FileName), System.Text.Json.JsonSerializer.Serialize(promoted, ModelRegistry.Json));
        using var answering = OutcomePredictor.LoadCurrent(Folder.FullName, "ascvd-10y", featurizer, Repo.Terminology);
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

        var v1 = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
        var v1Card = File.ReadAllText(Path.Combine(v1, "model-card.md"));
        var v2 = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch.AddDays(1));

        Assert.EndsWith("v1", v1, StringComparison.Ordinal);
        Assert.EndsWith("v2", v2, StringComparison.Ordinal);
        Assert.Equal(v2, ModelRegistry.CurrentFolder(Folder.FullName, "hba1c-1y"));
        Assert.Equal(v1Card, File.ReadAllText(Path.Combine(v1, "model-card.md")));
        Assert.Contains("Trained on synthetic data", v1Card, StringComparison.Ordinal);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(v2, "metrics.json")))!["outcomes"]!["hba1c-1y"]!;
        Assert.Equal("lightgbm", (string)metrics["algorithm"]!);
        Assert.True((double)metrics["mae"]! > 0);
        Assert.NotNull(metrics["baselines"]!["linear_regression"]!["r2"]);
    }

    [Fact]
    public void GivenAGeneratedCohortWithAnInjectedGapForWomen_WhenTheGateIsToldToRefuseFairnessFlags_ThenTheChallengerIsRejectedForIt()
    {
        var featurizer = Repo.Featurizer();
        var (good, examples) = Train("t2d-5y");
        using var model = OutcomeModel.Load(ModelRegistry.Save(Folder.FullName, good, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch, makeCurrent: false));
        // The gap: among women of the held-out patients, outcomes no longer follow their records (shuffled between them),
        // so the model finds far fewer of their events than of men's.
        var test = examples.Where(e => PatientSplit.Of(e.PatientId, 1) == PatientSplit.Part.Test).ToList();
        var random = new Random(11);
        var women = test.Select((e, i) => (e, i)).Where(x => x.e.Sex == Clinical.Records.Sex.Female).Select(x => x.i).ToList();
        var shuffled = women.Select(i => test[i].Label).OrderBy(_ => random.Next()).ToList();
        for (var k = 0; k < women.Count; k++)
        {
            test[women[k]] = test[women[k]] with { Label = shuffled[k] };
        }

        var refused = PromotionGate.Decide(model, null, test, new GateThresholds { RefuseFairnessFlags = true }, DateTimeOffset.UnixEpoch);
        var notAsked = PromotionGate.Decide(model, null, test, new GateThresholds(), DateTimeOffset.UnixEpoch);

        var fairness = Assert.Single(refused.Checks, c => c.Name == "fairness");
        Assert.False(fairness.Passed, fairness.Detail);
        Assert.Contains("sex=", fairness.Detail, StringComparison.Ordinal);
        Assert.False(refused.Promote);
        Assert.DoesNotContain(notAsked.Checks, c => c.Name == "fairness");
    }
}

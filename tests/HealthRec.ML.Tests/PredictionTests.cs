namespace HealthRec.ML.Tests;

public sealed class PredictionTests(GeneratedCohort cohort) : TempFolderTests("healthrec-predict-"), IClassFixture<GeneratedCohort>
{
    [Fact]
    public void GivenARegisteredModel_WhenAPatientIsScored_ThenTheEstimateIsTheModelsAndTheFactorsAreInClinicalWords()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "t2d-5y");
        var (examples, counts) = OutcomeExamples.Build(cohort.Records, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts);
        var folder = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names,
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

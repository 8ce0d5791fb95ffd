namespace HealthRec.ML.Tests;

public sealed class EvaluationTests(GeneratedCohort cohort) : TempFolderTests("healthrec-evaluate-"), IClassFixture<GeneratedCohort>
{
    [Fact]
    public void GivenARegisteredModel_WhenEvaluatedOnHeldOutPatients_ThenMetricsAndASelfContainedReportWithItsPlotsAreProduced()
    {
        var featurizer = Repo.Featurizer();
        var definition = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == "ascvd-10y");
        var training = cohort.Records.Take(4500).ToList();
        var heldOut = cohort.Records.Skip(4500).ToList();
        var (examples, counts) = OutcomeExamples.Build(training, definition, featurizer);
        var trained = new OutcomeTrainer(featurizer).Train(definition, examples, counts);
        var folder = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names,
            new TrainingProvenance("cohort", "00", true, "test", 1, "healthrec-features", "1.0.0"), DateTimeOffset.UnixEpoch);
        using var model = OutcomeModel.Load(folder);

        var evaluation = OutcomeEvaluator.Evaluate(model, heldOut, featurizer);
        var html = HtmlReport.Render([evaluation], "held-out patients", DateTimeOffset.UnixEpoch);

        var m = evaluation.Metrics;
        Assert.Equal(OutcomeExamples.Build(heldOut, definition, featurizer).Examples.Count, m.N);
        // Realistic: published ASCVD equations reach C 0.72–0.79, and this held-out set is small.
        Assert.InRange(m.RocAuc!.Value, 0.62, 0.95);
        Assert.Equal(["decision_tree", "logistic_regression", "pooled_cohort_equations", "prevent-ascvd", "prevent-cvd", "prevent-hf", "random_forest"],
            m.Baselines.Keys.Order(StringComparer.Ordinal));
        // The equations alongside (PREVENT's total CVD and heart failure) rank the same examples they give a figure for.
        Assert.InRange(m.Baselines["prevent-hf"].N, 50, m.N - 1);
        Assert.Contains("<tr><td>PREVENT heart failure (ranking)</td>", html, StringComparison.Ordinal);
        Assert.Contains("judged here as a ranking only", html, StringComparison.Ordinal);
        // PREVENT beside the models, on the held-out examples it gives a figure for (fewer than all: some lack a lipid panel).
        var prevent = m.Baselines["prevent-ascvd"];
        Assert.InRange(prevent.N, 50, m.N - 1);
        Assert.InRange(prevent.RocAuc!.Value, 0.6, 0.9);
        Assert.Equal(model.Manifest.Threshold, m.Confusion!.Threshold);
        // The fairness audit at the threshold, per sex and age band and, as the generated patients state them (US Core),
        // race and ethnicity, in metrics.json; a gap injected into the generated cohort (women's estimates shrunk to a
        // third) is flagged.
        Assert.NotNull(m.Fairness);
        Assert.Equal(["age", "ethnicity", "race", "sex"], m.Fairness.Groups.Select(g => g.Dimension).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(m.Fairness.Groups.Count, MetricsJson.Of(m)["fairness"]!["groups"]!.AsArray().Count);
        string?[] sex = [.. OutcomeExamples.Build(heldOut, definition, featurizer).Examples.Select(e => e.Sex == Clinical.Records.Sex.Female ? "female" : "male")];
        var shrunk = m.Probabilities.Select((p, i) => sex[i] == "female" ? p / 3 : p).ToArray();
        Assert.Contains(FairnessAudit.Audit(shrunk, m.Labels, m.Weights, m.Threshold!.Value, [("sex", sex)]).Flagged, g => g.Dimension == "sex");
        // Before labels arrive (CBPE): from the calibrated probabilities alone, the area and the event rate of the held-out
        // patients, and of a population shifted young (those under 60), are within 0.03 and 0.005 of what their outcomes give.
        var heldOutExamples = OutcomeExamples.Build(heldOut, definition, featurizer).Examples;
        foreach (var (population, keep) in new (string, Func<OutcomeExample, bool>)[] { ("held-out", _ => true), ("under 60", e => e.Age < 60) })
        {
            var chosen = Enumerable.Range(0, m.N).Where(i => keep(heldOutExamples[i])).ToArray();
            var estimate = PerformanceEstimate.Estimate([.. chosen.Select(i => m.Probabilities[i])]);
            var realized = BinaryMetrics.RocAuc([.. chosen.Select(i => m.Probabilities[i])], [.. chosen.Select(i => m.Labels[i])], [.. chosen.Select(i => m.Weights[i])]);
            var rate = BinaryMetrics.EventRate([.. chosen.Select(i => m.Labels[i])], [.. chosen.Select(i => m.Weights[i])]);
            Assert.True(Math.Abs(estimate.RocAuc - realized) <= 0.03, $"{population}: estimated ROC-AUC {estimate.RocAuc:0.000}, realized {realized:0.000}");
            Assert.True(Math.Abs(estimate.ExpectedEventRate - rate) <= 0.005, $"{population}: expected event rate {estimate.ExpectedEventRate:0.000}, observed {rate:0.000}");
        }

        // The report shows the audit, a row per group, and the decision curve with the model's net benefit at each threshold.
        Assert.All(m.Fairness.Groups, g => Assert.Contains($"data-fairness=\"{g.Dimension}={System.Net.WebUtility.HtmlEncode(g.Group)}\"", html, StringComparison.Ordinal));
        var benefit = BinaryMetrics.NetBenefit(m.Probabilities, m.Labels, 0.1, m.Weights).ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($"data-threshold=\"0.1\"><td>[^<]+</td><td>(<strong>)?{System.Text.RegularExpressions.Regex.Escape(benefit)}", html);
        Assert.Contains("ROC curve", html, StringComparison.Ordinal);
        Assert.Contains("Precision–recall", html, StringComparison.Ordinal);
        Assert.Contains("Calibration", html, StringComparison.Ordinal);
        Assert.Contains("Pooled Cohort Equations", html, StringComparison.Ordinal);
        Assert.Contains("PREVENT (its patients only)", html, StringComparison.Ordinal);
        Assert.Contains("synthetic", html, StringComparison.Ordinal);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $">{m.Confusion.TruePositives:N0}<"), html, StringComparison.Ordinal);
        // Self-contained: eight curves on the ROC plot and eight on the PR plot (the model, three baselines, Pooled Cohort,
        // PREVENT and the two equations alongside), one calibration line, nothing fetched.
        Assert.Equal(17, System.Text.RegularExpressions.Regex.Count(html, "<polyline"));
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
        var folder = ModelRegistry.Save(Folder.FullName, trained, names,
            new TrainingProvenance("cohort", "00", true, "test", 1, "other-features", "0.1.0"), DateTimeOffset.UnixEpoch);
        using var model = OutcomeModel.Load(folder);

        var ex = Assert.Throws<TrainingException>(() => OutcomeEvaluator.Evaluate(model, cohort.Records, featurizer));

        Assert.Contains("other-features 0.1.0", ex.Message, StringComparison.Ordinal);
    }
}

namespace HealthRec.ML.Tests;

public sealed partial class TrainingTests(GeneratedCohort cohort) : TempFolderTests("healthrec-registry-"), IClassFixture<GeneratedCohort>
{
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
        var folder = ModelRegistry.Save(Folder.FullName, trained, featurizer.Names, Provenance(), DateTimeOffset.UnixEpoch);
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

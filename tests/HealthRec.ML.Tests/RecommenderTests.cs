namespace HealthRec.ML.Tests;

/// <summary>The generated cohort with the hybrid recommender trained on it (with the default outcome models), once per test class.</summary>
public sealed class TrainedRecommenderCohort : GeneratedCohort
{
    public Dictionary<string, OutcomePredictor> Predictors { get; } = OutcomePredictor.LoadCurrent(Repo.Path_("models"), Repo.Featurizer(), Repo.Terminology);

    public HybridRanker Hybrid { get; private set; } = null!;

    public static TrainingProvenance Provenance { get; } = new("generated cohort (seed 42)", "test", true, "test", 1, "healthrec-features", "1.0.0");

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        Hybrid = RecommenderTrainer.Train(Records, CatalogTests.Load(CatalogTests.CommittedJson), Repo.Featurizer(), Predictors, Provenance);
    }

    public override async ValueTask DisposeAsync()
    {
        Hybrid.Dispose();
        foreach (var predictor in Predictors.Values)
        {
            predictor.Dispose();
        }

        await base.DisposeAsync();
    }
}

/// <summary>The recommender (content-based, and hybrid with the ranker trained on a generated cohort) with the committed catalog and default models.</summary>
public sealed class RecommenderTests(TrainedRecommenderCohort cohort) : IClassFixture<TrainedRecommenderCohort>
{
    private static readonly DateTimeOffset At = new(2022, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly Dictionary<string, OutcomePredictor> _predictors = cohort.Predictors;

    private Recommender Recommender(string? catalogJson = null, bool hybrid = false) =>
        new(CatalogTests.Load(catalogJson ?? CatalogTests.CommittedJson), Repo.Featurizer(), _predictors, hybrid ? cohort.Hybrid : null);

    [Theory]
    [InlineData("metformin", "egfr 25", false)]
    [InlineData("ace-inhibitor", "pregnancy", false)]
    [InlineData("arb", "on an ACE inhibitor", false)]
    [InlineData("statin-high", "liver disease", false)]
    [InlineData("anticoagulant-af", "liver disease", false)]
    [InlineData("metformin", "egfr 25", true)]
    [InlineData("ace-inhibitor", "pregnancy", true)]
    [InlineData("arb", "on an ACE inhibitor", true)]
    [InlineData("statin-high", "liver disease", true)]
    [InlineData("anticoagulant-af", "liver disease", true)]
    public void GivenAContraindicatedItemThatWouldRankFirst_WhenRecommended_ThenItNeverAppears(string id, string contraindication, bool hybrid)
    {
        // The catalog says the item all but abolishes risk, so its score tops everything; the filter must still win.
        var catalog = JsonNode.Parse(CatalogTests.CommittedJson)!;
        var item = catalog["entry"]!.AsArray().Select(e => e!["resource"]!).Single(r => (string)r["id"]! == id);
        item["extension"]!.AsArray().Add(JsonNode.Parse("""{"url":"https://healthrec.example.org/fhir/StructureDefinition/effect","extension":[{"url":"outcome","valueCode":"ascvd-10y"},{"url":"relativeRisk","valueDecimal":0.01},{"url":"source","valueString":"test: an overwhelming effect"}]}"""));
        var patient = new CatalogTests.Patient().Has("t2d").Has("hypertension").Has("atrial-fibrillation").Has("ascvd")
            .With("sbp", 155).With("ldl", 210).With("bmi", 31).With("egfr", contraindication == "egfr 25" ? 25 : 70);
        _ = contraindication switch
        {
            "pregnancy" => patient.Has("pregnancy", daysAgo: 60),
            "liver disease" => patient.Has("liver-disease"),
            "on an ACE inhibitor" => patient.Taking("lisinopril", "ace-inhibitor"),
            _ => patient,
        };

        var set = Recommender(catalog.ToJsonString(), hybrid).Recommend(patient.Record(), At, top: 30);

        Assert.Equal(hybrid, set.Ranking.StartsWith("hybrid", StringComparison.Ordinal));
        Assert.DoesNotContain(set.Recommendations, r => r.Intervention.Id == id);
        Assert.Contains(set.Excluded, e => e.InterventionId == id && e.Reason.StartsWith("contraindicated: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GivenAPatientOnAModerateStatinWithLdlStillHigh_WhenRecommended_ThenIntensificationIsOfferedAndNoStatinStart(bool hybrid)
    {
        var patient = new CatalogTests.Patient().Has("t2d").With("ldl", 135).Taking("atorvastatin 20 MG Oral Tablet", "statin", "statin-moderate-intensity");

        var set = Recommender(hybrid: hybrid).Recommend(patient.Record(), At, top: 30);

        Assert.Contains(set.Recommendations, r => r.Intervention.Id == "statin-high");
        Assert.DoesNotContain(set.Recommendations, r => r.Intervention.Id == "statin-moderate");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GivenAChildWithFactsThatGiveAnAdultSuggestions_WhenRecommended_ThenNoneIsMadeAndTheSetSaysWhy(bool hybrid)
    {
        // Adult thresholds (LDL, blood pressure, BMI, smoking) would fire for this 10-year-old; the catalog is adult guidance.
        static CatalogTests.Patient Facts(CatalogTests.Patient p) => p.With("ldl", 200).With("sbp", 150).With("bmi", 31).With("smoking_status", 2).With("hba1c", 6.0);
        var adult = Recommender(hybrid: hybrid).Recommend(Facts(new CatalogTests.Patient()).Record(), At, top: 30);
        var child = Recommender(hybrid: hybrid).Recommend(Facts(new CatalogTests.Patient().BornOn(new DateOnly(2012, 1, 1))).Record(), At, top: 30);

        Assert.NotEmpty(adult.Recommendations);
        Assert.Null(adult.NotForPatient);
        Assert.Empty(child.Recommendations);
        Assert.Empty(child.Excluded);
        Assert.Equal("HealthRec's suggestions follow adult guidelines (18 and over) and this patient is 10: none are made", child.NotForPatient);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GivenPatientsOfTheCohort_WhenRecommended_ThenEverySuggestionHasReasonsAndEvidenceAndTheListsAreDeterministic(bool hybrid)
    {
        var recommender = Recommender(hybrid: hybrid);
        var patients = cohort.Records.Where(r => r.LastActivity is not null).Take(150).ToList();

        var first = patients.Select(p => recommender.Recommend(p, p.LastActivity!.Value)).ToList();
        var second = patients.Select(p => recommender.Recommend(p, p.LastActivity!.Value)).ToList();

        Assert.Contains(first, s => s.Recommendations.Count > 0);
        Assert.All(first.SelectMany(s => s.Recommendations), r =>
        {
            Assert.NotEmpty(r.Reasons);
            Assert.NotEmpty(r.Evidence);
            Assert.All(r.Evidence, e => Assert.StartsWith("https://", e.Url, StringComparison.Ordinal));
            if (r.Benefit is { } b)
            {
                Assert.True(b.RiskWith < b.RiskNow && b.Text.Contains("an estimate", StringComparison.Ordinal), b.Text);
            }
        });
        Assert.All(first, s => Assert.Equal(s.Recommendations.Count, s.Recommendations.Select(r => r.Intervention.Class).Distinct().Count()));
        Assert.Equal(first.Select(s => string.Join(",", s.Recommendations.Select(r => $"{r.Intervention.Id}:{r.Score:R}:{r.RankerScore:R}"))),
            second.Select(s => string.Join(",", s.Recommendations.Select(r => $"{r.Intervention.Id}:{r.Score:R}:{r.RankerScore:R}"))));
        // Only the hybrid scores medicines with the ranker and names what followed in similar patients.
        var medicines = first.SelectMany(s => s.Recommendations).Where(r => r.Intervention.Category == Clinical.Knowledge.InterventionCategory.Medication).ToList();
        Assert.NotEmpty(medicines);
        Assert.All(medicines, r => Assert.Equal(hybrid, r.RankerScore is not null));
        Assert.Equal(hybrid, medicines.Exists(r => r.Reasons.Any(x => x.StartsWith("of the 25 most similar patients in the training population who were started on a medicine, ", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GivenPatientsOfTheCohort_WhenRecommended_ThenTheOrderIsTheOneTheListSaysItIs(bool hybrid)
    {
        var recommender = Recommender(hybrid: hybrid);
        var sets = cohort.Records.Where(r => r.LastActivity is not null).Take(300).Select(p => recommender.Recommend(p, p.LastActivity!.Value, top: 30)).ToList();

        Assert.Contains(sets, s => s.Recommendations.Count >= 3);
        Assert.Equal(hybrid, sets.Exists(s => s.Recommendations.Any(r => !r.Indicated)));
        foreach (var set in sets)
        {
            var shown = set.Recommendations;
            bool Descending(IEnumerable<double> values) => values.Zip(values.Skip(1)).All(p => p.First >= p.Second);
            var indicated = shown.Where(r => r.Indicated).ToList();
            // Every indicated item before any offered on similar patients' treatment alone, as the words say.
            Assert.Equal(indicated, shown.Take(indicated.Count));
            // Each says what of its indication the patient meets, or, offered without one, what they do not.
            Assert.All(shown, r =>
            {
                Assert.StartsWith(r.Indicated ? "indicated: " : "not a catalog indication for this patient today (that is: ", r.Reasons[0], StringComparison.Ordinal);
                Assert.Equal(!r.Intervention.Indication.Rule.IsOneFact, r.Reasons[0].Contains(" — this patient: ", StringComparison.Ordinal));
                // Offered in a zone left to judgement, it rests on that zone's statement, not on the indication's.
                Assert.Equal(r.Indicated ? r.Intervention.Evidence : r.Intervention.ConsiderEvidence, r.Evidence);
            });
            if (!hybrid)
            {
                Assert.StartsWith("Ordered by expected benefit", set.OrderedBy, StringComparison.Ordinal);
                Assert.True(Descending(shown.Select(r => r.Score)), string.Join(", ", shown.Select(r => $"{r.Intervention.Id} {r.Score:0.000}")));
                continue;
            }

            Assert.Contains("placed by the learned ranker", set.OrderedBy, StringComparison.Ordinal);
            static bool IsMedicine(ML.Recommendation.Recommendation r) => r.RankerScore is not null;
            // Items the ranker does not order keep content's order; medicines follow the ranker among themselves.
            Assert.True(Descending(indicated.Where(r => !IsMedicine(r)).Select(r => r.Score)), string.Join(", ", indicated.Select(r => $"{r.Intervention.Id} {r.Score:0.000}")));
            Assert.True(Descending(indicated.Where(IsMedicine).Select(r => r.RankerScore!.Value)), string.Join(", ", indicated.Select(r => $"{r.Intervention.Id} {r.RankerScore}")));
        }
    }

    [Fact]
    public void GivenARecommendation_WhenItsProposalIsBuilt_ThenItIsADraftProposalThatInstantiatesTheCatalogItem()
    {
        var item = CatalogTests.Load(CatalogTests.CommittedJson).Items.Single(i => i.Id == "statin-high");

        var proposal = Assert.IsType<Hl7.Fhir.Model.MedicationRequest>(ProposalBuilder.Build(item, "p1", ["indicated: clinical ASCVD"], "estimated risk 18 % → 12 %"));

        Assert.Equal(Hl7.Fhir.Model.MedicationRequest.MedicationRequestIntent.Proposal, proposal.Intent);
        Assert.Equal(Hl7.Fhir.Model.MedicationRequest.MedicationrequestStatus.Draft, proposal.Status);
        Assert.Equal("https://healthrec.example.org/fhir/ActivityDefinition/statin-high", Assert.Single(proposal.InstantiatesCanonical));
        Assert.Equal("Patient/p1", proposal.Subject.Reference);
        Assert.Contains(proposal.Note, n => n.Text!.Contains("2018 AHA/ACC Cholesterol Guideline", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenThePopulationsHistory_WhenNeighboursAreAsked_ThenStatinsLoweredLdlAndAntihypertensivesLoweredPressureInSimilarPatients()
    {
        var neighbours = cohort.Hybrid.Neighbours;
        var evidence = cohort.Records.Where(r => r.LastActivity is not null).Take(1500)
            .Select(r => neighbours.Score(Repo.Featurizer().Featurize(r, r.LastActivity!.Value))).ToList();
        double MeanChange(string id)
        {
            var i = neighbours.Items.IndexOf(id);
            var measured = evidence.Select(e => e[i]).Where(e => !double.IsNaN(e.MeanChange)).ToList();
            Assert.NotEmpty(measured);
            return measured.Average(e => e.MeanChange);
        }

        // The generator's statins lower LDL by 35-50 % (diluted by adherence); its antihypertensives lower SBP by ~9 mmHg.
        Assert.InRange(MeanChange("statin-moderate"), -0.6, -0.15);
        Assert.InRange(MeanChange("ace-inhibitor"), -0.3, -0.02);
        Assert.Equal(25, evidence[0][0].Neighbours);
    }

    [Fact]
    public void GivenHeldOutPatients_WhenTheHybridIsComparedWithItsParts_ThenItBeatsEachOnNdcgAt5AndNoneRecommendsAnythingContraindicated()
    {
        var evaluation = cohort.Hybrid.Manifest.Evaluation.ToDictionary(r => r.Ranker, StringComparer.Ordinal);
        var report = string.Join(" | ", evaluation.Values);

        Assert.Equal(["hybrid", "content", "collaborative", "popularity"], cohort.Hybrid.Manifest.Evaluation.Select(r => r.Ranker));
        Assert.All(evaluation.Values, r => Assert.True(r.Patients > 500 && r.Patients == evaluation["hybrid"].Patients, report));
        Assert.All(evaluation.Values, r => Assert.Equal(0, r.ContraindicatedRecommendations));
        Assert.True(evaluation["hybrid"].NdcgAt5 > evaluation["content"].NdcgAt5, report);
        Assert.True(evaluation["hybrid"].NdcgAt5 > evaluation["collaborative"].NdcgAt5, report);
        Assert.True(evaluation["hybrid"].NdcgAt5 > evaluation["popularity"].NdcgAt5, report);
        // Hybrid and content put indicated medicines first, so every patient with one gets one; popularity ignores indications.
        Assert.Equal(1.0, evaluation["content"].GuidelineConcordanceAt3);
        Assert.Equal(1.0, evaluation["hybrid"].GuidelineConcordanceAt3);
        Assert.True(evaluation["popularity"].GuidelineConcordanceAt3 < evaluation["hybrid"].GuidelineConcordanceAt3, report);
        Assert.True(evaluation["hybrid"].HelpedPatients > 50 && evaluation["hybrid"].HelpedNdcgAt5 > 0, report);
        Assert.Contains("held-out test of", cohort.Hybrid.Manifest.Validation, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTheTrainedHybrid_WhenSavedAndLoaded_ThenItRanksTheSameAndRefusesAFolderItsManifestDoesNotName()
    {
        var registry = Directory.CreateTempSubdirectory("healthrec-recommender-");
        using var removed = registry.DeletedAtEnd();
        var folder = RecommenderTrainer.Save(registry.FullName, cohort.Hybrid);
        using var loaded = HybridRanker.LoadCurrent(registry.FullName)!;
        var patients = cohort.Records.Where(r => r.LastActivity is not null).Take(200).ToList();
        var original = Recommender(hybrid: true);
        var reloaded = new Recommender(CatalogTests.Load(CatalogTests.CommittedJson), Repo.Featurizer(), _predictors, loaded);

        Assert.Equal("v1", loaded.Manifest.Version);
        Assert.True(File.Exists(Path.Combine(folder, "model-card.md")));
        Assert.Contains("| hybrid |", File.ReadAllText(Path.Combine(folder, "model-card.md")), StringComparison.Ordinal);
        foreach (var p in patients)
        {
            var a = original.Recommend(p, p.LastActivity!.Value, top: 30).Recommendations;
            var b = reloaded.Recommend(p, p.LastActivity!.Value, top: 30).Recommendations;
            Assert.Equal(a.Select(r => r.Intervention.Id), b.Select(r => r.Intervention.Id));
            Assert.All(a.Zip(b), x => Assert.Equal(x.First.RankerScore ?? 0, x.Second.RankerScore ?? 0, 1e-6));
        }

        Directory.Move(folder, Path.Combine(registry.FullName, HybridRanker.Folder, "v9"));
        Assert.Throws<InvalidDataException>(() => HybridRanker.Load(Path.Combine(registry.FullName, HybridRanker.Folder, "v9")));
    }

    [Fact]
    public void GivenTheSameDataAndSeed_WhenTrainedTwice_ThenTheRankersAreIdentical_AndClinicianFeedbackMovesTheRanking()
    {
        var catalog = CatalogTests.Load(CatalogTests.CommittedJson);
        var records = cohort.Records.Take(2000).ToList();
        using var first = RecommenderTrainer.Train(records, catalog, Repo.Featurizer(), _predictors, TrainedRecommenderCohort.Provenance);
        using var second = RecommenderTrainer.Train(records, catalog, Repo.Featurizer(), _predictors, TrainedRecommenderCohort.Provenance);
        var probe = cohort.Records.Skip(2000).Where(r => r.LastActivity is not null).Take(300).ToList();
        List<string> Lists(HybridRanker ranker) => [.. probe.Select(p => string.Join(",", new Recommender(catalog, Repo.Featurizer(), _predictors, ranker)
            .Recommend(p, p.LastActivity!.Value, top: 30).Recommendations.Select(r => $"{r.Intervention.Id}:{r.RankerScore:R}")))];

        Assert.Equal(first.Manifest.Evaluation, second.Manifest.Evaluation);
        Assert.Equal(Lists(first), Lists(second));

        // Clinicians at training patients' visits accept a thiazide and override an ACE inhibitor whenever both are offered.
        var train = records.Where(r => Training.PatientSplit.Of(r.PatientId, 1) == Training.PatientSplit.Part.Train).ToList();
        var feedback = new List<FeedbackExample>();
        var visits = new List<(Clinical.Records.PatientRecord Record, DateTimeOffset At)>();
        foreach (var record in train)
        {
            foreach (var at in TreatmentHistory.StartVisits(record, TreatmentHistory.Medicines(catalog), Repo.Featurizer(), max: 3).Select(v => v.At))
            {
                var offered = new Recommender(catalog, Repo.Featurizer(), _predictors).Recommend(record, at, top: 30).Recommendations.Select(r => r.Intervention.Id).ToList();
                if (offered.Contains("thiazide") && offered.Contains("ace-inhibitor"))
                {
                    feedback.Add(new FeedbackExample(record.PatientId, at, "thiazide", Accepted: true));
                    feedback.Add(new FeedbackExample(record.PatientId, at, "ace-inhibitor", Accepted: false));
                    visits.Add((record, at));
                }
            }
        }

        feedback.Add(new FeedbackExample("nobody", At, "thiazide", Accepted: true));
        using var taught = RecommenderTrainer.Train(records, catalog, Repo.Featurizer(), _predictors, TrainedRecommenderCohort.Provenance, feedback: feedback);

        // Where the clinicians said so, the taught ranker puts the thiazide first more often than the untaught one.
        double ThiazideFirst(HybridRanker ranker)
        {
            var recommender = new Recommender(catalog, Repo.Featurizer(), _predictors, ranker);
            var both = visits.Select(v => recommender.Recommend(v.Record, v.At, top: 30).Recommendations.Select(r => r.Intervention.Id).ToList())
                .Where(ids => ids.Contains("thiazide") && ids.Contains("ace-inhibitor")).ToList();
            Assert.NotEmpty(both);
            return both.Average(ids => ids.IndexOf("thiazide") < ids.IndexOf("ace-inhibitor") ? 1.0 : 0.0);
        }

        Assert.True(feedback.Count > 20, $"{feedback.Count} feedback examples");
        Assert.Equal(feedback.Count - 1, taught.Manifest.FeedbackUsed);
        Assert.Equal(1, taught.Manifest.FeedbackSkipped);
        Assert.True(ThiazideFirst(taught) > ThiazideFirst(first) + 0.1, $"thiazide first: {ThiazideFirst(first):P0} → {ThiazideFirst(taught):P0}");
    }
}

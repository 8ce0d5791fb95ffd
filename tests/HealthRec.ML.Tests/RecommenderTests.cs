using System.Text.Json.Nodes;
using HealthRec.Fhir.Knowledge;
using HealthRec.ML.Recommendation;
using HealthRec.ML.Registry;
using HealthRec.ML.Serving;

namespace HealthRec.ML.Tests;

/// <summary>The content-based recommender with the committed catalog and default models.</summary>
public sealed class RecommenderTests(GeneratedCohort cohort) : IClassFixture<GeneratedCohort>, IDisposable
{
    private static readonly DateTimeOffset At = new(2022, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly Dictionary<string, OutcomePredictor> _predictors = OutcomePredictor.LoadCurrent(Repo.Path_("models"), Repo.Featurizer(), Repo.Terminology);

    public void Dispose()
    {
        foreach (var predictor in _predictors.Values)
        {
            predictor.Dispose();
        }
    }

    private Recommender Recommender(string? catalogJson = null) =>
        new(CatalogTests.Load(catalogJson ?? CatalogTests.CommittedJson), Repo.Featurizer(), _predictors);

    [Theory]
    [InlineData("metformin", "egfr 25")]
    [InlineData("ace-inhibitor", "pregnancy")]
    [InlineData("arb", "on an ACE inhibitor")]
    [InlineData("statin-high", "liver disease")]
    [InlineData("anticoagulant-af", "liver disease")]
    public void GivenAContraindicatedItemThatWouldRankFirst_WhenRecommended_ThenItNeverAppears(string id, string contraindication)
    {
        // The catalog says the item all but abolishes risk, so its score tops everything; the filter must still win.
        var catalog = JsonNode.Parse(CatalogTests.CommittedJson)!;
        var item = catalog["entry"]!.AsArray().Select(e => e!["resource"]!).Single(r => (string)r["id"]! == id);
        item["extension"]!.AsArray().Add(JsonNode.Parse("""{"url":"https://healthrec.example.org/fhir/StructureDefinition/effect","extension":[{"url":"outcome","valueCode":"ascvd-10y"},{"url":"relativeRisk","valueDecimal":0.01},{"url":"source","valueString":"test: an overwhelming effect"}]}"""));
        var patient = new CatalogTests.Patient().Has("t2d").Has("hypertension").Has("atrial-fibrillation").Has("ascvd")
            .With("sbp", 155).With("ldl", 210).With("bmi", 31).With("egfr", contraindication == "egfr 25" ? 25 : 70);
        _ = contraindication switch
        {
            "pregnancy" => patient.Has("pregnancy"),
            "liver disease" => patient.Has("liver-disease"),
            "on an ACE inhibitor" => patient.Taking("lisinopril", "ace-inhibitor"),
            _ => patient,
        };

        var set = Recommender(catalog.ToJsonString()).Recommend(patient.Record(), At, top: 30);

        Assert.DoesNotContain(set.Recommendations, r => r.Intervention.Id == id);
        Assert.Contains(set.Excluded, e => e.InterventionId == id && e.Reason.StartsWith("contraindicated: ", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenAPatientOnAModerateStatinWithLdlStillHigh_WhenRecommended_ThenIntensificationIsOfferedAndNoStatinStart()
    {
        var patient = new CatalogTests.Patient().Has("t2d").With("ldl", 135).Taking("atorvastatin 20 MG Oral Tablet", "statin", "statin-moderate-intensity");

        var set = Recommender().Recommend(patient.Record(), At, top: 30);

        Assert.Contains(set.Recommendations, r => r.Intervention.Id == "statin-high");
        Assert.DoesNotContain(set.Recommendations, r => r.Intervention.Id == "statin-moderate");
    }

    [Fact]
    public void GivenPatientsOfTheCohort_WhenRecommended_ThenEverySuggestionHasReasonsAndEvidenceAndTheListsAreDeterministic()
    {
        var recommender = Recommender();
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
        Assert.Equal(first.Select(s => string.Join(",", s.Recommendations.Select(r => $"{r.Intervention.Id}:{r.Score:R}"))),
            second.Select(s => string.Join(",", s.Recommendations.Select(r => $"{r.Intervention.Id}:{r.Score:R}"))));
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
    public void GivenThePopulationsHistory_WhenResponsesAreLearnt_ThenStatinsLowerLdlAndAntihypertensivesLowerPressureInSimilarPatients()
    {
        using var phenotypes = Phenotypes.PhenotypeModel.Load(ModelRegistry.CurrentFolder(Repo.Path_("models"), "phenotypes")!);
        var catalog = CatalogTests.Load(CatalogTests.CommittedJson);

        var responses = TreatmentResponse.Learn(cohort.Records, catalog, Repo.Featurizer(), phenotypes);

        var clusters = Enumerable.Range(1, phenotypes.Manifest.K).ToList();
        var statin = clusters.Select(c => responses.For("statin-moderate", c)).OfType<ResponseSummary>().ToList();
        var pressure = clusters.Select(c => responses.For("ace-inhibitor", c)).OfType<ResponseSummary>().ToList();
        Assert.NotEmpty(statin);
        Assert.NotEmpty(pressure);
        // The generator's statins lower LDL by 35-50 % (diluted by adherence); its antihypertensives lower SBP by ~9 mmHg.
        Assert.InRange(statin.Sum(s => s.Patients * s.MeanRelativeChange) / statin.Sum(s => s.Patients), -0.6, -0.15);
        Assert.True(pressure.Sum(s => s.Patients * s.MeanRelativeChange) / pressure.Sum(s => s.Patients) < -0.02);
        Assert.All(statin, s => Assert.Equal("ldl", s.Analyte));

        // Recommendations then say what followed in similar patients (when at least five of them started it).
        var recommender = new Recommender(catalog, Repo.Featurizer(), _predictors, phenotypes, responses);
        var statinSuggestions = cohort.Records.Where(r => r.LastActivity is not null).Take(1500)
            .SelectMany(r => recommender.Recommend(r, r.LastActivity!.Value, top: 30).Recommendations)
            .Where(r => r.Intervention.Class == "statin").ToList();
        Assert.NotEmpty(statinSuggestions);
        Assert.Contains(statinSuggestions, s => s.Reasons.Any(r => r.StartsWith("in similar patients (phenotype ", StringComparison.Ordinal) && r.Contains("LDL changed", StringComparison.Ordinal)));
    }

    [Fact]
    public void GivenHeldOutPatients_WhenRecommendersAreEvaluated_ThenNeitherRecommendsAnythingContraindicatedAndOnlyContentFollowsTheGuidelines()
    {
        var catalog = CatalogTests.Load(CatalogTests.CommittedJson);
        var featurizer = Repo.Featurizer();
        var population = cohort.Records.Take(3000).ToList();
        var heldOut = cohort.Records.Skip(3000).ToList();
        var recommender = new Recommender(catalog, featurizer, _predictors);
        RecommenderEvaluation.Ranker content = (record, at, top) => [.. recommender.Recommend(record, at, top: 30).Recommendations
            .Where(r => r.Intervention.Category == Clinical.Knowledge.InterventionCategory.Medication).Take(top).Select(r => r.Intervention.Id)];
        var popularity = RecommenderEvaluation.Popularity(population, catalog, featurizer);

        var contentMetrics = RecommenderEvaluation.Evaluate("content", content, heldOut, catalog, featurizer);
        var popularityMetrics = RecommenderEvaluation.Evaluate("popularity", popularity, heldOut, catalog, featurizer);

        var report = $"{contentMetrics} | {popularityMetrics}";
        Assert.True(contentMetrics.Patients > 500 && contentMetrics.Patients == popularityMetrics.Patients, report);
        Assert.Equal(0, contentMetrics.ContraindicatedRecommendations);
        Assert.Equal(0, popularityMetrics.ContraindicatedRecommendations);
        // Content suggests only indicated medicines, so every patient with one gets one; popularity ignores indications.
        Assert.Equal(1.0, contentMetrics.GuidelineConcordanceAt3);
        Assert.True(popularityMetrics.GuidelineConcordanceAt3 < 0.9, report);
        // What clinicians started next is partly found by both (the learned hybrid must beat each on NDCG@5: not yet built).
        Assert.InRange(contentMetrics.NdcgAt5, 0.05, 1.0);
        Assert.InRange(popularityMetrics.NdcgAt5, 0.05, 1.0);
    }
}

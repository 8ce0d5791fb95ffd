using HealthRec.ML.Training;

namespace HealthRec.Server.Models;

/// <summary>
/// <c>healthrec evaluate</c>: evaluates the current model of each outcome (and its saved baselines) on the given data
/// and writes <c>metrics.json</c> and a self-contained <c>index.html</c> report.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var reportFolder = new Option<string>("--report") { Description = "Folder for metrics.json and index.html", DefaultValueFactory = _ => "data/processed/report" };
        var only = new Option<string[]>("--outcome") { Description = "Evaluate only this outcome id (repeatable). Default: every registered outcome" };
        var catalog = CommonOptions.Catalog("Intervention catalog, for the recommender section");
        var command = new Command("evaluate", "Evaluate the current models on data: metrics.json and an HTML report with plots.")
        {
            reportFolder, only, catalog,
        };
        var data = ModelDataOptions.AddTo(command, "Outcome definitions the catalog refers to");
        command.SetAction((result, cancellationToken) => RunAsync(
            data.Read(result), result.GetValue(reportFolder)!, result.GetValue(only) ?? [], result.GetValue(catalog)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, string reportFolder, string[] only, string catalogFile, CancellationToken cancellationToken)
    {
        var (inputs, modelsFolder, _, schemaFile, terminologyFolder) = data;
        var outcomesPath = data.OutcomesPath;
        if (await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            return 2;
        }

        var outcomes = ModelRegistry.Outcomes(modelsFolder).Where(o => only.Length == 0 || only.Contains(o, StringComparer.Ordinal)).ToList();
        if (outcomes.Count == 0 || only.Any(o => !outcomes.Contains(o, StringComparer.Ordinal)))
        {
            await Console.Error.WriteLineAsync($"No registered model{(only.Length > 0 ? $" for {string.Join(", ", only)}" : "")} in '{modelsFolder}'. Train one with 'healthrec train'.");
            return 2;
        }

        if (await InputSources.ReadForCommandAsync(inputs, terms, cancellationToken) is not var (records, _))
        {
            return 2;
        }

        var evaluations = new List<OutcomeEvaluation>();
        var failed = 0;
        foreach (var outcome in outcomes)
        {
            await Console.Error.WriteLineAsync($"{outcome}: evaluating on {records.Count:N0} patients...");
            var folder = ModelRegistry.CurrentFolder(modelsFolder, outcome)!;
            using var model = OutcomeModel.Load(folder);
            try
            {
                var evaluation = OutcomeEvaluator.Evaluate(model, records, featurizer, ML.Outcomes.OutcomeFiles.DefinitionOf(outcomesPath, outcome, terms)) with
                {
                    TrainingOverlap = TrainingPatients.Overlap(folder, model.Manifest.TrainingPatientsSalt, records.Select(r => r.PatientId)),
                    InputPatients = records.Count,
                };
                evaluations.Add(evaluation);
                var m = evaluation.Metrics;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{outcome} {model.Manifest.Version}: n={m.N:N0} ") + (m.RocAuc is { } auc
                    ? string.Create(CultureInfo.InvariantCulture, $"ROC-AUC {auc:0.000} ({m.RocAucCi?.Low:0.000}–{m.RocAucCi?.High:0.000}), Brier {m.Brier:0.0000}, calibration slope {m.CalibrationSlope:0.00}")
                    : string.Create(CultureInfo.InvariantCulture, $"MAE {m.Mae:0.000}, R² {m.R2:0.000}")));
                if (evaluation.OverlapWarning is { } overlap)
                {
                    Console.WriteLine($"  warning: {overlap}");
                }
                else if (evaluation.TrainingOverlap is null)
                {
                    Console.WriteLine($"  note: {outcome} {model.Manifest.Version} predates the record of its training patients: overlap with this data cannot be checked.");
                }
            }
            catch (TrainingException ex)
            {
                failed++;
                await Console.Error.WriteLineAsync(ex.Message);
            }
        }

        var recommenders = RecommenderSection(records, modelsFolder, catalogFile, outcomesPath, terms, featurizer);
        Directory.CreateDirectory(reportFolder);
        var fingerprint = InputSources.Fingerprint(inputs);
        var metrics = new JsonObject
        {
            ["data"] = new JsonObject { ["input"] = string.Join(" ", inputs), ["sha256"] = fingerprint, ["patients"] = records.Count },
            ["outcomes"] = new JsonObject(evaluations.Select(e => KeyValuePair.Create(e.Definition.Id, (JsonNode?)WithVersion(e)))),
        };
        if (recommenders.Count > 0)
        {
            static JsonNode? Number(double x) => double.IsNaN(x) ? null : Math.Round(x, 6);
            metrics["recommender"] = new JsonObject(recommenders.Select(r => KeyValuePair.Create(r.Ranker, (JsonNode?)new JsonObject
            {
                ["patients"] = r.Patients,
                ["precision_at_3"] = Number(r.PrecisionAt3), ["recall_at_3"] = Number(r.RecallAt3), ["ndcg_at_3"] = Number(r.NdcgAt3),
                ["precision_at_5"] = Number(r.PrecisionAt5), ["recall_at_5"] = Number(r.RecallAt5), ["ndcg_at_5"] = Number(r.NdcgAt5),
                ["coverage_at_5"] = Number(r.CoverageAt5),
                ["guideline_concordance_at_3"] = Number(r.GuidelineConcordanceAt3),
                ["contraindicated"] = r.ContraindicatedRecommendations,
                ["helped_patients"] = r.HelpedPatients, ["helped_recall_at_5"] = Number(r.HelpedRecallAt5), ["helped_ndcg_at_5"] = Number(r.HelpedNdcgAt5),
            })));
        }

        await File.WriteAllTextAsync(Path.Combine(reportFolder, "metrics.json"), metrics.ToJsonString(ModelRegistry.Json), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(reportFolder, "tripod-ai.json"),
            Tripod(evaluations, metrics, modelsFolder, string.Join(" ", inputs), featurizer, terms).ToJsonString(ModelRegistry.Json), cancellationToken);
        var description = string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", inputs)} ({records.Count:N0} patients, SHA-256 {fingerprint[..12]}…)");
        await File.WriteAllTextAsync(Path.Combine(reportFolder, "index.html"), HtmlReport.Render(evaluations, description, DateTimeOffset.UtcNow, recommenders), cancellationToken);
        Console.WriteLine($"report: {Path.Combine(reportFolder, "index.html")}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// The recommenders on the input: patients of the split's test part are evaluated; the popularity baseline learns
    /// from the other patients, so nobody's own future prescriptions count for them. Empty (and said) when the catalog
    /// cannot be read.
    /// </summary>
    private static List<RankerMetrics> RecommenderSection(List<Clinical.Records.PatientRecord> records, string modelsFolder, string catalogFile,
        string outcomesPath, Clinical.Terminology.ClinicalTerminology terms, Clinical.Features.Featurizer featurizer)
    {
        Clinical.Knowledge.InterventionCatalog interventions;
        try
        {
            interventions = KnowledgeEndpoints.LoadCatalog(catalogFile, outcomesPath, terms, featurizer);
        }
        catch (Fhir.Knowledge.CatalogException ex) when (ex.WrittenForOtherInputs)
        {
            Console.Error.WriteLine($"recommender not evaluated: {KnowledgeEndpoints.WrittenForOtherInputs(catalogFile, "this run's")} ({ex.Lacking})");
            return [];
        }
        catch (Exception ex) when (ex is Fhir.Knowledge.CatalogException or Clinical.Outcomes.OutcomeDefinitionException)
        {
            Console.Error.WriteLine($"recommender not evaluated: {ex.Message}");
            return [];
        }

        var heldOut = records.Where(r => PatientSplit.Of(r.PatientId, 1) == PatientSplit.Part.Test).ToList();
        var population = records.Where(r => PatientSplit.Of(r.PatientId, 1) != PatientSplit.Part.Test).ToList();
        // Judged against what clinicians started next: data where no held-out patient starts one of the catalog's
        // medicines (a site's own outcomes, a research table) has nothing to judge it by.
        var medicines = TreatmentHistory.Medicines(interventions);
        if (!heldOut.Any(r => TreatmentHistory.StartVisits(r, medicines, featurizer).Any()))
        {
            Console.Error.WriteLine("recommender not evaluated: no held-out patient in the input was started on one of the catalog's medicines");
            return [];
        }

        var predictors = ML.Serving.OutcomePredictor.LoadCurrent(modelsFolder, featurizer, terms);
        using var hybrid = HybridRanker.LoadCurrent(modelsFolder);
        try
        {
            // With a registered recommender: the hybrid, content-only, collaborative-only and popularity on the same patients.
            var results = hybrid is not null
                ? RecommenderTrainer.Compare(heldOut, population, interventions, featurizer, predictors, hybrid)
                :
                [
                    RecommenderEvaluation.Evaluate("content", RecommenderEvaluation.Medicines(new Recommender(interventions, featurizer, predictors)), heldOut, interventions, featurizer),
                    RecommenderEvaluation.Evaluate("popularity", RecommenderEvaluation.Popularity(population, interventions, featurizer), heldOut, interventions, featurizer),
                ];
            foreach (var r in results)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"recommender {r.Ranker}: {r.Patients:N0} held-out patient{(r.Patients == 1 ? "" : "s")}, NDCG@5 {r.NdcgAt5:0.000}, guideline concordance {r.GuidelineConcordanceAt3:0.000}, contraindicated {r.ContraindicatedRecommendations}"));
            }

            return results;
        }
        finally
        {
            foreach (var predictor in predictors.Values)
            {
                predictor.Dispose();
            }
        }
    }

    /// <summary>
    /// The TRIPOD+AI checklist of each evaluated model as this evaluation leaves it (the items a server knows, filled from
    /// its training and these figures; the authors' items listed as theirs), with the default job and transparency settings.
    /// </summary>
    private static JsonObject Tripod(List<OutcomeEvaluation> evaluations, JsonObject metrics, string modelsFolder, string source,
        Clinical.Features.Featurizer featurizer, Clinical.Terminology.ClinicalTerminology terms)
    {
        var now = DateTimeOffset.UtcNow;
        var jobs = new Transparency.JobSettings(source, null, new Jobs.EvaluationOptions().RecentYears, source, null, new GateThresholds());
        var checklists = new JsonObject();
        foreach (var evaluation in evaluations)
        {
            var outcome = evaluation.Definition.Id;
            using var predictor = ML.Serving.OutcomePredictor.LoadCurrent(modelsFolder, outcome, featurizer, terms);
            var training = MetricsJson.OfVersion(ModelRegistry.CurrentFolder(modelsFolder, outcome)!, outcome);
            var evaluated = metrics["outcomes"]![outcome]!;
            var stored = new Data.StoredEvaluation($"evaluate:{now:yyyyMMddTHHmmssZ}", outcome, predictor.Manifest.Version, now, source, evaluation.Metrics.N,
                evaluated.ToJsonString(), "[]", "not computed by `healthrec evaluate`");
            var subject = new Transparency.PredictiveSubject(predictor, Transparency.PredictiveSubject.LightGbm, training, stored, null);
            var set = Transparency.PredictiveAttributes.Build(subject, jobs, new Transparency.TransparencyOptions(), now);
            var items = Transparency.TripodAiChecklist.Build(subject, set);
            checklists[outcome] = new JsonObject
            {
                ["version"] = predictor.Manifest.Version,
                ["filled"] = items.Count(i => i.Value is not null),
                ["total"] = items.Count,
                ["items"] = JsonSerializer.SerializeToNode(items, ModelRegistry.Json),
            };
        }

        return new JsonObject { ["checklist"] = "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378)", ["outcomes"] = checklists };
    }

    private static JsonObject WithVersion(OutcomeEvaluation evaluation)
    {
        var json = MetricsJson.Of(evaluation.Metrics);
        json["model_version"] = evaluation.Manifest.Version;
        return json;
    }
}

using HealthRec.ML.Phenotypes;
using HealthRec.ML.Training;

namespace HealthRec.Server.Models;

/// <summary>
/// <c>healthrec train</c>: reads FHIR data, builds each outcome's examples, trains LightGBM and its baselines, and saves
/// a new version of each model bundle (which becomes current).
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Seed for the split, the search and LightGBM: the same seed gives the same models", DefaultValueFactory = _ => 1 };
        var only = new Option<string[]>("--outcome") { Description = "Train only this outcome id, 'phenotypes' or 'recommender' (repeatable). Default: every definition, the phenotypes and the recommender" };
        var catalog = CommonOptions.Catalog("Intervention catalog, for the recommender");
        var feedback = new Option<string?>("--feedback-db")
        {
            Description = "Learn the recommender also from clinicians' CDS Hooks feedback stored in this HealthRec database: a SQLite file (e.g. var/healthrec.db) or a PostgreSQL connection string",
        };
        var cv = new Option<int?>("--cv")
        {
            Description = "Also cross-validate each outcome in K folds (grouped by patient, stratified by label) and record the per-fold and pooled figures in the model card and report",
        };
        var command = new Command("train", "Train the outcome models (LightGBM with baselines), the K-Means phenotypes and the hybrid recommender (LightGBM LambdaRank with nearest neighbours), and register a new version of each.")
        {
            seed, only, catalog, feedback, cv,
        };
        var data = ModelDataOptions.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(data.Read(result), result.GetValue(seed), result.GetValue(only) ?? [], result.GetValue(catalog)!,
            result.GetValue(feedback), result.GetValue(cv), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, int seed, string[] only, string catalogFile, string? feedbackDatabase, int? folds,
        CancellationToken cancellationToken)
    {
        var (inputs, modelsFolder, _, schemaFile, terminologyFolder) = data;
        var outcomesPath = data.OutcomesPath;
        if (folds is < CrossValidation.MinFolds or > CrossValidation.MaxFolds)
        {
            await Console.Error.WriteLineAsync($"--cv {folds}: give between {CrossValidation.MinFolds} and {CrossValidation.MaxFolds} folds.");
            return 2;
        }

        ClinicalTerminology terms;
        Featurizer featurizer;
        FeatureSchema schema;
        List<OutcomeDefinition> definitions;
        try
        {
            terms = TerminologyFiles.Load(terminologyFolder);
            featurizer = TerminologyFiles.LoadFeaturizer(schemaFile, terms);
            schema = featurizer.Schema;
            definitions = [.. OutcomeFiles.Load(outcomesPath, terms).Where(d => only.Length == 0 || only.Contains(d.Id, StringComparer.Ordinal))];
        }
        catch (Exception ex) when (ex is TerminologyException or OutcomeDefinitionException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        var unknown = only.Where(id => id != PhenotypeTrainer.Folder && id != HybridRanker.Folder && definitions.TrueForAll(d => d.Id != id)).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"--outcome {string.Join(", ", unknown)}: no such outcome in '{outcomesPath}'.");
            return 2;
        }

        IReadOnlyList<FeedbackExample> feedback = [];
        if (feedbackDatabase is not null)
        {
            var (examples, problem) = await FeedbackSource.ReadAsync(feedbackDatabase, cancellationToken);
            if (problem is not null)
            {
                await Console.Error.WriteLineAsync(problem);
                return 2;
            }

            feedback = examples;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clinician feedback: {feedback.Count:N0} answers to suggested medicines and other interventions"));
        }

        var clock = Stopwatch.StartNew();
        if (await InputSources.ReadForCommandAsync(inputs, terms, cancellationToken) is not var (records, report))
        {
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {records.Count:N0} patients in {clock.Elapsed.TotalSeconds:N1} s ({report.TotalProblems:N0} data problems reported)"));
        if (report.NotedSummary is { Length: > 0 } noted)
        {
            Console.WriteLine($"noted: {noted}");
        }

        await Ingestion.UnusedDataReport.WriteAsync(report, Path.Combine(modelsFolder, "unread-codes.csv"), Console.Out);
        // A feedback database is named, not copied: its connection string may hold a password.
        var provenance = InputSources.Provenance(inputs, seed, schema, InputSources.CommandLine("train",
        [
            .. inputs.Select(i => ("--input", (string?)i)), ("--models", modelsFolder), ("--outcomes", outcomesPath), ("--features", schemaFile),
            ("--terminology", terminologyFolder), ("--seed", seed.ToString(CultureInfo.InvariantCulture)), .. only.Select(o => ("--outcome", o)),
            ("--catalog", catalogFile), .. feedbackDatabase is null ? [] : new[] { ("--feedback-db", (string?)null) },
            .. folds is { } given ? new[] { ("--cv", (string?)given.ToString(CultureInfo.InvariantCulture)) } : [],
        ]));
        var failed = 0;
        foreach (var definition in definitions)
        {
            clock.Restart();
            try
            {
                await Console.Error.WriteLineAsync($"{definition.Id}: labelling {records.Count:N0} patients, then the LightGBM search, calibration and baselines...");
                var (examples, counts) = OutcomeExamples.Build(records, definition, featurizer);
                var labelled = clock.Elapsed;
                CrossValidationSummary? crossValidation = null;
                if (folds is { } k)
                {
                    Console.WriteLine($"{definition.Id}: cross-validating in {k} folds");
                    crossValidation = CrossValidation.Run(featurizer, definition, examples, counts, k, seed, line => Console.WriteLine($"  {line}"));
                    foreach (var a in crossValidation.Algorithms)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {a.Algorithm}: {(crossValidation.Metric == "roc_auc" ? "ROC-AUC" : "MAE")} {a.Mean:0.000} ± {a.StandardDeviation:0.000} over folds, pooled out-of-fold {a.Pooled:0.000}"));
                    }
                }

                var trained = new OutcomeTrainer(featurizer, seed).Train(definition, examples, counts, OutcomeExamples.AtRisk(records, definition, featurizer));
                var folder = ModelRegistry.Save(modelsFolder, trained, featurizer.Names, provenance, DateTimeOffset.UtcNow, crossValidation: crossValidation);
                Console.WriteLine(Summary(trained, folder, labelled, clock.Elapsed - labelled));
                if (trained.DemographicsOnly)
                {
                    Console.WriteLine($"  warning: {definition.Id}: {BundleManifest.DemographicsOnlyWarning}");
                }

                if (definition.Reference is { } id && ML.Registry.PromotionGate.ReferenceOf(id) is { } reference)
                {
                    // A validated equation answers for this outcome until a model beats it on the held-out patients.
                    var test = examples.Where(e => PatientSplit.Of(e.PatientId, seed) == PatientSplit.Part.Test).ToList();
                    using var model = OutcomeModel.Load(folder);
                    var decision = ML.Registry.PromotionGate.Decide(model, null, test, new ML.Registry.GateThresholds(), DateTimeOffset.UtcNow, reference, definition.DecisionThreshold);
                    ML.Registry.PromotionGate.Record(folder, decision);
                    Console.WriteLine(decision.OverReference
                        ? $"  {definition.Id}: {decision.Challenger} beat {reference.Name} at the promotion gate and answers instead of it"
                        : $"  {definition.Id}: {reference.Name} stays the champion ({string.Join("; ", decision.Checks.Where(c => !c.Passed).Select(c => $"{c.Name}: {c.Detail}"))})");
                }
            }
            catch (TrainingException ex) when (ex.TooShort && definition.Reference is { } id && PromotionGate.ReferenceOf(id) is { } reference)
            {
                // Not a failure: the outcome has a validated equation, which keeps answering; only no challenger was trained.
                Console.WriteLine($"{ex.Message} Not trained; {reference.Name} keeps answering for {definition.Id}.");
            }
            catch (TrainingException ex)
            {
                failed++;
                await Console.Error.WriteLineAsync(ex.Message);
            }
        }

        if (only.Length == 0 || only.Contains(PhenotypeTrainer.Folder, StringComparer.Ordinal))
        {
            try
            {
                clock.Restart();
                var phenotypes = PhenotypeTrainer.Train(records, featurizer, terms, modelsFolder, provenance, seed, DateTimeOffset.UtcNow);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"phenotypes {phenotypes.Version}: k = {phenotypes.K} ({phenotypes.Criterion}; {clock.Elapsed.TotalSeconds:N1} s): ") +
                    string.Join("; ", phenotypes.Profiles.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Id}) {p.Share:P0} {p.Name}"))));
            }
            catch (TrainingException ex)
            {
                failed++;
                await Console.Error.WriteLineAsync(ex.Message);
            }
        }

        // The recommender fails the run only when asked for by name: by default it is trained where the catalog and the
        // data allow, and a site's own outcomes (which the catalog's effects do not name) are no reason to fail their models.
        var recommenderAsked = only.Contains(HybridRanker.Folder, StringComparer.Ordinal);
        if ((only.Length == 0 || recommenderAsked)
            && !await TrainRecommenderAsync(records, modelsFolder, outcomesPath, catalogFile, terms, featurizer, provenance, seed, feedback))
        {
            if (recommenderAsked)
            {
                failed++;
            }
            else
            {
                Console.WriteLine("The recommender was not asked for by --outcome: the models above are saved, and the run does not fail for it.");
            }
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>The hybrid recommender, on the current outcome models (those just trained, when they were).</summary>
    private static async Task<bool> TrainRecommenderAsync(List<Clinical.Records.PatientRecord> records, string modelsFolder, string outcomesPath, string catalogFile,
        ClinicalTerminology terms, Featurizer featurizer, TrainingProvenance provenance, int seed, IReadOnlyList<FeedbackExample> feedback)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, ML.Serving.OutcomePredictor>? predictors = null;
        try
        {
            var interventions = KnowledgeEndpoints.LoadCatalog(catalogFile, outcomesPath, terms, featurizer);
            predictors = ML.Serving.OutcomePredictor.LoadCurrent(modelsFolder, featurizer, terms);
            using var ranker = RecommenderTrainer.Train(records, interventions, featurizer, predictors, provenance, new RecommenderTrainingOptions { Seed = seed },
                feedback, log: Console.Out);
            var folder = RecommenderTrainer.Save(modelsFolder, ranker);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recommender: {ranker.Manifest.Validation}. Saved {folder} ({clock.Elapsed.TotalSeconds:N1} s)"));
            return true;
        }
        catch (Fhir.Knowledge.CatalogException ex) when (ex.WrittenForOtherInputs)
        {
            await Console.Error.WriteLineAsync($"recommender not trained: {KnowledgeEndpoints.WrittenForOtherInputs(catalogFile, "this run's")} ({ex.Lacking})");
            return false;
        }
        catch (Exception ex) when (ex is TrainingException or Fhir.Knowledge.CatalogException or OutcomeDefinitionException or FileNotFoundException)
        {
            await Console.Error.WriteLineAsync($"recommender not trained: {ex.Message}");
            return false;
        }
        finally
        {
            foreach (var predictor in predictors?.Values ?? Enumerable.Empty<ML.Serving.OutcomePredictor>())
            {
                predictor.Dispose();
            }
        }
    }

    private static string Summary(TrainedOutcome trained, string folder, TimeSpan labelling, TimeSpan training)
    {
        var m = trained.Metrics;
        var ci = CultureInfo.InvariantCulture;
        var observed = m.InTheLarge is { } large
            ? string.Create(ci, $", mean estimate {large.MeanEstimate:P1} against {large.KaplanMeierIncidence:P1} observed (Kaplan–Meier)")
            : "";
        var headline = trained.Definition.Kind == OutcomeKind.Binary
            ? string.Create(ci, $"ROC-AUC {m.RocAuc:0.000} ({m.RocAucCi?.Low:0.000}–{m.RocAucCi?.High:0.000}), Brier {m.Brier:0.0000}, calibration slope {m.CalibrationSlope:0.00}{observed}")
            : string.Create(ci, $"MAE {m.Mae:0.000}, RMSE {m.Rmse:0.000}, R² {m.R2:0.000}");
        var weighted = trained.Counts.FollowedShare is { } share
            ? string.Create(ci, $" (IPCW: {trained.Counts.Censored:N0} censored, {share:P0} followed to the horizon)")
            : "";
        var baselines = string.Join("; ", m.Baselines.Select(kv => trained.Definition.Kind == OutcomeKind.Binary
            ? string.Create(ci, $"{kv.Key} {kv.Value.RocAuc:0.000}")
            : string.Create(ci, $"{kv.Key} MAE {kv.Value.Mae:0.000}")));
        return string.Create(ci, $"{trained.Definition.Id}: {trained.Counts.Usable:N0} examples{weighted}, test {headline}; baselines: {baselines}. " +
            $"Saved {folder} (labels and features {labelling.TotalSeconds:N1} s, search, calibration, baselines and test {training.TotalSeconds:N1} s)");
    }
}

/// <summary>Clinicians' answers to suggestions, from a HealthRec database the CDS Hooks feedback endpoint wrote.</summary>
internal static class FeedbackSource
{
    public static async Task<(IReadOnlyList<FeedbackExample> Examples, string? Problem)> ReadAsync(string database, CancellationToken cancellationToken)
    {
        var (store, problem) = CommandDatabase.Open(database, "--feedback-db");
        if (store is null)
        {
            return ([], problem);
        }

        await using (store)
        {
            try
            {
                var answers = await new Data.FeedbackStore(store.Database).InterventionFeedbackAsync(cancellationToken);
                return ([.. answers.Select(a => new FeedbackExample(a.PatientId, a.At, a.InterventionId, a.Accepted))], null);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or ArgumentException)
            {
                return ([], $"--feedback-db: the feedback could not be read ({CommandDatabase.Describe(ex)}).");
            }
        }
    }
}

/// <summary>A HealthRec database named on the command line: the SQLite file the server writes, or a PostgreSQL connection string.</summary>
internal sealed class CommandDatabase(Data.HealthRecDatabase database, Npgsql.NpgsqlDataSource? source) : IAsyncDisposable
{
    public Data.HealthRecDatabase Database { get; } = database;

    public static (CommandDatabase? Database, string? Problem) Open(string database, string option)
    {
        var postgres = database.Contains("Host=", StringComparison.OrdinalIgnoreCase);
        if (!postgres && !File.Exists(database))
        {
            return (null, $"{option}: no SQLite database at '{database}' (give the file the server writes, e.g. var/healthrec.db, or a PostgreSQL connection string).");
        }

        try
        {
            var source = postgres ? Npgsql.NpgsqlDataSource.Create(database) : null;
            return (new CommandDatabase(source is null ? Data.HealthRecDatabase.ForSqlite(database) : Data.HealthRecDatabase.ForPostgres(source), source), null);
        }
        catch (ArgumentException ex)
        {
            return (null, $"{option}: not a valid connection string ({ex.Message.Split('\n')[0]}).");
        }
    }

    /// <summary>A database error in one line: its type and first line (a connection string's password is never part of it).</summary>
    public static string Describe(Exception ex) => $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}";

    public async ValueTask DisposeAsync()
    {
        if (source is not null)
        {
            await source.DisposeAsync();
        }
    }
}

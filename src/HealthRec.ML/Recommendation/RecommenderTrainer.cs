namespace HealthRec.ML.Recommendation;

/// <summary>A clinician's answer to a suggestion (from the CDS Hooks feedback endpoint): accepted or overridden.</summary>
public sealed record FeedbackExample(string PatientId, DateTimeOffset At, string InterventionId, bool Accepted);

public sealed record RecommenderTrainingOptions
{
    public int Seed { get; init; } = 1;

    /// <summary>Visits with a start kept per training patient (the first ones, a year or more into the record).</summary>
    public int VisitsPerPatient { get; init; } = 3;

    /// <summary>Reference points kept for the neighbour index (sampled by seed): its size, and the cost of a query.</summary>
    public int MaxNeighbourPoints { get; init; } = 4000;

    public int Neighbours { get; init; } = 25;

    /// <summary>How many times a feedback group counts against one from history: a clinician's explicit judgement is the stronger signal.</summary>
    public int FeedbackWeight { get; init; } = 3;
}

/// <summary>
/// Trains the hybrid recommender on a population's history: patients are split by patient (the outcome models' 60/20/20
/// hash split with the seed); the neighbour index is built from training patients at the visits where their clinicians
/// started a catalog medicine (<see cref="TreatmentHistory.StartVisits"/>); the LambdaRank
/// model learns from training patients' candidate medicines (indicated, or supported by similar patients; allowed by the hard filters), graded by what followed (2 started and
/// helped, 1 started, 0 not), with the neighbour evidence computed leaving the patient's own points out; clinicians'
/// feedback, when given, adds groups where an accepted suggestion is graded 2 and an overridden one 0. Parameters are
/// chosen on the validation patients by NDCG@5; the test patients then compare the hybrid with content-only,
/// collaborative-only and popularity rankers. LightGBM runs on one thread with a seed: the same input gives the same model.
/// </summary>
public static class RecommenderTrainer
{
    private const string GroupKey = "GroupId";

    private static readonly RankerParameters[] Grid =
    [
        new(Leaves: 15, LearningRate: 0.05, Iterations: 200, MinExamplesPerLeaf: 20),
        new(Leaves: 31, LearningRate: 0.05, Iterations: 300, MinExamplesPerLeaf: 20),
        new(Leaves: 7, LearningRate: 0.1, Iterations: 150, MinExamplesPerLeaf: 50),
    ];

    private sealed record Point(int Patient, PatientSnapshot Snapshot, Followed[] Followed);

    private sealed record Row(int Item, uint Group, float Label, float[] Features);

    public static HybridRanker Train(IReadOnlyList<PatientRecord> records, InterventionCatalog catalog, Featurizer featurizer,
        IReadOnlyDictionary<string, OutcomePredictor> predictors, TrainingProvenance provenance, RecommenderTrainingOptions? options = null,
        IReadOnlyList<FeedbackExample>? feedback = null, TextWriter? log = null)
    {
        options ??= new RecommenderTrainingOptions();
        var medicines = TreatmentHistory.Medicines(catalog);
        var ids = medicines.Select(m => m.Id).ToImmutableArray();
        var parts = records.Select(r => PatientSplit.Of(r.PatientId, options.Seed)).ToArray();

        List<Point> PointsOf(PatientSplit.Part part, int perPatient) =>
        [
            .. records.Select((record, i) => (Record: record, Patient: i)).Where(x => parts[x.Patient] == part)
                .AsParallel().AsOrdered()
                .SelectMany(x => TreatmentHistory.StartVisits(x.Record, medicines, featurizer, perPatient)
                    .Select(v => new Point(x.Patient, PatientSnapshot.Take(v.Record, v.At, featurizer, predictors), v.Followed))),
        ];

        var train = PointsOf(PatientSplit.Part.Train, options.VisitsPerPatient);
        var validation = PointsOf(PatientSplit.Part.Validation, options.VisitsPerPatient);
        if (train.Count == 0 || validation.Count == 0)
        {
            throw new TrainingException($"The recommender needs visits at which catalog medicines were started, in the training and validation parts; found {train.Count} and {validation.Count}.");
        }

        // The neighbour index: training points, sampled by seed, kept in their original order.
        var sample = train.Count <= options.MaxNeighbourPoints
            ? train
            : [.. Enumerable.Range(0, train.Count).ToArray().Shuffled(options.Seed).Take(options.MaxNeighbourPoints).Order().Select(i => train[i])];
        var neighbours = NeighbourIndex.Build([.. sample.Select(p => p.Snapshot.Features)], [.. sample.Select(p => p.Followed)], [.. sample.Select(p => p.Patient)], ids, options.Neighbours);
        var popularity = ids.Select((_, j) => (double)train.Count(p => p.Followed[j].Grade > 0) / train.Count).ToImmutableArray();

        // Candidate groups: the medicines the recommender would rank for that patient then.
        var trainRows = new List<Row>();
        var group = 0u;
        foreach (var rows in train.AsParallel().AsOrdered().Select(p => Candidates(catalog, p, p.Patient, medicines, neighbours, popularity, label: null)))
        {
            AddGroup(trainRows, rows, ref group);
        }

        int used = 0, skipped = 0;
        if (feedback is { Count: > 0 })
        {
            var byId = records.Select((r, i) => (r, i)).ToDictionary(x => x.r.PatientId, x => x.i, StringComparer.Ordinal);
            foreach (var example in feedback)
            {
                if (!byId.TryGetValue(example.PatientId, out var patient) || parts[patient] != PatientSplit.Part.Train || ids.IndexOf(example.InterventionId) < 0)
                {
                    skipped++;
                    continue;
                }

                var nothing = new Followed[medicines.Length];
                Array.Fill(nothing, Followed.Nothing);
                var point = new Point(patient, PatientSnapshot.Take(records[patient], example.At, featurizer, predictors), nothing);
                var rows = Candidates(catalog, point, patient, medicines, neighbours, popularity, (example.InterventionId, example.Accepted ? 2f : 0f));
                if (rows.Count == 0)
                {
                    skipped++;
                    continue;
                }

                for (var copy = 0; copy < options.FeedbackWeight; copy++)
                {
                    AddGroup(trainRows, rows, ref group);
                }

                used++;
            }
        }

        var validationGroups = validation.AsParallel().AsOrdered()
            .Select(p => (Point: p, Rows: Candidates(catalog, p, -1, medicines, neighbours, popularity, label: null))).ToList();
        var ml = new MLContext(options.Seed);
        var data = ml.Data.LoadFromEnumerable(trainRows.Select(r => new TrainRow { Group = r.Group, Label = r.Label, Features = r.Features }), TrainRow.Schema(trainRows[0].Features.Length));
        var keyed = ml.Transforms.Conversion.MapValueToKey(GroupKey, nameof(TrainRow.Group)).Fit(data).Transform(data);

        (ITransformer Model, RankerParameters Parameters, double Ndcg)? best = null;
        foreach (var parameters in Grid)
        {
            var model = ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
            {
                LabelColumnName = nameof(TrainRow.Label),
                RowGroupColumnName = GroupKey,
                FeatureColumnName = nameof(TrainRow.Features),
                NumberOfLeaves = parameters.Leaves,
                LearningRate = parameters.LearningRate,
                NumberOfIterations = parameters.Iterations,
                MinimumExampleCountPerLeaf = parameters.MinExamplesPerLeaf,
                Seed = options.Seed,
                Deterministic = true,
                NumberOfThreads = 1,
                Silent = true,
            }).Fit(keyed);
            var ndcg = ValidationNdcg(ml, model, validationGroups, medicines);
            log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ranker {parameters}: validation NDCG@5 {ndcg:0.0000}"));
            if (best is null || ndcg > best.Value.Ndcg)
            {
                best = (model, parameters, ndcg);
            }
        }

        var manifest = new RecommenderManifest
        {
            Version = "unsaved",
            Items = ids,
            FeatureNames = PairFeatures.Names(ids, featurizer.Names),
            FeatureSchemaId = featurizer.Schema.Id,
            FeatureSchemaVersion = featurizer.Schema.Version,
            OutcomeModels = predictors.ToImmutableDictionary(p => p.Key, p => p.Value.Manifest.Version, StringComparer.Ordinal),
            Popularity = popularity,
            Neighbours = options.Neighbours,
            ReferencePoints = neighbours.Count,
            Parameters = best!.Value.Parameters,
            Searched = [.. Grid],
            TrainingGroups = (int)group,
            TrainingRows = trainRows.Count,
            FeedbackUsed = used,
            FeedbackSkipped = skipped,
            Provenance = provenance,
            TrainedAt = DateTimeOffset.UtcNow,
            Evaluation = [],
        };
        var ranker = new HybridRanker(manifest, neighbours, best.Value.Model);

        // The held-out comparison, on the test patients (one visit each, as the evaluation defines it).
        var test = records.Where((_, i) => parts[i] == PatientSplit.Part.Test).ToList();
        var population = records.Where((_, i) => parts[i] == PatientSplit.Part.Train).ToList();
        var evaluation = Compare(test, population, catalog, featurizer, predictors, ranker);
        var hybrid = evaluation[0];
        var who = provenance.Synthetic ? "synthetic patients" : "patients";
        var trained = new HybridRanker(manifest with
        {
            Evaluation = [.. evaluation],
            Validation = string.Create(CultureInfo.InvariantCulture,
                $"LightGBM LambdaRank over indicated medicines, held-out test of {hybrid.Patients:N0} {who}: NDCG@5 {hybrid.NdcgAt5:0.00} against what their clinicians started next (content {evaluation[1].NdcgAt5:0.00}, collaborative {evaluation[2].NdcgAt5:0.00}, popularity {evaluation[3].NdcgAt5:0.00})"),
        }, neighbours, best.Value.Model);
        ranker.Dispose();
        return trained;
    }

    /// <summary>The hybrid, content-only, collaborative-only and popularity rankers on the same held-out patients, in that order.</summary>
    public static List<RankerMetrics> Compare(IReadOnlyList<PatientRecord> heldOut, IReadOnlyList<PatientRecord> population, InterventionCatalog catalog,
        Featurizer featurizer, IReadOnlyDictionary<string, OutcomePredictor> predictors, HybridRanker ranker) =>
    [
        RecommenderEvaluation.Evaluate("hybrid", RecommenderEvaluation.Medicines(new Recommender(catalog, featurizer, predictors, ranker)), heldOut, catalog, featurizer),
        RecommenderEvaluation.Evaluate("content", RecommenderEvaluation.Medicines(new Recommender(catalog, featurizer, predictors)), heldOut, catalog, featurizer),
        RecommenderEvaluation.Evaluate("collaborative", RecommenderEvaluation.Collaborative(ranker.Neighbours, catalog, featurizer), heldOut, catalog, featurizer),
        RecommenderEvaluation.Evaluate("popularity", RecommenderEvaluation.Popularity(population, catalog, featurizer), heldOut, catalog, featurizer),
    ];

    /// <summary>Registers the trained recommender as the next version under <c>models/recommender</c> and makes it current.</summary>
    public static string Save(string registry, HybridRanker ranker)
    {
        var entry = Path.Combine(registry, HybridRanker.Folder);
        var (version, folder) = ModelRegistry.NewVersion(entry);
        ranker.Save(folder, version);
        File.WriteAllText(Path.Combine(folder, "model-card.md"), ModelCard(ranker.Manifest with { Version = version }));
        ModelRegistry.MakeCurrent(entry, version);
        return folder;
    }

    private static List<Row> Candidates(InterventionCatalog catalog, Point point, int excludePatient, Intervention[] medicines, NeighbourIndex neighbours,
        ImmutableArray<double> popularity, (string Item, float Grade)? label)
    {
        var evidence = neighbours.Score(point.Snapshot.Features, excludePatient);
        var rows = new List<Row>();
        for (var j = 0; j < medicines.Length; j++)
        {
            var item = medicines[j];
            var content = point.Snapshot.Content(item);
            if (!content.Indicated && !HybridRanker.MayConsider(item, evidence[j], point.Snapshot.Rules))
            {
                continue;
            }

            // The same screen the recommender applies: excluded items are no candidates; safety cautions count as cautions.
            var (exclusion, safetyCautions) = catalog.Screen(item, point.Snapshot.Rules, point.Snapshot.DaysSince);
            if (exclusion is not null)
            {
                continue;
            }

            var cautions = item.Cautions.Count(c => c.Rule.Evaluate(point.Snapshot.Rules)) + safetyCautions.Count;
            var grade = label is { } l && string.Equals(l.Item, item.Id, StringComparison.Ordinal) ? l.Grade : point.Followed[j].Grade;
            rows.Add(new Row(j, 0, grade, PairFeatures.Of(j, medicines.Length, item, content, cautions, evidence[j], popularity[j], point.Snapshot)));
        }

        return label is { } wanted && !rows.Exists(r => medicines[r.Item].Id == wanted.Item) ? [] : rows;
    }

    private static void AddGroup(List<Row> into, List<Row> rows, ref uint group)
    {
        if (rows.Count == 0)
        {
            return;
        }

        foreach (var row in rows)
        {
            into.Add(row with { Group = group });
        }

        group++;
    }

    private static double ValidationNdcg(MLContext ml, RankingPredictionTransformer<LightGbmRankingModelParameters> model, List<(Point Point, List<Row> Rows)> groups, Intervention[] medicines)
    {
        var all = groups.SelectMany(g => g.Rows).ToList();
        var scores = all.Count == 0 ? [] : ml.Data.CreateEnumerable<ScoreRow>(
            model.Transform(ml.Data.LoadFromEnumerable(all.Select(r => new TrainRow { Features = r.Features }), TrainRow.Schema(all[0].Features.Length))),
            reuseRowObject: false).Select(s => s.Score).ToArray();
        var rankings = new List<(IReadOnlyList<string>, IReadOnlySet<string>)>();
        var at = 0;
        foreach (var (point, rows) in groups)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var ranked = rows.Select((r, i) => (Item: medicines[r.Item], Score: scores[at + i])).OrderByDescending(x => x.Score)
                .ThenBy(x => x.Item.Id, StringComparer.Ordinal).Where(x => seen.Add(x.Item.Class)).Take(5).Select(x => x.Item.Id).ToList();
            at += rows.Count;
            rankings.Add((ranked, medicines.Where((_, j) => point.Followed[j].Grade > 0).Select(m => m.Id).ToHashSet(StringComparer.Ordinal)));
        }

        return RankingMetrics.Mean(rankings, 5).Ndcg;
    }

    private static int[] Shuffled(this int[] indices, int seed)
    {
        var random = new Random(seed);
        random.Shuffle(indices);
        return indices;
    }

    private static string ModelCard(RecommenderManifest m)
    {
        var ci = CultureInfo.InvariantCulture;
        var card = new StringBuilder();
        card.AppendLine(ci, $"# Model card: HealthRec hybrid recommender {m.Version}");
        card.AppendLine();
        card.AppendLine(m.Provenance.Synthetic ? "**Trained on synthetic patients. Not for clinical use without validation on real data.**" : "Trained on the data named below.");
        card.AppendLine();
        card.AppendLine("## What it does");
        card.AppendLine("Orders the catalog medicines for a patient (LightGBM LambdaRank over (patient, medicine) pairs). " +
            "Its inputs: the content signal (indication, the absolute risk reduction expected from the outcome models and the catalog's stated effect, guideline strength, cautions), " +
            $"the collaborative signal (what the {m.Neighbours} nearest similar patients among {m.ReferencePoints:N0} training visits with a start were started on, and whether the response analyte then fell by 5 % or more), " +
            "the popularity prior and the patient's features. Indicated medicines always come first; a medicine without a catalog indication is offered only in a zone its catalog entry names " +
            $"as left to judgement (a borderline 10-year risk for a moderate-intensity statin) and when at least {HybridRanker.ConsiderSupport} of the {m.Neighbours} nearest similar patients were started on it, after every indicated item and marked as such. The hard filters (contraindication, already taking, done recently) are applied after it and never overridden.");
        card.AppendLine();
        card.AppendLine("## Training");
        card.AppendLine(ci, $"- Data: {m.Provenance.Input} (SHA-256 {m.Provenance.DataSha256[..Math.Min(12, m.Provenance.DataSha256.Length)]}…), command `{m.Provenance.Command}`, seed {m.Provenance.Seed}");
        card.AppendLine(ci, $"- Patient-level split 60/20/20; {m.TrainingGroups:N0} candidate groups (visits at which a medicine was started, seen as the prescriber saw them), {m.TrainingRows:N0} pairs; relevance 2 = started and helped, 1 = started, 0 = not");
        card.AppendLine(ci, $"- Parameters chosen on validation NDCG@5: {m.Parameters.Leaves} leaves, learning rate {m.Parameters.LearningRate}, {m.Parameters.Iterations} iterations, ≥ {m.Parameters.MinExamplesPerLeaf} per leaf");
        card.AppendLine(ci, $"- Clinician feedback used: {m.FeedbackUsed} (skipped {m.FeedbackSkipped})");
        card.AppendLine(ci, $"- Outcome models: {string.Join(", ", m.OutcomeModels.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"))}; feature schema {m.FeatureSchemaId} {m.FeatureSchemaVersion}");
        card.AppendLine();
        card.AppendLine("## Held-out evaluation (test patients, at the first visit a year or more into the record where a medicine was started)");
        card.AppendLine();
        card.AppendLine("| ranker | patients | P@3 | R@3 | NDCG@3 | P@5 | R@5 | NDCG@5 | NDCG@5 (helped) | coverage@5 | guideline concordance@3 | contraindicated |");
        card.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in m.Evaluation)
        {
            card.AppendLine(ci, $"| {r.Ranker} | {r.Patients:N0} | {r.PrecisionAt3:0.000} | {r.RecallAt3:0.000} | {r.NdcgAt3:0.000} | {r.PrecisionAt5:0.000} | {r.RecallAt5:0.000} | {r.NdcgAt5:0.000} | {r.HelpedNdcgAt5:0.000} | {r.CoverageAt5:0.000} | {r.GuidelineConcordanceAt3:0.000} | {r.ContraindicatedRecommendations} |");
        }

        card.AppendLine();
        card.AppendLine("Relevant = catalog medicines the patient's clinicians started at that visit; \"helped\" = only those after which the response analyte (LDL, SBP, HbA1c) fell by 5 % or more. " +
            "What clinicians did is not always what was best: the metrics measure agreement with practice, and the guideline concordance and safety columns measure the rest.");
        card.AppendLine();
        card.AppendLine("## Limitations");
        card.AppendLine("- Learned from prescribing history: it inherits the population's practice patterns, including their gaps.");
        card.AppendLine("- Expected benefits come from the outcome models and the catalog's trial effects; they are estimates, labelled as such wherever shown.");
        card.AppendLine("- Lifestyle, screening and referral items are ordered by content only (no history of them is learned).");
        return card.ToString();
    }

    private sealed class TrainRow
    {
        public uint Group { get; set; }

        public float Label { get; set; }

        public float[] Features { get; set; } = [];

        public static SchemaDefinition Schema(int width) => FeatureVectorSchema.Of<TrainRow>(width);
    }
}

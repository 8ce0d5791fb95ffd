using System.Collections.Frozen;

namespace HealthRec.ML.Recommendation;

/// <summary>The LambdaRank parameters chosen on validation.</summary>
public sealed record RankerParameters(int Leaves, double LearningRate, int Iterations, int MinExamplesPerLeaf);

/// <summary>What a recommender bundle is: its items and features, how it was trained, and how it did on held-out patients.</summary>
public sealed record RecommenderManifest
{
    public required string Version { get; init; }

    /// <summary>The catalog medicines the ranker orders, in the order of its one-hot columns and of the neighbour index.</summary>
    public required ImmutableArray<string> Items { get; init; }

    public required ImmutableArray<string> FeatureNames { get; init; }

    public required string FeatureSchemaId { get; init; }

    public required string FeatureSchemaVersion { get; init; }

    /// <summary>The outcome models (id → version) whose estimates fed the expected-benefit features.</summary>
    public required ImmutableDictionary<string, string> OutcomeModels { get; init; }

    /// <summary>Share of training visits with a start at which each item was started (the popularity prior).</summary>
    public required ImmutableArray<double> Popularity { get; init; }

    public required int Neighbours { get; init; }

    public required int ReferencePoints { get; init; }

    public required RankerParameters Parameters { get; init; }

    public required ImmutableArray<RankerParameters> Searched { get; init; }

    public required int TrainingGroups { get; init; }

    public required int TrainingRows { get; init; }

    public int FeedbackUsed { get; init; }

    public int FeedbackSkipped { get; init; }

    public required TrainingProvenance Provenance { get; init; }

    public required DateTimeOffset TrainedAt { get; init; }

    /// <summary>The hybrid and its comparators on the held-out (test) patients of the training data.</summary>
    public required ImmutableArray<RankerMetrics> Evaluation { get; init; }

    public string Validation { get; init; } = "";
}

/// <summary>The feature vector of one (patient, medicine) candidate pair, as the ranker sees it.</summary>
internal static class PairFeatures
{
    private static readonly string[] Signals =
    [
        "indicated", "content_score", "expected_risk_reduction", "risk_now", "guideline_strength", "cautions",
        "neighbours_score", "neighbours_started", "neighbours_helped", "neighbours_response_change", "popularity", "response_last",
    ];

    public static ImmutableArray<string> Names(IReadOnlyList<string> items, IReadOnlyList<string> columns) =>
        [.. items.Select(i => $"item={i}"), .. Signals, .. columns.Select(c => $"patient.{c}")];

    public static float[] Of(int item, int items, Intervention intervention, ContentSignal content, int cautions, NeighbourEvidence evidence,
        double popularity, PatientSnapshot patient)
    {
        var vector = new float[items + Signals.Length + patient.Features.Length];
        vector[item] = 1;
        var at = items;
        vector[at++] = content.Indicated ? 1 : 0;
        vector[at++] = (float)content.Score;
        vector[at++] = content.Benefit is { } b ? (float)b.AbsoluteReduction : float.NaN;
        vector[at++] = content.Benefit is { } r ? (float)r.RiskNow : float.NaN;
        vector[at++] = (float)content.GuidelineStrength;
        vector[at++] = cautions;
        vector[at++] = (float)evidence.Score;
        vector[at++] = evidence.Neighbours == 0 ? 0 : (float)evidence.Started / evidence.Neighbours;
        vector[at++] = evidence.Neighbours == 0 ? 0 : (float)evidence.Helped / evidence.Neighbours;
        vector[at++] = (float)evidence.MeanChange;
        vector[at++] = (float)popularity;
        vector[at++] = intervention.Response is { } analyte ? (float)patient.Rules.Feature($"{analyte}_last") : float.NaN;
        patient.Features.CopyTo(vector, at);
        return vector;
    }
}

/// <summary>
/// The learned part of the hybrid recommender: a LightGBM LambdaRank model over (patient, medicine) pairs that weighs
/// the content signal (indication, expected risk reduction, guideline strength), the collaborative signal (what
/// followed in the nearest similar patients, <see cref="NeighbourIndex"/>), popularity and the patient's features.
/// It only orders; the hard filters decide what may be shown. A prediction engine per thread.
/// </summary>
public sealed class HybridRanker : IDisposable
{
    public const string Folder = ModelRegistry.RecommenderFolder;

    /// <summary>Similar patients (of the 25 nearest) started on a medicine for it to be offered without a catalog indication.</summary>
    public const int ConsiderSupport = 5;

    /// <summary>
    /// Whether a medicine whose indication does not hold may still be offered (after every indicated item, marked as
    /// such): the catalog names a zone for it (<see cref="Intervention.Consider"/>) the patient is in, and at least
    /// <see cref="ConsiderSupport"/> similar patients were started on it. Outside such a zone, what similar patients were
    /// given is no reason to offer a medicine (a statin at a 10-year risk of 0.4 %).
    /// </summary>
    public static bool MayConsider(Intervention item, NeighbourEvidence neighbours, IRuleContext patient) =>
        neighbours.Started >= ConsiderSupport && item.Consider is { } zone && zone.Rule.Evaluate(patient);

    private readonly MLContext _ml = new();
    private readonly ITransformer _model;
    private readonly ThreadLocal<PredictionEngine<PairRow, ScoreRow>> _engines;
    private readonly FrozenDictionary<string, int> _items;

    internal HybridRanker(RecommenderManifest manifest, NeighbourIndex neighbours, ITransformer model)
    {
        if (!manifest.Items.SequenceEqual(neighbours.Items))
        {
            throw new InvalidDataException($"recommender {manifest.Version}: the neighbour index and the manifest list different items.");
        }

        Manifest = manifest;
        Neighbours = neighbours;
        _model = model;
        _items = manifest.Items.Select((id, i) => KeyValuePair.Create(id, i)).ToFrozenDictionary(StringComparer.Ordinal);
        _engines = new(() => _ml.Model.CreatePredictionEngine<PairRow, ScoreRow>(_model, inputSchemaDefinition: PairRow.Schema(Manifest.FeatureNames.Length)),
            trackAllValues: true);
    }

    public RecommenderManifest Manifest { get; }

    public NeighbourIndex Neighbours { get; }

    internal ITransformer Model => _model;

    /// <summary>The item's position among the ranker's medicines, or −1 when the ranker does not order it.</summary>
    public int IndexOf(string interventionId) => _items.GetValueOrDefault(interventionId, -1);

    /// <summary>The ranker's score of one candidate (higher ranks first).</summary>
    public float Score(Intervention item, ContentSignal content, int cautions, NeighbourEvidence evidence, PatientSnapshot patient)
    {
        var index = IndexOf(item.Id);
        return index < 0
            ? float.NaN
            : _engines.Value!.Predict(new PairRow { Features = PairFeatures.Of(index, Manifest.Items.Length, item, content, cautions, evidence, Manifest.Popularity[index], patient) }).Score;
    }

    public static HybridRanker Load(string folder)
    {
        var manifest = JsonSerializer.Deserialize<RecommenderManifest>(File.ReadAllText(Path.Combine(folder, "bundle.json")), ModelRegistry.Json)
            ?? throw new InvalidDataException($"{folder}/bundle.json is JSON null.");
        if (!string.Equals(manifest.Version, Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)), StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{folder}: bundle.json says version {manifest.Version}; refusing a bundle whose folder and manifest disagree.");
        }

        var neighbours = NeighbourIndex.Load(Path.Combine(folder, "neighbours.bin.gz"));
        using var stream = File.OpenRead(Path.Combine(folder, "ranker.zip"));
        return new HybridRanker(manifest, neighbours, new MLContext().Model.Load(stream, out _));
    }

    /// <summary>The current recommender under a models folder, or null when none is registered.</summary>
    public static HybridRanker? LoadCurrent(string registry) =>
        ModelRegistry.CurrentFolder(registry, Folder) is { } folder && Directory.Exists(folder) ? Load(folder) : null;

    /// <summary>Writes the bundle (ranker.zip, neighbours.bin.gz, bundle.json) into a registry version folder.</summary>
    internal void Save(string folder, string version)
    {
        Neighbours.Save(Path.Combine(folder, "neighbours.bin.gz"));
        using (var stream = File.Create(Path.Combine(folder, "ranker.zip")))
        {
            var schema = _ml.Data.LoadFromEnumerable(Array.Empty<PairRow>(), PairRow.Schema(Manifest.FeatureNames.Length)).Schema;
            _ml.Model.Save(_model, schema, stream);
        }

        File.WriteAllText(Path.Combine(folder, "bundle.json"), JsonSerializer.Serialize(Manifest with { Version = version }, ModelRegistry.Json));
    }

    public void Dispose()
    {
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
        }

        _engines.Dispose();
    }

    internal sealed class PairRow
    {
        public float[] Features { get; set; } = [];

        public static SchemaDefinition Schema(int width) => FeatureVectorSchema.Of<PairRow>(width);
    }
}

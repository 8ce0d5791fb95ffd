using Microsoft.ML.Trainers;

namespace HealthRec.ML.Phenotypes;

/// <summary>A trait that sets a phenotype apart: its mean there against everyone, in words and in standard deviations.</summary>
public sealed record PhenotypeTrait(string Feature, string Text, double Mean, double OverallMean, double StandardizedDifference);

/// <summary>One cluster, readable: its size and the traits that set it apart most.</summary>
public sealed record PhenotypeProfile(int Id, string Name, int Patients, double Share, ImmutableArray<PhenotypeTrait> Traits);

/// <summary>How each candidate number of clusters scored (Davies–Bouldin index, lower is better).</summary>
public sealed record ClusterCount(int K, double DaviesBouldin, double AverageDistance);

/// <summary>What <c>phenotypes/vN/bundle.json</c> records.</summary>
public sealed record PhenotypeManifest(string Version, int K, string Criterion, ImmutableArray<ClusterCount> Candidates,
    ImmutableArray<string> FeatureNames, ImmutableArray<PhenotypeProfile> Profiles, TrainingProvenance Provenance, DateTimeOffset TrainedAt);

internal sealed class ClusterRow
{
    public uint PredictedLabel { get; set; }
}

/// <summary>
/// K-Means phenotypes over the standardized features of each patient at their last recorded activity (missing values
/// replaced by the mean; every missing value also has its indicator column). The number of clusters is chosen among
/// 3–8 by the lowest Davies–Bouldin index on the patients used (a stated, reproducible criterion); each cluster is
/// described by the features whose cluster mean differs most from everyone's, in standard deviations. The
/// recommender uses them to find patients like this one.
/// </summary>
public static class PhenotypeTrainer
{
    public const string Folder = ModelRegistry.PhenotypesFolder;
    private const int MostPatients = 20_000;

    public static PhenotypeManifest Train(IReadOnlyList<PatientRecord> records, Featurizer featurizer, ClinicalTerminology terminology,
        string registry, TrainingProvenance provenance, int seed, DateTimeOffset trainedAt)
    {
        var snapshots = records.Where(r => r.LastActivity is not null).OrderBy(r => r.PatientId, StringComparer.Ordinal).ToList();
        if (snapshots.Count < 100)
        {
            throw new TrainingException($"phenotypes: {snapshots.Count} patients with data are too few to cluster (at least 100).");
        }

        var random = new Random(seed);
        var sample = snapshots.Count > MostPatients ? [.. snapshots.OrderBy(_ => random.Next()).Take(MostPatients)] : snapshots;
        var vectors = sample.Select(r => featurizer.Featurize(r, r.LastActivity!.Value)).ToList();
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromEnumerable(vectors.Select(v => new ModelRow { Features = v }), ModelRow.Schema(featurizer.Width));
        var prepare = ml.Transforms.ReplaceMissingValues("Features", replacementMode: Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean)
            .Append(ml.Transforms.NormalizeMeanVariance("Features"));
        var prepared = prepare.Fit(data);
        var standardized = prepared.Transform(data);

        var candidates = new List<ClusterCount>();
        ITransformer? best = null;
        var bestIndex = double.PositiveInfinity;
        for (var k = 3; k <= 8; k++)
        {
            var kmeans = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
            {
                NumberOfClusters = k, NumberOfThreads = 1, InitializationAlgorithm = KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
                MaximumNumberOfIterations = 300,
            }).Fit(standardized);
            var metrics = ml.Clustering.Evaluate(kmeans.Transform(standardized), featureColumnName: "Features");
            candidates.Add(new ClusterCount(k, Math.Round(metrics.DaviesBouldinIndex, 6), Math.Round(metrics.AverageDistance, 6)));
            if (metrics.DaviesBouldinIndex < bestIndex)
            {
                (best, bestIndex) = (kmeans, metrics.DaviesBouldinIndex);
            }
        }

        var model = prepared.Append(best!);
        var clusters = ml.Data.CreateEnumerable<ClusterRow>(model.Transform(data), reuseRowObject: false).Select(r => (int)r.PredictedLabel).ToList();
        var chosen = candidates.Single(c => c.DaviesBouldin == Math.Round(bestIndex, 6)).K;
        var profiles = Profiles(vectors, clusters, chosen, featurizer, terminology);

        var entry = Path.Combine(registry, Folder);
        var (version, folder) = ModelRegistry.NewVersion(entry);
        ml.Model.Save(model, data.Schema, Path.Combine(folder, "model.zip"));
        var manifest = new PhenotypeManifest(version, chosen, "lowest Davies–Bouldin index among k = 3…8", [.. candidates], featurizer.Names, profiles,
            provenance, trainedAt);
        File.WriteAllText(Path.Combine(folder, "bundle.json"), JsonSerializer.Serialize(manifest, ModelRegistry.Json));
        File.WriteAllText(Path.Combine(folder, "profiles.md"), Readable(manifest, sample.Count));
        ModelRegistry.MakeCurrent(entry, version);
        return manifest;
    }

    private static string Readable(PhenotypeManifest manifest, int patients)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var text = new System.Text.StringBuilder();
        text.AppendLine(ci, $"# Phenotypes {manifest.Version}: {manifest.K} groups of {patients:N0} patients");
        text.AppendLine();
        text.Append(ci, $"K-Means over standardized features at each patient's last recorded activity; k chosen by the {manifest.Criterion} ");
        text.Append(ci, $"({string.Join(", ", manifest.Candidates.Select(c => string.Create(ci, $"k={c.K}: {c.DaviesBouldin:0.000}")))}).");
        text.AppendLine(manifest.Provenance.Synthetic ? " Trained on synthetic patients." : "");
        foreach (var profile in manifest.Profiles)
        {
            text.AppendLine();
            text.AppendLine(ci, $"## {profile.Id}. {profile.Patients:N0} patients ({profile.Share:P0})");
            foreach (var trait in profile.Traits)
            {
                text.AppendLine(ci, $"- {trait.Text} ({trait.StandardizedDifference:+0.0;−0.0} SD)");
            }
        }

        return text.ToString();
    }

    private static ImmutableArray<PhenotypeProfile> Profiles(List<float[]> vectors, List<int> clusters, int k, Featurizer featurizer,
        ClinicalTerminology terminology)
    {
        var wording = new FeatureWording(featurizer.Schema, terminology);
        var width = featurizer.Width;
        var (overallMean, overallSd) = Moments(vectors, width);
        var profiles = ImmutableArray.CreateBuilder<PhenotypeProfile>();
        for (var c = 1; c <= k; c++)
        {
            var members = vectors.Where((_, i) => clusters[i] == c).ToList();
            if (members.Count == 0)
            {
                continue;
            }

            var (mean, _) = Moments(members, width);
            var traits = Enumerable.Range(0, width)
                .Where(f => overallSd[f] > 0 && !double.IsNaN(mean[f]) && !featurizer.Names[f].EndsWith("_missing", StringComparison.Ordinal))
                .Select(f => (Feature: f, Difference: (mean[f] - overallMean[f]) / overallSd[f]))
                .OrderByDescending(x => Math.Abs(x.Difference))
                .Take(5)
                .Select(x => new PhenotypeTrait(featurizer.Names[x.Feature], wording.DescribeMean(x.Feature, mean[x.Feature], overallMean[x.Feature]),
                    Math.Round(mean[x.Feature], 4), Math.Round(overallMean[x.Feature], 4), Math.Round(x.Difference, 3)))
                .ToImmutableArray();
            var name = string.Join("; ", traits.Take(2).Select(t => t.Text));
            profiles.Add(new PhenotypeProfile(c, name, members.Count, Math.Round(members.Count / (double)vectors.Count, 4), traits));
        }

        return profiles.ToImmutable();
    }

    // Means and standard deviations over the values present (NaN is missing).
    private static (double[] Mean, double[] Sd) Moments(List<float[]> vectors, int width)
    {
        var sum = new double[width];
        var squares = new double[width];
        var count = new int[width];
        foreach (var v in vectors)
        {
            for (var f = 0; f < width; f++)
            {
                if (!float.IsNaN(v[f]))
                {
                    sum[f] += v[f];
                    squares[f] += (double)v[f] * v[f];
                    count[f]++;
                }
            }
        }

        var mean = new double[width];
        var sd = new double[width];
        for (var f = 0; f < width; f++)
        {
            mean[f] = count[f] == 0 ? double.NaN : sum[f] / count[f];
            sd[f] = count[f] < 2 ? 0 : Math.Sqrt(Math.Max(0, (squares[f] / count[f]) - (mean[f] * mean[f])));
        }

        return (mean, sd);
    }
}

/// <summary>A saved phenotype model: which cluster a patient falls in, and its profile.</summary>
public sealed class PhenotypeModel : IDisposable
{
    private readonly MLContext _ml = new();
    private readonly ITransformer _model;

    private readonly ThreadLocal<PredictionEngine<ModelRow, ClusterRow>> _engines;

    private PhenotypeModel(PhenotypeManifest manifest, ITransformer model)
    {
        Manifest = manifest;
        _model = model;
        _engines = new(() => _ml.Model.CreatePredictionEngine<ModelRow, ClusterRow>(_model, inputSchemaDefinition: ModelRow.Schema(Manifest.FeatureNames.Length)),
            trackAllValues: true);
    }

    public void Dispose()
    {
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
        }

        _engines.Dispose();
    }

    /// <summary>The cluster (1…k) of one feature vector (a prediction engine per thread).</summary>
    public int Assign(float[] vector) => (int)_engines.Value!.Predict(new ModelRow { Features = vector }).PredictedLabel;

    public PhenotypeManifest Manifest { get; }

    public static PhenotypeModel Load(string folder)
    {
        var manifest = JsonSerializer.Deserialize<PhenotypeManifest>(File.ReadAllText(Path.Combine(folder, "bundle.json")), ModelRegistry.Json)
            ?? throw new InvalidDataException($"{folder}/bundle.json is JSON null.");
        using var stream = File.OpenRead(Path.Combine(folder, "model.zip"));
        return new PhenotypeModel(manifest, new MLContext().Model.Load(stream, out _));
    }

    /// <summary>The cluster (1…k) of each feature vector.</summary>
    public int[] Assign(IReadOnlyList<float[]> vectors)
    {
        var data = _ml.Data.LoadFromEnumerable(vectors.Select(v => new ModelRow { Features = v }), ModelRow.Schema(Manifest.FeatureNames.Length));
        return [.. _ml.Data.CreateEnumerable<ClusterRow>(_model.Transform(data), reuseRowObject: false).Select(r => (int)r.PredictedLabel)];
    }
}

using System.IO.Compression;
using System.Numerics;
using System.Runtime.InteropServices;

namespace HealthRec.ML.Recommendation;

/// <summary>What the most similar patients' clinicians did with one medicine, and what followed.</summary>
/// <param name="Neighbours">How many similar patients were looked at (k).</param>
/// <param name="Started">How many of them were started on it at that visit.</param>
/// <param name="Helped">How many of those saw its response analyte fall by 5 % or more.</param>
/// <param name="MeanChange">The mean relative change of the response analyte among those started and measured (NaN if none).</param>
/// <param name="Measured">How many of those started had the response analyte measured again: what the mean is over.</param>
public readonly record struct NeighbourEvidence(int Neighbours, int Started, int Helped, double MeanChange, int Measured)
{
    /// <summary>The collaborative score: a start that helped counts 1, a start that did not (or was not measured) ½, out of k.</summary>
    public double Score => Neighbours == 0 ? 0 : (Helped + (0.5 * (Started - Helped))) / Neighbours;

    /// <summary>The reason a clinician reads; <paramref name="analyte"/> is the response analyte's title, as written.</summary>
    public string Text(string? analyte)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"of the {Neighbours} most similar patients in the training population who were started on a medicine, {Started} {(Started == 1 ? "was" : "were")} started on this one");
        return analyte is not null && !double.IsNaN(MeanChange)
            ? text + string.Create(CultureInfo.InvariantCulture,
                $"; {analyte} measured again in {Measured} of them: changed {MeanChange:+0%;−0%} on average, falling ≥ 5 % in {Helped}")
            : text;
    }
}

/// <summary>
/// The collaborative signal: nearest neighbours in standardized feature space. Each reference point is a patient of
/// the training population at a visit where a catalog medicine was started, with what was started and whether it
/// helped (<see cref="TreatmentHistory"/>).
/// Columns are standardized by the reference set's mean and standard deviation; a missing value becomes the mean (0
/// after standardizing) and the schema's missingness indicators carry the fact that it was missing. Distances are
/// Euclidean; ties go to the earlier point, so answers are deterministic. Saved without patient identifiers.
/// </summary>
public sealed class NeighbourIndex
{
    private const string Magic = "HRNN1";
    private readonly float[] _mean;
    private readonly float[] _scale;
    private readonly float[] _points;
    private readonly byte[] _grades;
    private readonly float[] _changes;
    private readonly int[]? _groups;

    private NeighbourIndex(ImmutableArray<string> items, int k, float[] mean, float[] scale, float[] points, byte[] grades, float[] changes, int[]? groups)
    {
        Items = items;
        K = k;
        _mean = mean;
        _scale = scale;
        _points = points;
        _grades = grades;
        _changes = changes;
        _groups = groups;
        Dimensions = mean.Length;
        Count = points.Length / mean.Length;
    }

    /// <summary>The catalog medicines, in the order of <see cref="Score"/>'s answer.</summary>
    public ImmutableArray<string> Items { get; }

    public int K { get; }

    public int Count { get; }

    public int Dimensions { get; }

    /// <summary>Builds the index; <paramref name="groups"/> (one per point, e.g. the patient) let training leave a patient's own points out.</summary>
    public static NeighbourIndex Build(IReadOnlyList<float[]> features, IReadOnlyList<Followed[]> followed, IReadOnlyList<int> groups, IReadOnlyList<string> items, int k)
    {
        if (features.Count == 0)
        {
            throw new ArgumentException("The neighbour index needs at least one reference point.", nameof(features));
        }

        var d = features[0].Length;
        var mean = new float[d];
        var scale = new float[d];
        for (var c = 0; c < d; c++)
        {
            double sum = 0, squares = 0;
            var n = 0;
            foreach (var row in features)
            {
                if (!float.IsNaN(row[c]))
                {
                    sum += row[c];
                    squares += (double)row[c] * row[c];
                    n++;
                }
            }

            var m = n == 0 ? 0 : sum / n;
            var variance = n < 2 ? 0 : (squares - (n * m * m)) / (n - 1);
            mean[c] = (float)m;
            scale[c] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }

        var points = new float[features.Count * d];
        var grades = new byte[features.Count * items.Count];
        var changes = new float[features.Count * items.Count];
        for (var i = 0; i < features.Count; i++)
        {
            Standardize(features[i], mean, scale, points.AsSpan(i * d, d));
            for (var j = 0; j < items.Count; j++)
            {
                grades[(i * items.Count) + j] = (byte)followed[i][j].Grade;
                changes[(i * items.Count) + j] = (float)followed[i][j].ResponseChange;
            }
        }

        return new NeighbourIndex([.. items], k, mean, scale, points, grades, changes, [.. groups]);
    }

    /// <summary>For each medicine (in <see cref="Items"/> order), what followed in the k nearest reference points, leaving out the points of <paramref name="excludeGroup"/>.</summary>
    public NeighbourEvidence[] Score(float[] features, int excludeGroup = -1)
    {
        Span<float> query = Dimensions <= 256 ? stackalloc float[Dimensions] : new float[Dimensions];
        Standardize(features, _mean, _scale, query);
        var k = Math.Min(K, Count);
        Span<float> bestDistance = stackalloc float[k];
        Span<int> bestIndex = stackalloc int[k];
        var found = 0;
        for (var i = 0; i < Count; i++)
        {
            if (_groups is not null && excludeGroup >= 0 && _groups[i] == excludeGroup)
            {
                continue;
            }

            var distance = SquaredDistance(query, _points.AsSpan(i * Dimensions, Dimensions));
            if (found == k && distance >= bestDistance[k - 1])
            {
                continue;
            }

            // Insertion into the sorted best-k (strictly closer moves ahead, so ties keep the earlier point).
            var at = found < k ? found++ : k - 1;
            while (at > 0 && bestDistance[at - 1] > distance)
            {
                bestDistance[at] = bestDistance[at - 1];
                bestIndex[at] = bestIndex[at - 1];
                at--;
            }

            bestDistance[at] = distance;
            bestIndex[at] = i;
        }

        var items = Items.Length;
        var evidence = new NeighbourEvidence[items];
        for (var j = 0; j < items; j++)
        {
            int started = 0, helped = 0, measured = 0;
            double change = 0;
            for (var n = 0; n < found; n++)
            {
                var cell = (bestIndex[n] * items) + j;
                if (_grades[cell] > 0)
                {
                    started++;
                    helped += _grades[cell] == 2 ? 1 : 0;
                    if (!float.IsNaN(_changes[cell]))
                    {
                        measured++;
                        change += _changes[cell];
                    }
                }
            }

            evidence[j] = new NeighbourEvidence(found, started, helped, measured == 0 ? double.NaN : change / measured, measured);
        }

        return evidence;
    }

    public void Save(string path)
    {
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.SmallestSize);
        using var writer = new BinaryWriter(zip);
        writer.Write(Magic);
        writer.Write(Dimensions);
        writer.Write(Count);
        writer.Write(K);
        writer.Write(Items.Length);
        foreach (var item in Items)
        {
            writer.Write(item);
        }

        writer.Write(MemoryMarshal.AsBytes(_mean.AsSpan()));
        writer.Write(MemoryMarshal.AsBytes(_scale.AsSpan()));
        writer.Write(MemoryMarshal.AsBytes(_points.AsSpan()));
        writer.Write(_grades);
        writer.Write(MemoryMarshal.AsBytes(_changes.AsSpan()));
    }

    public static NeighbourIndex Load(string path)
    {
        using var file = File.OpenRead(path);
        using var zip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new BinaryReader(zip);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException($"{path} is not a HealthRec neighbour index.");
        }

        var (d, count, k, itemCount) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        var items = Enumerable.Range(0, itemCount).Select(_ => reader.ReadString()).ToImmutableArray();
        float[] Floats(int n)
        {
            var values = new float[n];
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            return values;
        }

        var mean = Floats(d);
        var scale = Floats(d);
        var points = Floats(count * d);
        var grades = reader.ReadBytes(count * itemCount);
        var changes = Floats(count * itemCount);
        return new NeighbourIndex(items, k, mean, scale, points, grades, changes, groups: null);
    }

    private static void Standardize(ReadOnlySpan<float> row, ReadOnlySpan<float> mean, ReadOnlySpan<float> scale, Span<float> into)
    {
        for (var c = 0; c < mean.Length; c++)
        {
            into[c] = float.IsNaN(row[c]) ? 0 : (row[c] - mean[c]) / scale[c];
        }
    }

    private static float SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = Vector<float>.Zero;
        var i = 0;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var difference = new Vector<float>(a[i..]) - new Vector<float>(b[i..]);
            sum += difference * difference;
        }

        var total = Vector.Sum(sum);
        for (; i < a.Length; i++)
        {
            var difference = a[i] - b[i];
            total += difference * difference;
        }

        return total;
    }
}

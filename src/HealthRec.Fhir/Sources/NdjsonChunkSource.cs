namespace HealthRec.Fhir.Sources;

/// <summary>
/// One chunk of an <see cref="NdjsonIndex"/>: its patients' lines read in place from the source files (memory-mapped)
/// and parsed a patient at a time (or on every core, <see cref="ParallelParse"/>), yielded in patient order.
/// <paramref name="source"/> is the source as this node sees it (the folder or file the index was made from); each
/// file is checked against the index's fingerprint before it is read.
/// </summary>
public sealed class NdjsonChunkSource(string source, string indexFolder, int chunk, NdjsonSourceOptions? options = null) : IPatientSource
{
    private readonly NdjsonSourceOptions _options = options ?? new NdjsonSourceOptions();

    /// <summary>
    /// Parse patients on every core (in order still). Off by default: a scoring node runs a chunk per core already;
    /// a reader with one consumer (training, <c>healthrec features</c>) turns it on.
    /// </summary>
    public bool ParallelParse { get; init; }

    public async IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var manifest = NdjsonIndex.ReadManifest(indexFolder);
        if (chunk < 0 || chunk >= manifest.Chunks)
        {
            throw new InvalidOperationException($"Chunk {chunk} is not one of the index's {manifest.Chunks} chunks.");
        }

        var lines = await ReadEntriesAsync(cancellationToken);
        var files = new SharedMappings.Lease?[manifest.Files.Length];
        var origin = Path.GetFileName(Path.TrimEndingDirectorySeparator(source));
        try
        {
            // Every file is opened (and checked) before the first patient: parallel parses then only read.
            for (var i = 0; i < files.Length; i++)
            {
                files[i] = Open(manifest, i);
            }

            var patients = lines.OrderBy(kv => kv.Key, StringComparer.Ordinal);
            var groups = ParallelParse
                ? patients.AsParallel().AsOrdered().WithCancellation(cancellationToken).SelectMany(p => Parse(p.Key, p.Value))
                : patients.SelectMany(p =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return Parse(p.Key, p.Value);
                });
            foreach (var group in groups)
            {
                yield return group;
            }
        }
        finally
        {
            foreach (var file in files)
            {
                file?.Dispose();
            }
        }

        IEnumerable<PatientResources> Parse(string patient, List<Entry> entries)
        {
            var grouping = new PatientGrouping(report);
            foreach (var entry in entries)
            {
                var segment = manifest.Segments[entry.Segment];
                grouping.AddParsed(patient, files[segment.File]!.File.Span(entry.Offset, entry.Length),
                    NdjsonSource.Where(manifest.Files[segment.File].Name, segment.FirstLine + entry.Line - 1), _options.Parsing);
            }

            return grouping.Drain(origin);
        }
    }

    // The chunk's entries from every scanning thread's file, by patient, each patient's in source order.
    private async Task<Dictionary<string, List<Entry>>> ReadEntriesAsync(CancellationToken cancellationToken)
    {
        var byPatient = new Dictionary<string, List<Entry>>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(indexFolder, $"chunk-{chunk:D4}.*.idx"))
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
            var keys = new List<List<Entry>>();
            while (reader.BaseStream.Position < bytes.Length)
            {
                var number = reader.Read7BitEncodedInt();
                if (number == keys.Count)
                {
                    var patient = reader.ReadString();
                    if (!byPatient.TryGetValue(patient, out var list))
                    {
                        byPatient[patient] = list = [];
                    }

                    keys.Add(list);
                }

                keys[number].Add(new Entry(reader.Read7BitEncodedInt(), reader.Read7BitEncodedInt64(), reader.Read7BitEncodedInt(), reader.Read7BitEncodedInt()));
            }
        }

        foreach (var list in byPatient.Values)
        {
            list.Sort();
        }

        return byPatient;
    }

    private SharedMappings.Lease Open(NdjsonIndex.Manifest manifest, int index)
    {
        var described = manifest.Files[index];
        var folder = File.Exists(source) ? Path.GetDirectoryName(Path.GetFullPath(source))! : source;
        var path = described.Unpacked ? Path.Combine(indexFolder, NdjsonIndex.UnpackedFolder, described.Name) : Path.Combine(folder, described.Name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{described.Name}, indexed for this run, is not at {path} on this node.");
        }

        var lease = SharedMappings.Acquire(path);
        if (lease.File.Length != described.Length || !string.Equals(lease.Fingerprint, described.Fingerprint, StringComparison.Ordinal))
        {
            lease.Dispose();
            throw new InvalidOperationException($"{described.Name} is not the file this run's index was made from (its length or content differs); start a new run.");
        }

        return lease;
    }

    // Sorted by segment then offset: the order of the source, file by file.
    private readonly record struct Entry(int Segment, long Offset, int Length, int Line) : IComparable<Entry>
    {
        public int CompareTo(Entry other) => Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);
    }
}

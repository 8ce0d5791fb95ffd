using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace HealthRec.Fhir.Sources;

/// <summary>
/// A population's NDJSON split into chunks of patients without copying it. <see cref="WriteAsync"/> reads every line
/// once, in byte ranges on every core, for the patient it is about (a light scan, no FHIR parse) and writes, per chunk,
/// where each of the chunk's lines is: file, offset, length, line number, patient. A chunk is then read in place
/// (<see cref="NdjsonChunkSource"/>) through a memory map of the source files. Gzipped files are unpacked once into
/// the index folder, since a compressed file cannot be read at an offset.
/// </summary>
public static class NdjsonIndex
{
    /// <summary>The index's description of the source: its files (with a fingerprint each) and its byte ranges.</summary>
    public const string ManifestFile = "index.json";

    /// <summary>Where gzipped source files are unpacked, inside the index folder.</summary>
    public const string UnpackedFolder = "unpacked";

    /// <summary>
    /// Indexes the NDJSON at <paramref name="source"/> (a file, or a folder's <c>*.ndjson</c> and <c>*.ndjson.gz</c>)
    /// into <paramref name="folder"/> for <paramref name="chunks"/> chunks, replacing any index there. Every line goes
    /// to the chunk of its patient (<see cref="NdjsonSource.ChunkOf"/>); lines that name no patient, are not JSON or
    /// are too long are reported with their file and line and left out. Returns the patients of each chunk.
    /// </summary>
    public static async Task<int[]> WriteAsync(string source, string folder, int chunks, IngestionReport report, CancellationToken cancellationToken,
        NdjsonSourceOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        options ??= new NdjsonSourceOptions();
        Directory.CreateDirectory(folder);
        foreach (var old in Directory.EnumerateFiles(folder, "*.idx").Append(Path.Combine(folder, ManifestFile)).Where(File.Exists))
        {
            File.Delete(old);
        }

        var files = await SourceFilesAsync(source, folder, cancellationToken);
        // Mapped through the process's shared maps: chunk jobs on this node then find the pages mapped and the
        // fingerprints made.
        var leases = new SharedMappings.Lease[files.Count];
        try
        {
            for (var f = 0; f < files.Count; f++)
            {
                leases[f] = SharedMappings.Acquire(files[f].Path);
            }

            var mapped = leases.Select(l => l.File).ToArray();
            var segments = new List<Segment>();
            for (var f = 0; f < mapped.Length; f++)
            {
                for (var start = 0L; start < mapped[f].Length; start += options.SegmentBytes)
                {
                    segments.Add(new Segment(f, start, Math.Min(mapped[f].Length, start + options.SegmentBytes)));
                }
            }

            var lines = new int[segments.Count];
            var problems = new ConcurrentBag<(int Segment, int Line, NdjsonSource.LineKey Key)>();
            var writers = new ConcurrentBag<PartWriter>();
            var part = 0;
            var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
            try
            {
                Parallel.For(0, segments.Count, parallel,
                    () => new PartWriter(folder, Interlocked.Increment(ref part), chunks),
                    (s, _, writer) =>
                    {
                        lines[s] = Scan(mapped[segments[s].File], segments[s], s, options.MaxLineBytes, writer, problems);
                        return writer;
                    },
                    writers.Add);
            }
            catch
            {
                // Cancelled or failed: the files are closed; a repeated start replaces them.
                foreach (var writer in writers)
                {
                    writer.Dispose();
                }

                throw;
            }

            var patients = new HashSet<string>[chunks];
            for (var c = 0; c < chunks; c++)
            {
                patients[c] = new HashSet<string>(StringComparer.Ordinal);
            }

            foreach (var writer in writers)
            {
                writer.Complete(patients);
            }

            // Line numbers count from each file's first line: a range's first is known once the ranges before it are.
            var firstLines = new int[segments.Count];
            for (var s = 0; s < segments.Count; s++)
            {
                firstLines[s] = s > 0 && segments[s - 1].File == segments[s].File ? firstLines[s - 1] + lines[s - 1] : 1;
            }

            foreach (var (s, line, key) in problems.OrderBy(p => p.Segment).ThenBy(p => p.Line))
            {
                key.Report(report, NdjsonSource.Where(files[segments[s].File].Name, firstLines[s] + line - 1));
            }

            var manifest = new Manifest(chunks, [.. files.Select((f, i) => new IndexedFile(f.Name, f.Unpacked, mapped[i].Length, leases[i].Fingerprint))],
                [.. segments.Select((s, i) => new IndexedSegment(s.File, s.Start, firstLines[i]))]);
            await File.WriteAllTextAsync(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(manifest), cancellationToken);
            return [.. patients.Select(p => p.Count)];
        }
        finally
        {
            foreach (var lease in leases)
            {
                lease?.Dispose();
            }
        }
    }

    // Every line starting in [Start, End) of the segment, keyed and written to its chunk; returns how many lines start there.
    private static int Scan(MappedFile file, Segment segment, int index, int maxLineBytes, PartWriter writer,
        ConcurrentBag<(int, int, NdjsonSource.LineKey)> problems)
    {
        // The segment's first line starts after the first newline before its start (a line belongs where it starts).
        var at = segment.Start;
        if (at > 0)
        {
            at = NextNewline(file, at - 1) + 1;
        }

        var line = 0;
        while (at < segment.End)
        {
            line++;
            var window = file.Span(at, (int)Math.Min(file.Length - at, maxLineBytes + 1L));
            var newline = window.IndexOf((byte)'\n');
            var length = newline >= 0 ? newline : window.Length;
            if (length > maxLineBytes)
            {
                // The rest of the line lies beyond the window; the next line starts after its newline.
                var rest = NextNewline(file, at + window.Length);
                problems.Add((index, line, new NdjsonSource.LineKey(null, null, ProblemKind.LineTooLong,
                    string.Create(CultureInfo.InvariantCulture, $"line of {rest - at:N0} bytes exceeds the limit of {maxLineBytes:N0}; skipped"))));
                at = rest + 1;
                continue;
            }

            var json = window[..length];
            if (!json.IsEmpty && json.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                var key = NdjsonSource.KeyOf(json);
                if (key.Patient is not null)
                {
                    writer.Add(key.Patient, index, at, length, line);
                }
                else
                {
                    problems.Add((index, line, key));
                }
            }

            at += length + 1;
        }

        return line;
    }

    // The position of the first newline at or after `from`, or the file's length when there is none.
    private static long NextNewline(MappedFile file, long from)
    {
        while (from < file.Length)
        {
            var window = file.Span(from, (int)Math.Min(file.Length - from, 1 << 20));
            var newline = window.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return from + newline;
            }

            from += window.Length;
        }

        return file.Length;
    }

    // The source's files as the index names them; gzipped ones unpacked into the index folder first (in parallel).
    private static async Task<List<SourceFile>> SourceFilesAsync(string source, string folder, CancellationToken cancellationToken)
    {
        var files = File.Exists(source) ? [Path.GetFullPath(source)] : NdjsonSource.Files(source);
        var unpacked = Path.Combine(folder, UnpackedFolder);
        if (Directory.Exists(unpacked))
        {
            Release(unpacked);
            Directory.Delete(unpacked, recursive: true);
        }

        var result = files.Select(f => f.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new SourceFile(Path.GetFileName(f)[..^3], true, Path.Combine(unpacked, Path.GetFileName(f)[..^3]), f)
            : new SourceFile(Path.GetFileName(f), false, f, f)).ToList();
        if (result.Any(f => f.Unpacked))
        {
            Directory.CreateDirectory(unpacked);
            await Parallel.ForEachAsync(result.Where(f => f.Unpacked), cancellationToken, async (file, ct) =>
            {
                await using var input = new GZipStream(new FileStream(file.Original, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), CompressionMode.Decompress);
                await using var output = new FileStream(file.Path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                await input.CopyToAsync(output, ct);
            });
        }

        return result;
    }

    /// <summary>
    /// Lets go of this process's unused memory maps of files under <paramref name="folder"/> (an index's unpacked
    /// files, before the folder is deleted: a mapped file's space is freed only when its map goes).
    /// </summary>
    public static void Release(string folder) => SharedMappings.DropUnder(folder);

    /// <summary>The first and last 64 KB of a file with its length: enough to tell that a chunk reads the file the index was made from.</summary>
    internal static string Fingerprint(MappedFile file)
    {
        var edge = (int)Math.Min(file.Length, 64 * 1024);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(file.Length));
        hash.AppendData(file.Span(0, edge));
        hash.AppendData(file.Span(file.Length - edge, edge));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    internal static string PartFile(int chunk, int part) => string.Create(CultureInfo.InvariantCulture, $"chunk-{chunk:D4}.{part}.idx");

    internal static Manifest ReadManifest(string folder)
    {
        var path = Path.Combine(folder, ManifestFile);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The chunk index in {folder} has no {ManifestFile}: the run's start job must index the source first.");
        }

        return JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path))
            ?? throw new InvalidOperationException($"The chunk index's {ManifestFile} in {folder} is empty.");
    }

    private readonly record struct Segment(int File, long Start, long End);

    private sealed record SourceFile(string Name, bool Unpacked, string Path, string Original);

    internal sealed record Manifest(int Chunks, IndexedFile[] Files, IndexedSegment[] Segments);

    internal sealed record IndexedFile(string Name, bool Unpacked, long Length, string Fingerprint);

    internal sealed record IndexedSegment(int File, long Start, int FirstLine);

    /// <summary>
    /// One scanning thread's index entries, a file per chunk it has lines for. An entry is the patient (its text the
    /// first time this file names it, a number after), the segment, the offset, the length and the line in the segment.
    /// </summary>
    private sealed class PartWriter(string folder, int part, int chunks) : IDisposable
    {
        private readonly BinaryWriter?[] _files = new BinaryWriter?[chunks];
        private readonly Dictionary<string, int>?[] _keys = new Dictionary<string, int>?[chunks];
        // Buffers for every chunk's file at once: bounded in all, so thousands of chunks stay within a few tens of MB.
        private readonly int _buffer = (int)Math.Clamp(16L * 1024 * 1024 / chunks, 4096, 1 << 16);

        public void Add(string patient, int segment, long offset, int length, int line)
        {
            var chunk = NdjsonSource.ChunkOf(patient, chunks);
            var file = _files[chunk] ??= new BinaryWriter(
                new FileStream(Path.Combine(folder, PartFile(chunk, part)), FileMode.Create, FileAccess.Write, FileShare.None, _buffer), Encoding.UTF8);
            var keys = _keys[chunk] ??= new Dictionary<string, int>(StringComparer.Ordinal);
            if (keys.TryGetValue(patient, out var number))
            {
                file.Write7BitEncodedInt(number);
            }
            else
            {
                keys[patient] = keys.Count;
                file.Write7BitEncodedInt(keys.Count - 1);
                file.Write(patient);
            }

            file.Write7BitEncodedInt(segment);
            file.Write7BitEncodedInt64(offset);
            file.Write7BitEncodedInt(length);
            file.Write7BitEncodedInt(line);
        }

        /// <summary>Closes the files, and adds the patients each chunk got to <paramref name="patients"/>.</summary>
        public void Complete(HashSet<string>[] patients)
        {
            Dispose();
            for (var c = 0; c < _keys.Length; c++)
            {
                if (_keys[c] is { } keys)
                {
                    patients[c].UnionWith(keys.Keys);
                }
            }
        }

        public void Dispose()
        {
            foreach (var file in _files)
            {
                file?.Dispose();
            }
        }
    }
}

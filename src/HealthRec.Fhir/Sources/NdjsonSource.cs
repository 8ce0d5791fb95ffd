namespace HealthRec.Fhir.Sources;

/// <summary>
/// FHIR Bulk Data NDJSON: a file, or every <c>*.ndjson</c> (or gzipped <c>*.ndjson.gz</c>) in a folder (<c>Patient.ndjson</c>,
/// <c>Observation.ndjson</c>, ...). Bulk files are split by type, not by patient, so lines are first grouped by
/// patient: in memory for small inputs, otherwise through an <see cref="NdjsonIndex"/> of chunks of about
/// <see cref="NdjsonSourceOptions.SpillBytes"/> each, read one chunk at a time in place. Memory stays bounded by the
/// chunk size, whatever the population.
/// </summary>
public sealed class NdjsonSource(string path, NdjsonSourceOptions? options = null) : IPatientSource
{
    private readonly NdjsonSourceOptions _options = options ?? new NdjsonSourceOptions();

    /// <summary>The file or folder read.</summary>
    internal string Input => path;

    internal NdjsonSourceOptions Options => _options;

    public async IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var files = File.Exists(path) ? [path] : Files(path);
        // A gzipped file is counted at a typical NDJSON compression ratio: the estimate only sizes the spill.
        var totalBytes = files.Sum(f => new FileInfo(f).Length * (IsGzip(f) ? 10 : 1));
        var buckets = (int)Math.Max(1, Math.Ceiling((double)totalBytes / _options.SpillBytes));
        if (buckets == 1)
        {
            var lines = new List<KeyedLine>();
            await foreach (var line in ScanAsync(files, report, cancellationToken))
            {
                lines.Add(line);
            }

            foreach (var group in Parse(lines, report))
            {
                yield return group;
            }

            yield break;
        }

        // Larger inputs are indexed into as many chunks (by the same hash as before: the same order of patients) and
        // read chunk by chunk in place: memory holds one chunk's line positions and the patients being parsed.
        var folder = Directory.CreateTempSubdirectory("healthrec-ndjson-");
        try
        {
            await NdjsonIndex.WriteAsync(path, folder.FullName, buckets, report, cancellationToken, _options);
            for (var chunk = 0; chunk < buckets; chunk++)
            {
                await foreach (var group in new NdjsonChunkSource(path, folder.FullName, chunk, _options) { ParallelParse = true }.ReadAsync(report, cancellationToken))
                {
                    yield return group;
                }
            }
        }
        finally
        {
            NdjsonIndex.Release(folder.FullName);
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The chunk a patient falls in: the same on every node and every run.</summary>
    public static int ChunkOf(string patientKey, int chunks) => (int)((uint)StableHash(patientKey) % (uint)chunks);

    /// <summary>
    /// How many patients the source holds: the lines of its Patient files (Bulk Data names its files by type), or,
    /// without such a file, the distinct patients of a light scan of every line.
    /// </summary>
    public async Task<int> CountPatientsAsync(IngestionReport report, CancellationToken cancellationToken)
    {
        var files = File.Exists(path) ? [path] : Files(path);
        var patientFiles = files.Where(f => Path.GetFileName(f).StartsWith("Patient.", StringComparison.Ordinal)).ToList();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var line in ScanAsync(patientFiles.Count > 0 ? patientFiles : files, report, cancellationToken))
        {
            keys.Add(line.PatientKey);
        }

        return keys.Count;
    }

    // Second step: full FHIR parse, one patient at a time, in a stable order (patients parsed in parallel, yielded in order).
    private ParallelQuery<PatientResources> Parse(List<KeyedLine> lines, IngestionReport report)
    {
        var origin = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        return lines.GroupBy(l => l.PatientKey, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .AsParallel().AsOrdered()
            .SelectMany(patient =>
            {
                var grouping = new PatientGrouping(report);
                foreach (var line in patient)
                {
                    grouping.AddParsed(patient.Key, line.Json.Span, line.Origin, _options.Parsing);
                }

                // A patient's resources come from several files: reports name the source, and the resource by type and id.
                return grouping.Drain(origin);
            });
    }

    // First step: every line of every file, with the patient it is about (a light JSON read, not a FHIR parse).
    private async IAsyncEnumerable<KeyedLine> ScanAsync(List<string> files, IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            await using var fileStream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
            await using var stream = IsGzip(file) ? new GZipStream(fileStream, CompressionMode.Decompress) : (Stream)fileStream;
            var lineNumber = 0;
            await foreach (var line in NdjsonLines.ReadAsync(stream, _options.MaxLineBytes, cancellationToken))
            {
                lineNumber++;
                if (line.TooLong)
                {
                    report.Problem(ProblemKind.LineTooLong, Where(name, lineNumber), $"line of {line.Length:N0} bytes exceeds the limit of {_options.MaxLineBytes:N0}; skipped");
                    continue;
                }

                if (line.Json.IsEmpty || line.Json.Span.IndexOfAnyExcept(" \t\r"u8) < 0)
                {
                    continue;
                }

                var key = KeyOf(line.Json.Span);
                if (key.Patient is not null)
                {
                    yield return new KeyedLine(key.Patient, name, lineNumber, line.Json);
                }
                else
                {
                    key.Report(report, Where(name, lineNumber));
                }
            }
        }
    }

    /// <summary>
    /// What a light read of one line found: the patient it is about, or why it has none (a problem to report, or a
    /// resource about no patient, counted as read and left out).
    /// </summary>
    internal readonly record struct LineKey(string? Patient, string? ResourceType = null, ProblemKind? Problem = null, string? Message = null)
    {
        public void Report(IngestionReport report, string where)
        {
            if (Patient is null && ResourceType is not null && !string.Equals(ResourceType, "Patient", StringComparison.Ordinal))
            {
                report.ResourceRead(ResourceType);
            }

            if (Problem is { } kind)
            {
                report.Problem(kind, where, Message ?? "");
            }
        }
    }

    // The patient a line is about, from its top-level members only (nested values are skipped, not built).
    internal static LineKey KeyOf(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            string? resourceType = null, id = null, subject = null, patient = null;
            var isObject = reader.Read() && reader.TokenType == JsonTokenType.StartObject;
            while (isObject && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("resourceType"u8))
                {
                    reader.Read();
                    resourceType = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("subject"u8))
                {
                    reader.Read();
                    subject = ReferenceOf(ref reader);
                    if (resourceType is not null && !string.Equals(resourceType, "Patient", StringComparison.Ordinal) && PatientReference.KeyOf(subject) is { } known)
                    {
                        // The subject decides (it comes before "patient"): the rest of the line need not be read here
                        // (the full parse reads it, and reports what is wrong in it).
                        return new LineKey(known);
                    }
                }
                else if (reader.ValueTextEquals("patient"u8))
                {
                    reader.Read();
                    patient = ReferenceOf(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (resourceType is null)
            {
                return new LineKey(null, null, ProblemKind.InvalidResource, "not a FHIR resource (no resourceType)");
            }

            if (string.Equals(resourceType, "Patient", StringComparison.Ordinal))
            {
                return id is { Length: > 0 } ? new LineKey(id) : Missing(resourceType);
            }

            if ((PatientReference.KeyOf(subject) ?? PatientReference.KeyOf(patient)) is { } key)
            {
                return new LineKey(key);
            }

            // A resource about no patient (an Organization, say) is counted as read; a clinical one is a problem.
            return IsClinical(resourceType) ? Missing(resourceType) : new LineKey(null, resourceType);
        }
        catch (JsonException ex)
        {
            return new LineKey(null, null, ProblemKind.MalformedJson, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // A string that is not valid Unicode (an escaped lone surrogate): the line cannot be read.
            return new LineKey(null, null, ProblemKind.MalformedJson, ex.Message);
        }

        static LineKey Missing(string resourceType) => new(null, resourceType, ProblemKind.MissingPatientReference, $"{resourceType} names no patient");
    }

    // The "reference" of a Reference object the reader is on; anything else is skipped.
    private static string? ReferenceOf(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        string? reference = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isReference = reader.ValueTextEquals("reference"u8);
            reader.Read();
            if (isReference && reader.TokenType == JsonTokenType.String)
            {
                reference = reader.GetString();
            }

            reader.Skip();
        }

        return reference;
    }

    /// <summary>The NDJSON files of a folder, plain (<c>*.ndjson</c>) or gzipped (<c>*.ndjson.gz</c>), in name order.</summary>
    public static List<string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*.ndjson").Concat(Directory.EnumerateFiles(folder, "*.ndjson.gz")).Order(StringComparer.Ordinal).ToList();

    private static bool IsGzip(string file) => file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    private static bool IsClinical(string resourceType) => resourceType is "Observation" or "Condition" or "MedicationStatement"
        or "MedicationRequest" or "Encounter" or "QuestionnaireResponse" or "DiagnosticReport" or "AllergyIntolerance" or "Procedure";

    // FNV-1a: string.GetHashCode is randomized per process, and spill placement should be reproducible.
    private static int StableHash(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)hash;
    }

    /// <summary>Where a line is, as reports name it: <c>file:line</c>.</summary>
    internal static string Where(string file, int lineNumber) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{file}:{lineNumber}");

    // Where a line came from is kept as file and number, and written out only when a report needs it.
    private sealed record KeyedLine(string PatientKey, string File, int LineNumber, ReadOnlyMemory<byte> Json)
    {
        public string Origin => Where(File, LineNumber);
    }
}

public sealed record NdjsonSourceOptions
{
    /// <summary>Lines longer than this are skipped and reported, without being held in memory.</summary>
    public int MaxLineBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Inputs larger than this are indexed into chunks of about this much NDJSON each, read one at a time.</summary>
    public long SpillBytes { get; init; } = 64L * 1024 * 1024;

    public FhirParsing Parsing { get; init; } = FhirParsing.Fast;

    /// <summary>The byte ranges an <see cref="NdjsonIndex"/> scans in parallel (small in tests, to put lines across their edges).</summary>
    internal long SegmentBytes { get; init; } = 32L * 1024 * 1024;
}

/// <summary>Splits a stream into lines of bytes, never buffering more than the line limit.</summary>
internal static class NdjsonLines
{
    public readonly record struct Line(ReadOnlyMemory<byte> Json, bool TooLong, long Length);

    public static async IAsyncEnumerable<Line> ReadAsync(Stream stream, int maxLineBytes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(1 << 20);
        var line = new ArrayBufferWriter<byte>();
        long length = 0;
        var tooLong = false;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk.AsMemory(), cancellationToken)) > 0)
            {
                var span = chunk.AsMemory(0, read);
                while (!span.IsEmpty)
                {
                    var newline = span.Span.IndexOf((byte)'\n');
                    var part = newline < 0 ? span : span[..newline];
                    length += part.Length;
                    if (!tooLong && line.WrittenCount + part.Length > maxLineBytes)
                    {
                        tooLong = true;
                        line.ResetWrittenCount();
                    }

                    if (!tooLong)
                    {
                        line.Write(part.Span);
                    }

                    if (newline < 0)
                    {
                        break;
                    }

                    yield return new Line(line.WrittenMemory.ToArray(), tooLong, length);
                    line.ResetWrittenCount();
                    length = 0;
                    tooLong = false;
                    span = span[(newline + 1)..];
                }
            }

            if (length > 0)
            {
                yield return new Line(line.WrittenMemory.ToArray(), tooLong, length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}

namespace HealthRec.Fhir.Tests;

/// <summary>
/// A population indexed into chunks and read in place reads exactly what the whole source reads: every patient once,
/// the same records, the same problems at the same lines, whatever byte ranges the scan was split into.
/// </summary>
public sealed class NdjsonIndexTests() : TempFolderTests("healthrec-index-")
{
    private async Task<string> GenerateAsync(string name, int patients, ulong seed)
    {
        var folder = Path.Combine(Folder.FullName, name);
        await new CohortGenerator(new CohortOptions { Patients = patients, Seed = seed }).WriteAsync(folder, SyntheticFormat.Ndjson, null, "test", Ct);
        return folder;
    }

    private static async Task<(List<PatientRecord> Records, List<IngestionProblem> Problems)> ReadAsync(IPatientSource source)
    {
        var problems = new ConcurrentBag<IngestionProblem>();
        var records = await Ingestion.ReadAllAsync(source, new IngestionReport(problems.Add));
        return (records, [.. problems]);
    }

    private async Task<(List<PatientRecord> Records, List<IngestionProblem> Problems, int[] PerChunk)> ReadChunksAsync(string source, int chunks,
        NdjsonSourceOptions options)
    {
        var index = Path.Combine(Folder.FullName, "index");
        var problems = new ConcurrentBag<IngestionProblem>();
        var perChunk = await NdjsonIndex.WriteAsync(source, index, chunks, new IngestionReport(problems.Add), Ct, options);
        var records = new List<PatientRecord>();
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            var read = await Ingestion.ReadAllAsync(new NdjsonChunkSource(source, index, chunk, options), new IngestionReport(problems.Add));
            Assert.Equal(perChunk[chunk], read.Count);
            Assert.All(read, r => Assert.Equal(chunk, NdjsonSource.ChunkOf(r.PatientId, chunks)));
            records.AddRange(read);
        }

        return (records, [.. problems], perChunk);
    }

    private static IEnumerable<string> Described(IEnumerable<PatientRecord> records) => records.Select(FastPathTests.Describe).Order(StringComparer.Ordinal);

    private static IEnumerable<string> Described(IEnumerable<IngestionProblem> problems) =>
        problems.Select(p => $"{p.Kind} at {p.Where}: {p.Message}").Order(StringComparer.Ordinal);

    [Fact]
    public async Task GivenNdjsonWithBadLines_WhenIndexedInSmallRangesAndReadByChunk_ThenRecordsAndProblemsAreThoseOfTheWholeSource()
    {
        var folder = await GenerateAsync("cohort", 60, 21);
        // Lines the scan itself must catch, each at a known line: not JSON, too long, about no patient, blank, not FHIR.
        var observations = Path.Combine(folder, "Observation.ndjson");
        var before = File.ReadLines(observations).Count();
        await File.AppendAllLinesAsync(observations,
        [
            """{"resourceType":"Observation","id":"cut","sta""",
            """{"resourceType":"Observation","id":"long","status":"final","note":[{"text":""" + "\"" + new string('x', 40_000) + "\"}]}",
            "",
            """{"resourceType":"Observation","id":"nobody","status":"final","code":{"text":"x"}}""",
            """{"resourceType":"Organization","id":"clinic"}""",
            """{"id":"typeless"}""",
        ], Ct);
        var options = new NdjsonSourceOptions { MaxLineBytes = 16 * 1024, SegmentBytes = 10_000 };

        var whole = await ReadAsync(new NdjsonSource(folder, options));
        // The whole source again, too large for memory at this setting: read through an index of its own, in chunks.
        var large = await ReadAsync(new NdjsonSource(folder, options with { SpillBytes = 500_000 }));
        // Indexed twice into one folder: the second index replaces the first (a repeated start job).
        await ReadChunksAsync(folder, 7, options);
        var chunked = await ReadChunksAsync(folder, 5, options);

        Assert.Equal(60, whole.Records.Count);
        Assert.Equal(60, chunked.PerChunk.Sum());
        Assert.Equal(60, chunked.Records.Select(r => r.PatientId).Distinct().Count());
        Assert.Equal(Described(whole.Records), Described(chunked.Records));
        Assert.Contains(whole.Problems, p => p.Kind == ProblemKind.MalformedJson && p.Where == $"Observation.ndjson:{before + 1}");
        Assert.Contains(whole.Problems, p => p.Kind == ProblemKind.LineTooLong && p.Where == $"Observation.ndjson:{before + 2}");
        Assert.Contains(whole.Problems, p => p.Kind == ProblemKind.MissingPatientReference && p.Where == $"Observation.ndjson:{before + 4}");
        Assert.Contains(whole.Problems, p => p.Kind == ProblemKind.InvalidResource && p.Where == $"Observation.ndjson:{before + 6}");
        // The generator's injected data-entry errors too, found by the parse and the mapper, at the same places.
        Assert.Contains(whole.Problems, p => p.Kind == ProblemKind.ImplausibleValue && p.Where.StartsWith("Observation/", StringComparison.Ordinal));
        Assert.Equal(Described(whole.Problems), Described(chunked.Problems));
        Assert.Equal(Described(whole.Records), Described(large.Records));
        Assert.Equal(Described(whole.Problems), Described(large.Problems));
    }

    [Fact]
    public async Task GivenOneNdjsonFileOfEveryType_WhenReadInChunks_ThenItReadsAsTheFolderItCameFrom()
    {
        var folder = await GenerateAsync("folder", 40, 23);
        var single = Path.Combine(Folder.FullName, "everything.ndjson");
        await File.WriteAllLinesAsync(single, NdjsonSource.Files(folder).SelectMany(File.ReadLines), Ct);
        var options = new NdjsonSourceOptions { SpillBytes = 400_000, SegmentBytes = 50_000 };

        var fromFolder = await ReadAsync(new NdjsonSource(folder));
        var fromFile = await ReadAsync(new NdjsonSource(single, options));

        Assert.Equal(40, fromFile.Records.Count);
        Assert.Equal(Described(fromFolder.Records), Described(fromFile.Records));
    }

    [Fact]
    public async Task GivenTheGzippedDemoSample_WhenIndexedAndReadByChunk_ThenItIsUnpackedOnceAndEveryPatientIsReadAsFromTheWholeSource()
    {
        var sample = Path.Combine(TestServices.RepositoryRoot, "data", "sample");
        var options = new NdjsonSourceOptions();

        var whole = await ReadAsync(new NdjsonSource(sample, options));
        var chunked = await ReadChunksAsync(sample, 3, options);

        Assert.Equal(300, whole.Records.Count);
        Assert.Equal(Described(whole.Records), Described(chunked.Records));
        var unpacked = Path.Combine(Folder.FullName, "index", NdjsonIndex.UnpackedFolder);
        Assert.Equal(NdjsonSource.Files(sample).Select(f => Path.GetFileName(f)[..^".gz".Length]), NdjsonSource.Files(unpacked).Select(Path.GetFileName));
    }

    [Fact]
    public async Task GivenNdjsonWithBadLines_WhenReadIndexedOnEveryCore_ThenRecordsAndProblemsAreThoseOfTheWholeSourceInTheSameOrderEachRun()
    {
        // What training and `score` read local NDJSON with: chunks mapped in parallel, results in chunk order.
        var folder = await GenerateAsync("indexed", 50, 24);
        var observations = Path.Combine(folder, "Observation.ndjson");
        await File.AppendAllLinesAsync(observations, ["{ not json", """{"resourceType":"Observation","id":"bad","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/nobody"},"valueQuantity":{"value":"six"}}"""], Ct);
        var mapper = Ingestion.Mapper();
        async Task<(List<string> Order, List<PatientRecord> Records, List<IngestionProblem> Problems)> IndexedAsync()
        {
            var problems = new ConcurrentBag<IngestionProblem>();
            var records = new List<PatientRecord>();
            var read = 0;
            await foreach (var record in Fhir.Ingestion.RecordReader.ReadEachAsync<PatientRecord>(new NdjsonSource(folder), mapper, new IngestionReport(problems.Add), r => [r],
                () => Interlocked.Increment(ref read), Ct))
            {
                records.Add(record);
            }

            Assert.Equal(records.Count, read);
            return ([.. records.Select(r => r.PatientId)], records, [.. problems]);
        }

        var whole = await ReadAsync(new NdjsonSource(folder));
        var first = await IndexedAsync();
        var second = await IndexedAsync();

        Assert.Equal(50, first.Records.Count);
        Assert.Equal(Described(whole.Records), Described(first.Records));
        Assert.Equal(Described(whole.Problems), Described(first.Problems));
        Assert.Contains(first.Problems, p => p.Kind == ProblemKind.MalformedJson);
        Assert.Equal(first.Order, second.Order);
    }

    [Fact]
    public async Task GivenASourceChangedAfterIndexing_WhenAChunkIsRead_ThenItRefusesWithAClearErrorInsteadOfReadingWrongLines()
    {
        var folder = await GenerateAsync("changed", 20, 22);
        var index = Path.Combine(Folder.FullName, "index");
        await NdjsonIndex.WriteAsync(folder, index, 2, new IngestionReport(), Ct);
        // Read once before the change: the process keeps the files mapped for the next chunk, and must notice the change.
        Assert.NotEmpty((await ReadAsync(new NdjsonChunkSource(folder, index, 0))).Records);
        var conditions = Path.Combine(folder, "Condition.ndjson");
        var bytes = await File.ReadAllBytesAsync(conditions, Ct);
        // Same length, one byte different: only the fingerprint can tell.
        bytes[10] = bytes[10] == (byte)'a' ? (byte)'b' : (byte)'a';
        await File.WriteAllBytesAsync(conditions, bytes, Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ReadAsync(new NdjsonChunkSource(folder, index, 0)));
        Assert.Contains("Condition.ndjson is not the file this run's index was made from", error.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => ReadAsync(new NdjsonChunkSource(folder, Path.Combine(Folder.FullName, "none"), 0)));
        Assert.Contains("no index.json", missing.Message, StringComparison.Ordinal);
    }
}

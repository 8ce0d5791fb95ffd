using HealthRec.Fhir.Sources;

namespace HealthRec.Fhir.Ingestion;

/// <summary>Any source, through the one mapper, to patient records: the path training, scoring and hooks share.</summary>
public static class RecordReader
{
    public static async IAsyncEnumerable<PatientRecord> ReadAsync(IPatientSource source, FhirRecordMapper mapper, IngestionReport report,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var group in source.ReadAsync(report, cancellationToken))
        {
            if (mapper.Map(group, report) is { } record)
            {
                yield return record;
            }
        }
    }

    /// <summary>
    /// Every record of a source, each turned by <paramref name="each"/> into what is yielded; <paramref name="read"/> is
    /// told of each patient mapped (for progress). Local NDJSON (<see cref="NdjsonSource"/>) is first indexed by patient
    /// (as the population-scoring job does), then read a chunk per core at once — chunks of about 64 MB, at least one per
    /// core — and what <paramref name="each"/> gives is yielded in chunk order, each chunk's patients in key order: the
    /// same order on every run. Any other source is read patient by patient. The cohort is never held whole unless the
    /// caller keeps it.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadEachAsync<T>(IPatientSource source, FhirRecordMapper mapper, IngestionReport report,
        Func<PatientRecord, IEnumerable<T>> each, Action? read, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (source is not NdjsonSource ndjson)
        {
            await foreach (var record in ReadAsync(source, mapper, report, cancellationToken))
            {
                read?.Invoke();
                foreach (var result in each(record))
                {
                    yield return result;
                }
            }

            yield break;
        }

        var files = File.Exists(ndjson.Input) ? [ndjson.Input] : NdjsonSource.Files(ndjson.Input);
        var bytes = files.Sum(f => new FileInfo(f).Length);
        var cores = Environment.ProcessorCount;
        var chunks = (int)Math.Max(cores, Math.Min(4096, bytes / (64L << 20)));
        var folder = Directory.CreateTempSubdirectory("healthrec-read-").FullName;
        try
        {
            await NdjsonIndex.WriteAsync(ndjson.Input, folder, chunks, report, cancellationToken, ndjson.Options);
            for (var first = 0; first < chunks; first += cores)
            {
                var batch = Enumerable.Range(first, Math.Min(cores, chunks - first)).ToArray();
                var results = new List<T>[batch.Length];
                await Parallel.ForEachAsync(Enumerable.Range(0, batch.Length), new ParallelOptions { MaxDegreeOfParallelism = cores, CancellationToken = cancellationToken },
                    async (slot, token) =>
                    {
                        var found = results[slot] = [];
                        await foreach (var record in ReadAsync(new NdjsonChunkSource(ndjson.Input, folder, batch[slot], ndjson.Options), mapper, report, token))
                        {
                            read?.Invoke();
                            found.AddRange(each(record));
                        }
                    });
                foreach (var result in results.SelectMany(r => r))
                {
                    yield return result;
                }
            }
        }
        finally
        {
            NdjsonIndex.Release(folder);
            Directory.Delete(folder, recursive: true);
        }
    }
}

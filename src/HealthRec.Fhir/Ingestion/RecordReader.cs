using System.Runtime.CompilerServices;
using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Records;
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
    /// Local NDJSON (a file or a folder), a chunk of patients at a time on every core: the lines are first indexed by
    /// patient (as the population-scoring job does), then as many chunks as there are cores are read, mapped and given
    /// to <paramref name="each"/> at once, and what it returns is yielded in chunk order, each chunk's patients in key
    /// order — the same order on every run. The cohort is never held whole unless the caller keeps it. Chunks of about
    /// 64 MB of NDJSON, at least one per core; <paramref name="read"/> is told of each patient mapped (for progress).
    /// </summary>
    public static async IAsyncEnumerable<T> ReadIndexedAsync<T>(string input, FhirRecordMapper mapper, IngestionReport report,
        Func<PatientRecord, IEnumerable<T>> each, Action? read, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var files = File.Exists(input) ? [input] : NdjsonSource.Files(input);
        var bytes = files.Sum(f => new FileInfo(f).Length);
        var cores = Environment.ProcessorCount;
        var chunks = (int)Math.Max(cores, Math.Min(4096, bytes / (64L << 20)));
        var folder = Directory.CreateTempSubdirectory("healthrec-read-").FullName;
        try
        {
            await NdjsonIndex.WriteAsync(input, folder, chunks, report, cancellationToken);
            for (var first = 0; first < chunks; first += cores)
            {
                var batch = Enumerable.Range(first, Math.Min(cores, chunks - first)).ToArray();
                var results = new List<T>[batch.Length];
                await Parallel.ForEachAsync(Enumerable.Range(0, batch.Length), new ParallelOptions { MaxDegreeOfParallelism = cores, CancellationToken = cancellationToken },
                    async (slot, token) =>
                    {
                        var found = results[slot] = [];
                        await foreach (var record in ReadAsync(new NdjsonChunkSource(input, folder, batch[slot]), mapper, report, token))
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

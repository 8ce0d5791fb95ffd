using System.Diagnostics;
using HealthRec.Clinical.Ingestion;
using HealthRec.Fhir.Sources;

namespace HealthRec.Benchmarks;

/// <summary>
/// The population-scoring start job's own work, timed alone on an NDJSON folder: counting the patients, then splitting
/// the lines into chunk files (<c>dotnet run -c Release --project tests/HealthRec.Benchmarks -- partition FOLDER CHUNKS</c>).
/// </summary>
internal static class PartitionTimer
{
    public static void Run(string source, int chunks)
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-partition-");
        try
        {
            var ndjson = new NdjsonSource(source);
            var watch = Stopwatch.StartNew();
            var patients = ndjson.CountPatientsAsync(new IngestionReport(), default).GetAwaiter().GetResult();
            var counted = watch.Elapsed;
            var perChunk = ndjson.PartitionAsync(folder.FullName, chunks, new IngestionReport(), default).GetAwaiter().GetResult();
            var bytes = Directory.GetFiles(folder.FullName).Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"{patients:N0} patients counted in {counted.TotalSeconds:F1} s; {perChunk.Sum():N0} patients, {bytes / 1e6:N0} MB " +
                $"into {chunks} chunk files in {(watch.Elapsed - counted).TotalSeconds:F1} s");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}

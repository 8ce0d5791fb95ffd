namespace HealthRec.Benchmarks;

/// <summary>
/// The population-scoring start job's own work, timed alone on an NDJSON folder: counting the patients, then indexing
/// the lines into chunks (<c>dotnet run -c Release --project tests/HealthRec.Benchmarks -- partition FOLDER CHUNKS</c>).
/// </summary>
internal static class PartitionTimer
{
    public static void Run(string source, int chunks)
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-partition-");
        using var removed = folder.DeletedAtEnd();
        var ndjson = new NdjsonSource(source);
        var watch = Stopwatch.StartNew();
        var patients = ndjson.CountPatientsAsync(new IngestionReport(), default).GetAwaiter().GetResult();
        var counted = watch.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var perChunk = NdjsonIndex.WriteAsync(source, folder.FullName, chunks, new IngestionReport(), default).GetAwaiter().GetResult();
        var indexed = watch.Elapsed - counted;
        var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var bytes = Directory.GetFiles(folder.FullName, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"{patients:N0} patients counted in {counted.TotalSeconds:F1} s; {perChunk.Sum():N0} patients indexed into {chunks} chunks " +
            $"in {indexed.TotalSeconds:F1} s ({cpuUsed.TotalSeconds:F1} s of CPU), {bytes / 1e6:N0} MB written");
    }
}

namespace HealthRec.Benchmarks;

/// <summary>
/// One population-scoring chunk's work without its database, stage by stage, on one thread (as one Hangfire worker runs
/// it): reading and parsing the chunk's lines in place, mapping, the estimates of every outcome, the recommendations
/// (<c>dotnet run -c Release --project tests/HealthRec.Benchmarks -- chunk SOURCE [ROUNDS]</c>). The source is indexed
/// first into chunks of about 500 patients, as the start job does, and the first chunk is timed; the first rounds warm
/// the JIT.
/// </summary>
internal static class ChunkTimer
{
    public static void Run(string source, int rounds)
    {
        var index = Directory.CreateTempSubdirectory("healthrec-chunk-");
        using var removed = index.DeletedAtEnd();
        var patients = new NdjsonSource(source).CountPatientsAsync(new IngestionReport(), default).GetAwaiter().GetResult();
        var chunks = Math.Max(1, (int)Math.Ceiling(patients / 500.0));
        NdjsonIndex.WriteAsync(source, index.FullName, chunks, new IngestionReport(), default).GetAwaiter().GetResult();
        Run(source, index.FullName, rounds);
    }

    private static void Run(string source, string index, int rounds)
    {
        var app = BenchmarkServer.Build();
        var mapper = app.Services.GetRequiredService<FhirRecordMapper>();
        using var lease = app.Services.GetRequiredService<ModelCatalog>().Lease();
        var serving = lease.Models;
        var at = new DateTimeOffset(2027, 12, 31, 23, 59, 59, TimeSpan.Zero);
        for (var round = 1; round <= rounds; round++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var groups = new List<PatientResources>();
            var report = new IngestionReport();
            var reading = new NdjsonChunkSource(source, index, 0).ReadAsync(report, default).GetAsyncEnumerator();
            while (reading.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                groups.Add(reading.Current);
            }

            var read = watch.Elapsed;
            var records = groups.Select(g => mapper.Map(g, report)).OfType<PatientRecord>().ToList();
            var mapped = watch.Elapsed;
            var estimates = records.Select(r => (Record: r, Estimate: serving.Estimate(r, at))).ToList();
            var estimated = watch.Elapsed;
            var recommended = 0;
            foreach (var (record, (features, predictions)) in estimates)
            {
                if (predictions.Count > 0)
                {
                    recommended += serving.Recommender.Recommend(PatientSnapshot.From(record, at, features, serving.Featurizer, predictions), 3).Recommendations.Count;
                }
            }

            var total = watch.Elapsed;
            var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            double PerPatient(TimeSpan t) => t.TotalMilliseconds / Math.Max(1, records.Count);
            Console.WriteLine($"round {round}: {records.Count} patients, {groups.Sum(g => g.Resources.Count):N0} resources; ms per patient: read+parse {PerPatient(read):F3} (in place), " +
                $"map {PerPatient(mapped - read):F3}, estimate {PerPatient(estimated - mapped):F3}, recommend {PerPatient(total - estimated):F3}; " +
                $"total {PerPatient(total):F3} ({records.Count / total.TotalSeconds:N0} patients/s on this thread, {recommended} recommendations); " +
                $"CPU {PerPatient(cpuUsed):F3} ms per patient (every thread, the parse's parallel ones and the GC's too)");
        }
    }
}

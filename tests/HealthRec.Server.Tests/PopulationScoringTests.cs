namespace HealthRec.Server.Tests;

[Collection(SequentialServers.Name)]
public sealed partial class PopulationScoringTests() : TempFolderTests("healthrec-runs-")
{
    private const string IndexDate = "2024-12-31";

    private Dictionary<string, string?> Node(string connectionString) => new(HealthTests.Postgres(connectionString))
    {
        ["Jobs:WorkerCount"] = "1",
        ["Jobs:PollInterval"] = "00:00:00.200",
        ["Jobs:Scoring:ChunkSize"] = "25",
        ["Jobs:Scoring:Cron"] = "",
        ["Jobs:Scoring:WorkPath"] = Folder.FullName,
        ["Jobs:Scoring:Source"] = Path.Combine(TestServices.RepositoryRoot, "data", "sample"),
    };

    private static async Task<string> TriggerAsync(RunningServer server, string indexDate = IndexDate)
    {
        var response = await server.Client.PostAsync(new Uri($"/admin/jobs/population-scoring?indexDate={indexDate}", UriKind.Relative), null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (string)JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["jobId"]!;
    }

    // The job that completes a run records it complete and then removes the run's folder: a test that saw the run complete
    // gives that job a moment (at most 10 s) to finish before it holds a folder still there against it.
    private static async Task<bool> FolderRemovedAsync(string folder)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(10); Directory.Exists(folder) && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100, Ct);
        }

        return !Directory.Exists(folder);
    }

    private static async Task<ScoreRun> CompletedRunAsync(RunningServer server, Func<ScoreRun, bool> which)
    {
        var store = server.Services.GetRequiredService<ScoreStore>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        ScoreRun? run = null;
        while (DateTime.UtcNow < deadline)
        {
            run = (await store.RecentRunsAsync(20, Ct)).FirstOrDefault(which);
            if (run?.Status == ScoreRun.Completed)
            {
                return run;
            }

            await Task.Delay(200, Ct);
        }

        // What the jobs were doing, so that a timeout says why.
        var monitoring = server.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi();
        var chunks = run is null ? "no run stored" : $"{(await store.ChunksAsync(run.RunId, Ct)).Count} of {run.ChunkCount} chunks done";
        var failed = string.Join("; ", monitoring.FailedJobs(0, 10).Select(j => $"{j.Value.Job?.Method.Name}: {j.Value.ExceptionType} {j.Value.ExceptionMessage}"));
        var retrying = string.Join("; ", monitoring.ScheduledJobs(0, 10).Select(j => $"{j.Value.Job?.Method.Name}({string.Join(", ", j.Value.Job?.Args ?? [])}) at {j.Value.EnqueueAt:HH:mm:ss}"));
        var reasons = string.Join("; ", monitoring.ScheduledJobs(0, 10).Select(j => monitoring.JobDetails(j.Key)?.History.Skip(1).FirstOrDefault())
            .Where(h => h is not null).Select(h => $"{h!.StateName} {h.Reason} {string.Join(" ", h.Data.Where(d => d.Key.StartsWith("Exception", StringComparison.Ordinal)).Select(d => d.Value))}"));
        var statistics = monitoring.GetStatistics();
        throw new TimeoutException($"the scoring run did not complete within three minutes: {chunks}; jobs enqueued {statistics.Enqueued}, " +
            $"processing {statistics.Processing}, scheduled {statistics.Scheduled}, failed {statistics.Failed}; failed: [{failed}]; retrying: [{retrying}] after [{reasons}]");
    }

    private static async Task<List<ScoreRow>> RowsAsync(ScoreStore store, string runId)
    {
        var rows = new List<ScoreRow>();
        await foreach (var row in store.RowsAsync(runId, Ct))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task GivenTwoNodesOnOnePostgres_WhenARunIsTriggered_ThenBothTakeChunksAndEveryPatientIsScoredOnceAsTheModelsScoreIt()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var first = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        await using var second = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        var store = first.Services.GetRequiredService<ScoreStore>();

        await TriggerAsync(first);
        var run = await CompletedRunAsync(first, _ => true);

        Assert.Equal(300, run.PatientCount);
        Assert.Equal(12, run.ChunkCount);
        var chunks = await store.ChunksAsync(run.RunId, Ct);
        Assert.Equal(Enumerable.Range(0, 12), chunks.Select(c => c.Chunk));
        Assert.Equal(300, chunks.Sum(c => c.Patients));
        var nodes = new[] { first, second }.Select(s => s.Services.GetRequiredService<NodeIdentity>().Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(nodes, chunks.Select(c => c.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));

        // The stored estimates are exactly what the serving models give each patient as of the run's date, one row each.
        var rows = await RowsAsync(store, run.RunId);
        var serving = first.Services.GetRequiredService<ModelCatalog>().Current;
        var mapper = first.Services.GetRequiredService<FhirRecordMapper>();
        var expected = new List<(string Patient, string Outcome, double Estimate)>();
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(Path.Combine(TestServices.RepositoryRoot, "data", "sample")), mapper, new IngestionReport(), Ct))
        {
            foreach (var predictor in serving.Predictors.Values)
            {
                if (predictor.Predict(record, run.IndexAt) is { } prediction)
                {
                    expected.Add((record.PatientId, prediction.Outcome, Math.Round(prediction.Estimate, 6)));
                }
            }
        }

        Assert.Equal(expected.Count, rows.Count);
        Assert.Equal(expected.OrderBy(e => e.Patient, StringComparer.Ordinal).ThenBy(e => e.Outcome, StringComparer.Ordinal),
            rows.Select(r => (r.PatientId, r.Outcome, r.Estimate)));
        Assert.All(rows.Where(r => r.Outcome != "hba1c-1y"), r => Assert.NotNull(r.Band));
        Assert.True(await FolderRemovedAsync(Path.Combine(Folder.FullName, run.RunId)), "the run's chunk index outlived the run");
    }

    [Fact]
    public async Task GivenAChunkThatFailsAfterStoringItsRows_WhenRetried_ThenTheRunHasTheRowsOfACleanRunAndARepeatedRunTheSame()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        await TriggerAsync(server);
        var clean = await CompletedRunAsync(server, _ => true);
        var failing = new FailChunkOnce(chunk: 4);
        Hangfire.GlobalJobFilters.Filters.Add(failing);
        ScoreRun retried;
        try
        {
            await TriggerAsync(server);
            retried = await CompletedRunAsync(server, r => r.RunId != clean.RunId);

            // The failed chunk had stored its mark, so the run may complete before Hangfire's retry (1 s later) runs.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (failing.Runs.Count < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }
        }
        finally
        {
            Hangfire.GlobalJobFilters.Filters.Remove(failing);
        }

        await TriggerAsync(server);
        var repeated = await CompletedRunAsync(server, r => r.RunId != clean.RunId && r.RunId != retried.RunId);

        // Chunk 4 ran twice: it stored its rows, failed, and was retried, storing them again.
        Assert.Equal([4, 4], failing.Runs);
        var expected = await RowsAsync(store, clean.RunId);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await RowsAsync(store, retried.RunId));
        Assert.Equal(expected, await RowsAsync(store, repeated.RunId));
        Assert.Equal(clean.IndexAt, retried.IndexAt);
    }

    [Fact]
    public async Task GivenABulkDataExportAsTheSource_WhenARunIsTriggered_ThenThePatientsPutOnTheServerAreScoredAsTheModelsScoreTheirRecords()
    {
        // Twelve generated patients put on the FHIR test server by id (it holds other tests' patients too).
        var generated = Folder.CreateSubdirectory("generated").FullName;
        await new Fhir.Synthetic.CohortGenerator(new Fhir.Synthetic.CohortOptions { Patients = 30, Seed = 20261203, Years = 10, ErrorRate = 0 })
            .WriteAsync(generated, Fhir.Synthetic.SyntheticFormat.Ndjson, null, "test", Ct);
        var resources = Directory.GetFiles(generated, "*.ndjson").SelectMany(File.ReadLines)
            .Select(line => Fhir.FhirJson.TryParse(line, "generated", new IngestionReport())!).ToList();
        var mine = resources.OfType<Hl7.Fhir.Model.Patient>().Take(12).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var load = new CdsHooks.PatientFixture("male", 50);
        load.Resources.Clear();
        load.Resources.AddRange(resources.Where(r => mine.Contains(r is Hl7.Fhir.Model.Patient p ? p.Id : PatientReference.SubjectKeyOf(r) ?? "")));
        await load.LoadAsync(Ct);

        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Jobs:Scoring:Source"] = new Uri(TestServices.FhirBaseUrl, "$export").AbsoluteUri;
        await using var server = await RunningServer.StartAsync(settings, Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        await TriggerAsync(server);
        var run = await CompletedRunAsync(server, _ => true);

        // Their rows are what the serving models make of the same records read from the generated files.
        using var lease = server.Services.GetRequiredService<ModelCatalog>().Lease();
        var mapper = server.Services.GetRequiredService<FhirRecordMapper>();
        var expected = new List<ScoreRow>();
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(generated), mapper, new IngestionReport(), Ct))
        {
            if (mine.Contains(record.PatientId))
            {
                expected.AddRange(PopulationScoringJob.Score(lease.Models, record, run.IndexAt, 3));
            }
        }

        var rows = (await RowsAsync(store, run.RunId)).Where(r => mine.Contains(r.PatientId)).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.OrderBy(r => r.PatientId, StringComparer.Ordinal).ThenBy(r => r.Outcome, StringComparer.Ordinal), rows);
        Assert.True(run.PatientCount >= 12, $"the run counted {run.PatientCount} patients");
        Assert.True(await FolderRemovedAsync(Path.Combine(Folder.FullName, run.RunId)), "the export outlived the run");
    }

    [Fact]
    public async Task GivenACompletedRun_WhenTheWorklistAndTheExportAreAsked_ThenTheyListItsPatientsRankedAndAll()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync(new Uri("/api/worklist?outcome=t2d-5y", UriKind.Relative), Ct)).StatusCode);
        // A value of the wrong type and an outcome the server does not predict are named, not a bare 400 or an empty list.
        using var badTop = await server.Client.GetAsync(new Uri("/api/worklist?outcome=t2d-5y&top=abc", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badTop.StatusCode);
        Assert.Contains("top", (string)JsonNode.Parse(await badTop.Content.ReadAsStringAsync(Ct))!["detail"]!, StringComparison.Ordinal);
        using var bogus = await server.Client.GetAsync(new Uri("/api/worklist?outcome=bogus", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.NotFound, bogus.StatusCode);
        Assert.Contains("no outcome 'bogus' (known: ascvd-10y, ckd-5y, hba1c-1y, t2d-5y)", await bogus.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await TriggerAsync(server);
        var run = await CompletedRunAsync(server, _ => true);
        var rows = (await RowsAsync(store, run.RunId)).Where(r => r.Outcome == "t2d-5y").ToList();

        var worklist = (await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/worklist?outcome=t2d-5y&top=10", UriKind.Relative), Ct))!;
        var high = (await server.Client.GetFromJsonAsync<JsonNode>(new Uri("/api/worklist?outcome=t2d-5y&top=500&band=high", UriKind.Relative), Ct))!;
        var csv = await server.Client.GetStringAsync(new Uri($"/api/runs/{run.RunId}/export", UriKind.Relative), Ct);
        var ndjson = await server.Client.GetStringAsync(new Uri($"/api/runs/{run.RunId}/export?format=ndjson", UriKind.Relative), Ct);

        Assert.Equal(run.RunId, (string)worklist["run"]!["runId"]!);
        var listed = worklist["patients"]!.AsArray().Select(p => (double)p!["estimate"]!).ToList();
        Assert.Equal(rows.Select(r => r.Estimate).OrderDescending().Take(10), listed);
        Assert.All(worklist["patients"]!.AsArray(), p => Assert.InRange(p!["recommendations"]!.AsArray().Count, 0, 3));
        Assert.Equal(rows.Count(r => r.Band == "high"), high["patients"]!.AsArray().Count);
        Assert.All(high["patients"]!.AsArray(), p => Assert.Equal("high", (string)p!["band"]!));
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("patient_id,outcome,estimate,band,model_version,top_factors,recommendations", lines[0]);
        var total = (await RowsAsync(store, run.RunId)).Count;
        Assert.Equal(total, lines.Length - 1);
        Assert.Equal(total, ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.GetAsync(new Uri($"/api/runs/{run.RunId}/export?format=xml", UriKind.Relative), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.PostAsync(new Uri("/admin/jobs/nothing", UriKind.Relative), null, Ct)).StatusCode);
    }
}

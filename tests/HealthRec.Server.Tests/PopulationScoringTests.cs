using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hangfire.Common;
using Hangfire.Server;
using HealthRec.Clinical.Ingestion;
using HealthRec.Data;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Sources;
using HealthRec.Server.Hosting;
using HealthRec.Server.Jobs;
using HealthRec.Server.Models;
using HealthRec.Testing;

namespace HealthRec.Server.Tests;

/// <summary>Fails the first run of one chunk job after it has stored its rows, as a node dying at that moment would.</summary>
internal sealed class FailChunkOnce(int chunk) : JobFilterAttribute, IServerFilter
{
    public ConcurrentQueue<int> Runs { get; } = new();

    public void OnPerforming(PerformingContext context)
    {
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.BackgroundJob.Job.Method.Name == nameof(PopulationScoringJob.ScoreChunkAsync) && context.BackgroundJob.Job.Args[1] is int k && k == chunk)
        {
            Runs.Enqueue(k);
            if (Runs.Count == 1 && context.Exception is null)
            {
                throw new InvalidOperationException($"chunk {chunk} failed on purpose after storing its rows");
            }
        }
    }
}

/// <summary>
/// Holds the first attempt of one chunk job until the test releases it, so that a database outage can begin while that
/// chunk runs; records every attempt of it and how it ended.
/// </summary>
internal sealed class HoldChunkOnce(int chunk) : JobFilterAttribute, IServerFilter
{
    private int _started;

    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Attempts { get; } = new();

    private bool IsTheChunk(Hangfire.BackgroundJob job) =>
        job.Job.Method.Name == nameof(PopulationScoringJob.ScoreChunkAsync) && job.Job.Args[1] is int k && k == chunk;

    public void OnPerforming(PerformingContext context)
    {
        if (IsTheChunk(context.BackgroundJob) && Interlocked.Increment(ref _started) == 1)
        {
            Held.SetResult();
            Release.Task.Wait(TimeSpan.FromMinutes(2));
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        if (IsTheChunk(context.BackgroundJob))
        {
            Attempts.Enqueue(context.Exception?.GetBaseException().GetType().Name ?? "completed");
        }
    }
}

/// <summary>Population scoring on Hangfire with a real PostgreSQL: several nodes, retries and repeats.</summary>
/// <summary>
/// Fails the first start job once it has done its work, as a node killed just after starting a run leaves it: Hangfire
/// runs the same job (same id, same arguments) again, as it does when it takes a killed node's job back.
/// </summary>
internal sealed class FailStartOnce : JobFilterAttribute, IServerFilter
{
    private int _failed;

    public void OnPerforming(PerformingContext context)
    {
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.BackgroundJob.Job.Method.Name == nameof(PopulationScoringJob.StartAsync) && context.Exception is null && Interlocked.Exchange(ref _failed, 1) == 0)
        {
            throw new InvalidOperationException("the node running the start job stopped (test)");
        }
    }
}

[Collection(SequentialServers.Name)]
public sealed class PopulationScoringTests : IDisposable
{
    private const string IndexDate = "2024-12-31";
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("healthrec-runs-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _work.Delete(recursive: true);

    private Dictionary<string, string?> Node(string connectionString) => new(HealthTests.Postgres(connectionString))
    {
        ["Jobs:WorkerCount"] = "1",
        ["Jobs:PollInterval"] = "00:00:00.200",
        ["Jobs:Scoring:ChunkSize"] = "25",
        ["Jobs:Scoring:Cron"] = "",
        ["Jobs:Scoring:WorkPath"] = _work.FullName,
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
        Assert.True(await FolderRemovedAsync(Path.Combine(_work.FullName, run.RunId)), "the run's chunk index outlived the run");
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

    [Theory]
    [InlineData(nameof(PopulationScoringJob.ScoreChunkAsync))]
    [InlineData(nameof(PopulationScoringJob.StartAsync))]
    public async Task GivenANodeKilledWithSigkillInAScoringJob_WhenAnotherNodeRuns_ThenTheRunCompletesWithEveryPatientScoredOnceAsACleanRun(string killedIn)
    {
        // A cohort big enough that a chunk (or the start job's index) takes a moment, so that the kill lands inside it.
        var cohort = Path.Combine(_work.FullName, "cohort");
        Assert.Equal(0, await HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse(["synth", "--patients", "3000", "--seed", "28", "--out", cohort])
            .InvokeAsync(cancellationToken: Ct));
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Jobs:Scoring:Source"] = cohort;
        settings["Jobs:Scoring:ChunkSize"] = "750";
        settings["Jobs:InvisibilityTimeout"] = "00:00:05";

        // Node A: its own process, killed with SIGKILL (no shutdown, no requeue) once the job is running.
        var stateA = Directory.CreateTempSubdirectory("healthrec-node-a-").FullName;
        var killedAt = await KillNodeInJobAsync(database.ConnectionString, settings, stateA, killedIn);

        // Node B takes the queued jobs at once and the killed node's job once its 5-second lease has passed.
        await using var nodeB = await RunningServer.StartAsync(settings, Ct);
        var store = nodeB.Services.GetRequiredService<ScoreStore>();
        var interrupted = await CompletedRunAsync(nodeB, _ => true);
        TestContext.Current.SendDiagnosticMessage($"run completed {(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s after node A was killed in {killedIn}");

        // One run only (a start job taken again resumes its own run), whole, and as a clean run on the same data.
        Assert.Single(await store.RecentRunsAsync(20, Ct));
        await TriggerAsync(nodeB);
        var clean = await CompletedRunAsync(nodeB, r => r.RunId != interrupted.RunId);
        var rows = await RowsAsync(store, interrupted.RunId);
        Assert.Equal(await RowsAsync(store, clean.RunId), rows);
        Assert.Equal(rows.Count, rows.Select(r => (r.PatientId, r.Outcome)).Distinct().Count());
        // Every patient of the cohort was in a chunk (those whose record gives no estimate have no row, in both runs).
        Assert.Equal(3000, interrupted.PatientCount);
        Assert.Equal(interrupted.ChunkCount, (await store.ChunksAsync(interrupted.RunId, Ct)).Count);
        var verification = await (await nodeB.AuditAsync(Ct)).VerifyAsync(Ct);
        Assert.True(verification.Intact, verification.Problem);
        Directory.Delete(stateA, recursive: true);
    }

    // Starts a node as its own process (dotnet healthrec.dll serve), triggers a scoring run on it and kills it with
    // SIGKILL as soon as a job of the given method is Processing — asserting that it still was when the kill landed.
    private static async Task<DateTime> KillNodeInJobAsync(string connectionString, Dictionary<string, string?> settings, string state, string method)
    {
        var port = FreePort();
        var start = new System.Diagnostics.ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "healthrec.dll"), "serve", .. RunningServer.Arguments(state, new Dictionary<string, string?>(settings) { ["urls"] = $"http://127.0.0.1:{port}" })])
        {
            WorkingDirectory = state,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = System.Diagnostics.Process.Start(start)!;
        node.OutputDataReceived += (_, _) => { };
        node.ErrorDataReceived += (_, _) => { };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(200, Ct))
            {
                try
                {
                    if ((await client.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct)).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                }

                Assert.True(DateTime.UtcNow < deadline, "the node did not become ready");
            }

            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync(Ct);
            // The start job is killed once it has stored its run (while it writes the run's index): the moment a job
            // that chose a new id each time would leave that run behind.
            await using var processing = new Npgsql.NpgsqlCommand(
                "SELECT id FROM hangfire.job WHERE statename = 'Processing' AND invocationdata::text LIKE @method " +
                (method == nameof(PopulationScoringJob.StartAsync) ? "AND EXISTS (SELECT 1 FROM score_run) " : "") + "LIMIT 1", connection);
            processing.Parameters.AddWithValue("method", $"%{method}%");
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(new Uri($"/admin/jobs/population-scoring?indexDate={IndexDate}", UriKind.Relative), null, Ct)).StatusCode);
            object? job;
            for (var deadline = DateTime.UtcNow.AddSeconds(120); (job = await processing.ExecuteScalarAsync(Ct)) is null; await Task.Delay(10, Ct))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the node never ran {method}");
            }

            node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync(Ct);
            var killedAt = DateTime.UtcNow;
            await using var stateOf = new Npgsql.NpgsqlCommand("SELECT statename FROM hangfire.job WHERE id = @id", connection);
            stateOf.Parameters.AddWithValue("id", job);
            Assert.Equal("Processing", (string?)await stateOf.ExecuteScalarAsync(Ct));
            return killedAt;
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task GivenAChunkBeingScoredAndOthersQueued_WhenTheRunIsViewed_ThenEachWaitingChunkSaysWhatItsJobIsDoing()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        var hold = new HoldChunkOnce(chunk: 0);
        Hangfire.GlobalJobFilters.Filters.Add(hold);
        try
        {
            await TriggerAsync(server);
            await hold.Held.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct);
            var runId = (await server.Services.GetRequiredService<ScoreStore>().RecentRunsAsync(1, Ct))[0].RunId;

            var view = JsonNode.Parse(await server.Client.GetStringAsync(new Uri($"/api/runs/{runId}", UriKind.Relative), Ct))!;

            var waiting = view["waiting"]!.AsArray();
            Assert.Equal((int)view["run"]!["chunks"]! - (int)view["run"]!["chunksDone"]!, waiting.Count);
            var held = waiting.Single(w => (int)w!["chunk"]! == 0)!;
            Assert.Equal("processing", (string)held["state"]!);
            Assert.StartsWith("being scored on ", (string)held["why"]!, StringComparison.Ordinal);
            // The node's one worker is held on chunk 0: the others wait in the queue for it.
            Assert.All(waiting.Where(w => (int)w!["chunk"]! != 0), w => Assert.Equal("queued, waiting for a free worker", (string)w!["why"]!));
            Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync(new Uri("/api/runs/run-none", UriKind.Relative), Ct)).StatusCode);
        }
        finally
        {
            hold.Release.TrySetResult();
            Hangfire.GlobalJobFilters.Filters.Remove(hold);
        }

        var run = await CompletedRunAsync(server, _ => true);
        var done = JsonNode.Parse(await server.Client.GetStringAsync(new Uri($"/api/runs/{run.RunId}", UriKind.Relative), Ct))!;
        Assert.Empty(done["waiting"]!.AsArray());
    }

    [Fact]
    public async Task GivenAStartJobRunAgainAfterItsNodeStopped_WhenItRuns_ThenItResumesItsOwnRunAndLeavesNoOtherBehind()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Node(database.ConnectionString), Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        var fail = new FailStartOnce();
        Hangfire.GlobalJobFilters.Filters.Add(fail);
        try
        {
            var jobId = await TriggerAsync(server);
            var run = await CompletedRunAsync(server, _ => true);

            // The start job was run twice (failed once, then retried after 10 s); both times it was the same run.
            var details = server.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().JobDetails(jobId);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (details.History[0].StateName != "Succeeded" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, Ct);
                details = server.Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().JobDetails(jobId);
            }

            Assert.Contains(details.History, h => h.StateName == "Failed");
            Assert.Equal("Succeeded", details.History[0].StateName);
            Assert.Equal(run.RunId, System.Text.Json.JsonSerializer.Deserialize<string>(details.Properties[PopulationScoringJob.RunIdParameter]));
            Assert.Equal([run.RunId], (await store.RecentRunsAsync(20, Ct)).Select(r => r.RunId));
            Assert.Equal(run.ChunkCount, (await store.ChunksAsync(run.RunId, Ct)).Count);
        }
        finally
        {
            Hangfire.GlobalJobFilters.Filters.Remove(fail);
        }
    }

    // Hangfire's worker retries a failed state change ten times over 45 s: a shorter outage is absorbed there (the chunk
    // is marked for retry once the database answers); after a longer one the chunk can be neither finished nor handed
    // back, and only Jobs:InvisibilityTimeout brings it back (with the library's default it would wait 30 minutes).
    // Two faults: "cut", the network to the shared server reset for an instant (a TCP relay); "stop", a cluster of the
    // test's own stopped as in a crash (pg_ctl -m immediate) for 20 or 60 seconds and started again.
    [Theory]
    [InlineData("cut", 0)]
    [InlineData("stop", 20)]
    [InlineData("stop", 60)]
    public async Task GivenPostgresGoingDownWhileAChunkRuns_WhenItComesBack_ThenHooksKeptAnsweringReadinessSaidSoAndTheChunkIsRetriedToACleanRunsRows(string fault, int outageSeconds)
    {
        await using var database = fault == "cut" ? await PostgresTestDatabase.CreateAsync(Ct) : null;
        await using var relay = database is null ? null : new DatabaseOutage(database.ConnectionString);
        await using var cluster = fault == "stop" ? await PrivatePostgres.StartAsync(Ct) : null;
        Func<Task> goDown = relay is not null ? () => { relay.GoDown(); return Task.CompletedTask; } : () => cluster!.GoDownAsync(Ct);
        Func<Task> comeBack = relay is not null ? () => { relay.ComeBack(); return Task.CompletedTask; } : () => cluster!.ComeBackAsync(Ct);
        var settings = Node(relay is not null ? DatabaseOutage.Through(relay, database!.ConnectionString) : cluster!.ConnectionString);
        settings["Jobs:InvisibilityTimeout"] = "00:00:05";
        await using var server = await RunningServer.StartAsync(settings, Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        await TriggerAsync(server);
        var clean = await CompletedRunAsync(server, _ => true);
        var patient = CdsHooks.PatientFixture.HighRisk();
        var before = await CdsHooks.Cds.PatientViewAsync(server.Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.Equal(200, before.Status);
        var duringCall = patient.Call(prefetch: patient.Prefetch());

        var hold = new HoldChunkOnce(chunk: 5);
        Hangfire.GlobalJobFilters.Filters.Add(hold);
        ScoreRun interrupted;
        (int Status, System.Text.Json.Nodes.JsonNode? Body, string Text) during;
        try
        {
            await TriggerAsync(server);
            await hold.Held.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct);

            // The database goes down while chunk 5 is being scored.
            await goDown();
            hold.Release.SetResult();
            var (ready, readyText) = await ReadinessAsync(server, HttpStatusCode.ServiceUnavailable);
            during = await CdsHooks.Cds.PatientViewAsync(server.Client, duringCall, Ct);
            Assert.True(server.Services.GetRequiredService<Data.AuditWriter>().Spooling, "the call answered during the outage left no record in the spool");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (hold.Attempts.IsEmpty && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
            Assert.Contains("database", readyText, StringComparison.Ordinal);
            Assert.Equal(200, during.Status);
            Assert.Equal(CdsHooks.Cds.Seen(before.Body), CdsHooks.Cds.Seen(during.Body));
            Assert.False(hold.Attempts.IsEmpty, "the held chunk never ended while the database was down");
            Assert.NotEqual("completed", hold.Attempts.First());

            await Task.Delay(TimeSpan.FromSeconds(outageSeconds), Ct);
            await comeBack();
            interrupted = await CompletedRunAsync(server, r => r.RunId != clean.RunId);
        }
        finally
        {
            hold.Release.TrySetResult();
            Hangfire.GlobalJobFilters.Filters.Remove(hold);
        }

        // Chunk 5 failed with the database and was taken again once it came back; nothing lost, nothing twice. (The job
        // completes the run before Hangfire's filter hears that it ended, so the filter's record may come a moment later.)
        var recorded = DateTime.UtcNow.AddSeconds(30);
        while (hold.Attempts.Last() != "completed" && DateTime.UtcNow < recorded)
        {
            await Task.Delay(100, Ct);
        }

        Assert.Equal("completed", hold.Attempts.Last());
        Assert.Equal(await RowsAsync(store, clean.RunId), await RowsAsync(store, interrupted.RunId));
        Assert.Equal(HttpStatusCode.OK, (await ReadinessAsync(server, HttpStatusCode.OK)).Status);

        // The call answered during the outage was recorded on local disk, and is in the chain once the database is back.
        await server.Services.GetRequiredService<Data.AuditWriter>().FlushAsync(Ct);
        Assert.False(server.Services.GetRequiredService<Data.AuditWriter>().Spooling);
        var audit = (await server.AuditAsync(Ct));
        var (guidance, _) = await audit.SearchAsync(new Data.AuditQuery("GuidanceResponse")
        {
            Filters = [new("request", [$"urn:uuid:{(string)duringCall["hookInstance"]!}"])],
        }, 10, Ct);
        Assert.Single(guidance);
        var verification = await audit.VerifyAsync(Ct);
        Assert.True(verification.Intact, verification.Problem);

        // The call waited in the writer through the outage and is stored now: feedback on each of its cards is accepted.
        var calls = await server.StoredCallsAsync(Ct);
        Assert.False(server.Services.GetRequiredService<Data.InvocationWriter>().Waiting);
        Assert.NotNull(await calls.FindAsync("healthrec-patient-risk", (string)duringCall["hookInstance"]!, Ct));
        var feedback = new System.Text.Json.Nodes.JsonObject
        {
            ["feedback"] = new System.Text.Json.Nodes.JsonArray([.. CdsHooks.Cds.Cards(during.Body).Select(card => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            {
                ["card"] = (string)card!["uuid"]!,
                ["outcome"] = "overridden",
                ["outcomeTimestamp"] = "2026-12-06T10:00:00Z",
            })]),
        };
        var (status, _, text) = await CdsHooks.Cds.PostAsync(server.Client, "/cds-services/healthrec-patient-risk/feedback", feedback, Ct);
        Assert.True(status == 200, text);
    }

    // Readiness, asked until it reports the expected status (its checks run per request) or 20 s pass.
    private static async Task<(HttpStatusCode Status, string Text)> ReadinessAsync(RunningServer server, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var response = await server.Client.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            if (response.StatusCode == expected || DateTime.UtcNow > deadline)
            {
                return (response.StatusCode, text);
            }

            await Task.Delay(200, Ct);
        }
    }

    [Fact]
    public async Task GivenABulkDataExportAsTheSource_WhenARunIsTriggered_ThenThePatientsPutOnTheServerAreScoredAsTheModelsScoreTheirRecords()
    {
        // Twelve generated patients put on the FHIR test server by id (it holds other tests' patients too).
        var generated = _work.CreateSubdirectory("generated").FullName;
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
        Assert.True(await FolderRemovedAsync(Path.Combine(_work.FullName, run.RunId)), "the export outlived the run");
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

    [Fact]
    public async Task GivenWriteBack_WhenARunCompletesAndASecondRunFollows_ThenEachBinaryEstimateIsOneProfiledRiskAssessmentUpdatedNotDuplicated()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Jobs:Scoring:ChunkSize"] = "100";
        settings["Jobs:Scoring:WriteBackUrl"] = TestServices.FhirBaseUrl.ToString();
        await using var server = await RunningServer.StartAsync(settings, Ct);
        var store = server.Services.GetRequiredService<ScoreStore>();
        using var fhir = new Hl7.Fhir.Rest.FhirClient(TestServices.FhirBaseUrl,
            new Hl7.Fhir.Rest.FhirClientSettings { PreferredFormat = Hl7.Fhir.Rest.ResourceFormat.Json, VerifyFhirVersion = false, Timeout = 60_000 });

        await TriggerAsync(server);
        var first = await CompletedRunAsync(server, _ => true);
        var rows = (await RowsAsync(store, first.RunId)).Where(r => r.Outcome != "hba1c-1y").ToList();
        var written = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));

        // Each chunk's write-back is in the audit trail: the server, how many, and that it succeeded.
        var (writeBacks, _) = await (await server.AuditAsync(Ct)).SearchAsync(new Data.AuditQuery("AuditEvent")
        {
            Filters = [new("subtype", ["write-back"]), new("outcome", ["0"])],
        }, 1000, Ct);
        Assert.Equal(first.ChunkCount, writeBacks.Count(w => w.ResourceJson.Contains(first.RunId, StringComparison.Ordinal)));

        // The FHIR test server outlives a test run: resources of earlier runs may be there too, but never twice.
        Assert.Subset(written.Keys.ToHashSet(StringComparer.Ordinal), rows.Select(r => $"{r.PatientId}:{r.Outcome}").ToHashSet(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            var resource = written[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith("2024-12-31", Assert.IsType<Hl7.Fhir.Model.FhirDateTime>(resource.Occurrence).Value, StringComparison.Ordinal);
            Assert.Equal($"Patient/{row.PatientId}", resource.Subject.Reference);
            Assert.Equal((decimal)Math.Round(row.Estimate, 4), Assert.IsType<Hl7.Fhir.Model.FhirDecimal>(resource.Prediction[0].Probability).Value);
            Assert.Equal(row.ModelVersion, resource.Method!.Coding[0].Version);
            // ASCVD is answered by the published equation, and the resource says so; the others by HealthRec's models.
            Assert.StartsWith(row.Outcome == "ascvd-10y" ? "PREVENT (AHA 2024), 10-year ASCVD, a published equation" : "HealthRec LightGBM model", resource.Method.Text, StringComparison.Ordinal);
        }

        Assert.Contains(rows, r => r.Outcome == "ascvd-10y" && r.ModelVersion == "prevent-ascvd");

        // A second run, as of a later date: the same resources, updated.
        await TriggerAsync(server, "2025-06-30");
        var second = await CompletedRunAsync(server, r => r.RunId != first.RunId);
        var updated = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));
        var secondRows = (await RowsAsync(store, second.RunId)).Where(r => r.Outcome != "hba1c-1y").ToList();
        Assert.Equal(written.Keys.Union(secondRows.Select(r => $"{r.PatientId}:{r.Outcome}")).Order(StringComparer.Ordinal), updated.Keys.Order(StringComparer.Ordinal));
        foreach (var row in secondRows)
        {
            var resource = updated[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith("2025-06-30", Assert.IsType<Hl7.Fhir.Model.FhirDateTime>(resource.Occurrence).Value, StringComparison.Ordinal);
            if (written.TryGetValue($"{row.PatientId}:{row.Outcome}", out var before))
            {
                Assert.Equal(before.Id, resource.Id);
                Assert.NotEqual(before.Meta!.VersionId, resource.Meta!.VersionId);
            }
        }

        // What the writer sends conforms to the HealthRec profile: zero errors.
        var validator = ProfileValidation.Validator.Value;
        var model = server.Services.GetRequiredService<ModelCatalog>().Current.Predictors["t2d-5y"];
        foreach (var row in secondRows.Where(r => r.Outcome == "t2d-5y").Take(20))
        {
            var resource = RiskAssessmentWriter.Build(row, model.Definition, model.Manifest.Validation, second.IndexAt, synthetic: true)!;
            var outcome = validator.Validate(resource, RiskAssessmentWriter.Profile);
            Assert.True(outcome.Errors == 0 && outcome.Fatals == 0, outcome.ToString());
        }
    }

    [Fact]
    public async Task GivenAModelPromotedOverTheEquation_WhenWrittenBack_ThenEachRiskAssessmentGivesTheEquationsFigureBesideIt()
    {
        // A copy of the default registry in which the ascvd-10y model passed the gate against PREVENT (its decision rewritten so).
        var registry = _work.CreateSubdirectory("promoted-registry").FullName;
        TestServices.CopyFolder("models", registry);
        var version = File.ReadAllText(Path.Combine(registry, "ascvd-10y", "current")).Trim();
        var gate = Path.Combine(registry, "ascvd-10y", version, ML.Registry.PromotionGate.FileName);
        var decision = JsonNode.Parse(File.ReadAllText(gate))!;
        Assert.Equal("prevent-ascvd", (string)decision["reference"]!);
        decision["promote"] = true;
        decision["overReference"] = true;
        File.WriteAllText(gate, decision.ToJsonString());

        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var settings = Node(database.ConnectionString);
        settings["Models:Path"] = registry;
        settings["Jobs:Scoring:ChunkSize"] = "100";
        settings["Jobs:Scoring:WriteBackUrl"] = TestServices.FhirBaseUrl.ToString();
        await using var server = await RunningServer.StartAsync(settings, Ct);
        using var fhir = new Hl7.Fhir.Rest.FhirClient(TestServices.FhirBaseUrl,
            new Hl7.Fhir.Rest.FhirClientSettings { PreferredFormat = Hl7.Fhir.Rest.ResourceFormat.Json, VerifyFhirVersion = false, Timeout = 60_000 });

        await TriggerAsync(server);
        var run = await CompletedRunAsync(server, _ => true);
        var rows = (await RowsAsync(server.Services.GetRequiredService<ScoreStore>(), run.RunId)).Where(r => r.Outcome == "ascvd-10y").ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(version, r.ModelVersion));
        var written = await RiskAssessmentsAsync(fhir, rows.Select(r => r.PatientId).ToHashSet(StringComparer.Ordinal));

        // Each note gives what PREVENT gives the same record (or why it gives nothing), as the card does.
        using var lease = server.Services.GetRequiredService<ModelCatalog>().Lease();
        var predictor = lease.Models.Predictors["ascvd-10y"];
        var mapper = server.Services.GetRequiredService<FhirRecordMapper>();
        var records = new Dictionary<string, Clinical.Records.PatientRecord>(StringComparer.Ordinal);
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(Path.Combine(TestServices.RepositoryRoot, "data", "sample")), mapper, new IngestionReport(), Ct))
        {
            records[record.PatientId] = record;
        }

        foreach (var row in rows)
        {
            var resource = written[$"{row.PatientId}:{row.Outcome}"];
            Assert.StartsWith($"HealthRec LightGBM model ascvd-10y {version}", resource.Method!.Text, StringComparison.Ordinal);
            var beside = predictor.Predict(records[row.PatientId], run.IndexAt)!.Reference!;
            Assert.EndsWith(Server.CdsHooks.PatientRiskCards.ReferenceBeside(row.Estimate, beside, markdown: false).TrimEnd(), resource.Note[0].Text, StringComparison.Ordinal);
        }

        var notes = rows.Select(r => written[$"{r.PatientId}:{r.Outcome}"].Note[0].Text ?? "").ToList();
        Assert.Contains(notes, n => n.Contains("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives ", StringComparison.Ordinal)
            && !n.Contains("gives no figure", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<string, Hl7.Fhir.Model.RiskAssessment>> RiskAssessmentsAsync(Hl7.Fhir.Rest.FhirClient fhir, HashSet<string> patients)
    {
        var found = new Dictionary<string, Hl7.Fhir.Model.RiskAssessment>(StringComparer.Ordinal);
        var page = await fhir.SearchAsync<Hl7.Fhir.Model.RiskAssessment>(new Hl7.Fhir.Rest.SearchParams { Count = 1000 }, Ct);
        while (page is not null)
        {
            foreach (var resource in page.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.RiskAssessment>())
            {
                var identifier = resource.Identifier.SingleOrDefault(i => i.System == RiskAssessmentWriter.IdentifierSystem);
                if (identifier is not null && patients.Contains(identifier.Value!.Split(':')[0]))
                {
                    Assert.True(found.TryAdd(identifier.Value, resource), $"two RiskAssessments with identifier {identifier.Value}");
                }
            }

            page = await fhir.ContinueAsync(page, ct: Ct);
        }

        return found;
    }
}

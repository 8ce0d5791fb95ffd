namespace HealthRec.Server.Tests;

/// <summary>Population scoring through faults: a node killed mid-chunk or mid-start, PostgreSQL stopped, and what the run view says meanwhile.</summary>
public sealed partial class PopulationScoringTests
{
    [Theory]
    [InlineData(nameof(PopulationScoringJob.ScoreChunkAsync))]
    [InlineData(nameof(PopulationScoringJob.StartAsync))]
    public async Task GivenANodeKilledWithSigkillInAScoringJob_WhenAnotherNodeRuns_ThenTheRunCompletesWithEveryPatientScoredOnceAsACleanRun(string killedIn)
    {
        // A cohort big enough that a chunk (or the start job's index) takes a moment, so that the kill lands inside it.
        var cohort = Path.Combine(Folder.FullName, "cohort");
        Assert.Equal(0, await RunAsync(["synth", "--patients", "3000", "--seed", "28", "--out", cohort]));
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
}

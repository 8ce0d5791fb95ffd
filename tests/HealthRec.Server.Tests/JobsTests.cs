using Hangfire.PostgreSql;
using Hangfire.Storage;
using Hangfire.Storage.SQLite;
using Npgsql;

namespace HealthRec.Server.Tests;

/// <summary>A job that only records that a Hangfire worker of the server ran it.</summary>
public static class WiringProbe
{
    public static ConcurrentDictionary<Guid, string> Runs { get; } = new();

    public static void Run(Guid runId) => Runs[runId] = Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

[Collection(SequentialServers.Name)]
public sealed class JobsTests
{
    [Fact]
    public async Task GivenEmbeddedDefault_WhenAJobIsEnqueued_ThenAWorkerRunsItFromTheJobsFile()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        Assert.IsType<SQLiteStorage>(server.Services.GetRequiredService<JobStorage>());
        Assert.True(File.Exists(Path.Combine(server.StateFolder, "healthrec-jobs.db")), "the job storage is a file beside healthrec.db");

        var (runId, jobId) = await RunProbeAsync(server);

        Assert.True(WiringProbe.Runs.ContainsKey(runId));
        Assert.Equal("Succeeded", server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(jobId).History[0].StateName);
    }

    [Fact]
    public async Task GivenEmbeddedDefault_WhenTheServerRestarts_ThenItsSchedulesHistoryAndQueuedJobsAreStillThere()
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-restart-").FullName;
        try
        {
            var schedules = new Dictionary<string, string?>
            {
                ["Jobs:Scoring:Cron"] = "0 3 * * *",
                ["Jobs:Retrain:Cron"] = "0 4 * * 0",
                ["Jobs:PollInterval"] = "00:00:00.200",
            };
            string doneJob, queuedJob;
            var queuedRun = Guid.NewGuid();
            await using (var first = await RunningServer.StartAsync(schedules, Ct, stateFolder: folder))
            {
                (_, doneJob) = await RunProbeAsync(first);
            }

            // A node that only enqueues (no workers) leaves a job waiting for the next start.
            await using (var client = await RunningServer.StartAsync(new Dictionary<string, string?>(schedules) { ["Jobs:WorkerCount"] = "0" }, Ct, stateFolder: folder))
            {
                queuedJob = client.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => WiringProbe.Run(queuedRun));
            }

            await using var second = await RunningServer.StartAsync(schedules, Ct, stateFolder: folder);
            var storage = second.Services.GetRequiredService<JobStorage>();
            using (var connection = storage.GetConnection())
            {
                var recurring = connection.GetRecurringJobs().ToDictionary(job => job.Id);
                Assert.Equal("0 3 * * *", recurring[PopulationScoringJob.Name].Cron);
                Assert.Equal("0 4 * * 0", recurring[RetrainJob.Name].Cron);
            }

            Assert.Equal("Succeeded", storage.GetMonitoringApi().JobDetails(doneJob).History[0].StateName);
            await WaitForStateAsync(storage, queuedJob, "Succeeded");
            Assert.True(WiringProbe.Runs.ContainsKey(queuedRun), "the job queued before the restart ran after it");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task GivenAJobTakenByAProcessThatDied_WhenTheEmbeddedServerStarts_ThenTheJobRunsAtOnceNotAfterTheLease()
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-abandoned-").FullName;
        try
        {
            var runId = Guid.NewGuid();
            string jobId;
            await using (var client = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" }, Ct, stateFolder: folder))
            {
                jobId = client.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => WiringProbe.Run(runId));
            }

            // What a process killed while running the job leaves behind: the queue entry marked as taken a moment ago,
            // which the storage would otherwise hide from every worker for its six-hour lease.
            var jobsFile = Path.Combine(folder, "healthrec-jobs.db");
            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={jobsFile}"))
            {
                await connection.OpenAsync(Ct);
                await using var take = connection.CreateCommand();
                take.CommandText = "UPDATE JobQueue SET FetchedAt = $now";
                take.Parameters.AddWithValue("$now", DateTime.UtcNow.Ticks);
                Assert.Equal(1, await take.ExecuteNonQueryAsync(Ct));
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await using var restarted = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Jobs:PollInterval"] = "00:00:00.200" }, Ct, stateFolder: folder);
            await WaitForStateAsync(restarted.Services.GetRequiredService<JobStorage>(), jobId, "Succeeded");
            Assert.True(WiringProbe.Runs.ContainsKey(runId));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task GivenPostgres_WhenAJobIsEnqueued_ThenItIsStoredInTheHangfireSchemaAndRun()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(HealthTests.Postgres(database.ConnectionString), Ct);
        Assert.IsType<PostgreSqlStorage>(server.Services.GetRequiredService<JobStorage>());

        var (runId, jobId) = await RunProbeAsync(server);

        Assert.True(WiringProbe.Runs.ContainsKey(runId));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT statename FROM hangfire.job WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", long.Parse(jobId, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Succeeded", await command.ExecuteScalarAsync(Ct));
    }

    [Fact]
    public async Task GivenFourNodesStartingAtOnceOnAnEmptyDatabase_WhenEachInstallsHangfiresSchema_ThenNoneFailsAndEachRunsJobs()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        var nodes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RunningServer.StartAsync(HealthTests.Postgres(database.ConnectionString), Ct,
            builder => builder.Logging.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs)))));
        try
        {
            foreach (var node in nodes)
            {
                var (runId, _) = await RunProbeAsync(node);
                Assert.True(WiringProbe.Runs.ContainsKey(runId));
            }

            var errors = logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error).Select(r => $"{r.Category}: {r.Message} {r.Exception?.Message}").ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task<(Guid RunId, string JobId)> RunProbeAsync(RunningServer server)
    {
        var runId = Guid.NewGuid();
        var jobId = server.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => WiringProbe.Run(runId));
        await WaitForStateAsync(server.Services.GetRequiredService<JobStorage>(), jobId, "Succeeded");
        return (runId, jobId);
    }

    /// <summary>Waits (at most 60 s) until the job has reached a final state, then asserts it is <paramref name="expected"/>.</summary>
    private static async Task WaitForStateAsync(JobStorage storage, string jobId, string expected)
    {
        var monitoring = storage.GetMonitoringApi();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? state = null;
        while (DateTime.UtcNow < deadline)
        {
            state = monitoring.JobDetails(jobId)?.History.FirstOrDefault()?.StateName;
            if (state is "Succeeded" or "Failed")
            {
                break;
            }

            await Task.Delay(100, Ct);
        }

        Assert.Equal(expected, state);
    }
}

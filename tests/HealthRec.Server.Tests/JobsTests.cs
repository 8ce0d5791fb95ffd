using System.Collections.Concurrent;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using HealthRec.Testing;
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
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GivenEmbeddedDefault_WhenAJobIsEnqueued_ThenAWorkerRunsItFromInMemoryStorage()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        Assert.IsType<InMemoryStorage>(server.Services.GetRequiredService<JobStorage>());

        var (runId, jobId) = await RunProbeAsync(server);

        Assert.True(WiringProbe.Runs.ContainsKey(runId));
        Assert.Equal("Succeeded", server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(jobId).History[0].StateName);
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

    private static async Task<(Guid RunId, string JobId)> RunProbeAsync(RunningServer server)
    {
        var runId = Guid.NewGuid();
        var jobId = server.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => WiringProbe.Run(runId));
        var monitoring = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var state = monitoring.JobDetails(jobId)?.History.FirstOrDefault()?.StateName;
            if (state is "Succeeded" or "Failed")
            {
                break;
            }

            await Task.Delay(100, Ct);
        }

        return (runId, jobId);
    }
}

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthRec.Data;

/// <summary>Whether the schema has been brought up to date, and if not, why (safe to show: no secrets).</summary>
public sealed class DatabaseStatus
{
    private volatile string? _problem = "schema migration has not run yet";

    public bool SchemaReady => _problem is null;

    public string? Problem => _problem;

    internal void Ready() => _problem = null;

    internal void Failed(string problem) => _problem = problem;
}

/// <summary>
/// Migrates the schema before anything else starts. A PostgreSQL server that cannot be reached yet is an
/// outage, not a bug: the node starts anyway (hooks keep answering), <c>/health/ready</c> says what is
/// wrong, and the migration is retried with back-off. Any other failure stops start-up.
/// </summary>
internal sealed class DatabaseStartup(
    SchemaMigrator migrator, HealthRecDatabase database, DatabaseStatus status, TimeProvider timeProvider,
    ILogger<DatabaseStartup> logger) : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _retries = Task.CompletedTask;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await migrator.MigrateAsync(cancellationToken);
            status.Ready();
            Log.DatabaseReady(logger, database.Description);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            status.Failed($"{database.Description} is unreachable: {ex.Message}");
            _retries = RetryAsync(ex, _stopping.Token);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken) => await _stopping.CancelAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _retries.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: an unfinished retry loop is expected.
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    private async Task RetryAsync(Exception first, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        var last = first;
        while (true)
        {
            Log.DatabaseUnreachable(logger, database.Description, last.Message, delay.TotalSeconds);
            await Task.Delay(delay, timeProvider, cancellationToken);
            try
            {
                await migrator.MigrateAsync(cancellationToken);
                status.Ready();
                Log.DatabaseReady(logger, database.Description);
                return;
            }
            catch (Exception ex) when (IsUnreachable(ex))
            {
                status.Failed($"{database.Description} is unreachable: {ex.Message}");
                last = ex;
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
            }
        }
    }

    private static bool IsUnreachable(Exception ex) =>
        ex is NpgsqlException { IsTransient: true } or TimeoutException;
}

/// <summary>Readiness: the schema is migrated and the database answers a trivial query within a few seconds.</summary>
internal sealed class DatabaseReadinessCheck(HealthRecDatabase database, DatabaseStatus status) : IHealthCheck
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!status.SchemaReady)
        {
            return HealthCheckResult.Unhealthy(status.Problem);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Budget);
        try
        {
            await using var connection = await database.OpenConnectionAsync(timeout.Token);
            await using var ping = connection.CreateCommand("SELECT 1");
            await ping.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy(database.Description);
        }
        catch (Exception ex) when (ex is NpgsqlException or Microsoft.Data.Sqlite.SqliteException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"{database.Description} did not answer: {ex.Message}");
        }
    }
}

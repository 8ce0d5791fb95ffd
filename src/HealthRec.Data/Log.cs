namespace HealthRec.Data;

/// <summary>Every log message of HealthRec.Data, with stable event ids (2000–2999).</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Applied schema migration {MigrationId} on {Engine}")]
    public static partial void MigrationApplied(ILogger logger, string migrationId, DatabaseEngine engine);

    [LoggerMessage(2001, LogLevel.Information, "Application database is {Database}; schema is up to date")]
    public static partial void DatabaseReady(ILogger logger, string database);

    [LoggerMessage(2002, LogLevel.Warning, "Application database {Database} is unreachable ({Reason}); retrying in {DelaySeconds} s, readiness reports unhealthy until then")]
    public static partial void DatabaseUnreachable(ILogger logger, string database, string reason, double delaySeconds);
}

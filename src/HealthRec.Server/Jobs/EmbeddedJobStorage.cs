using Hangfire.Storage.SQLite;
using Microsoft.Data.Sqlite;

namespace HealthRec.Server.Jobs;

/// <summary>
/// The embedded default's Hangfire storage: a SQLite file (<c>Storage:JobsSqlitePath</c>), so schedules, queued jobs and
/// job history survive a restart. It belongs to one process: the embedded default is a single node.
/// </summary>
internal static partial class EmbeddedJobStorage
{
    /// <summary>
    /// How long a taken job stays invisible to the node's other workers. The SQLite storage has no sliding lease (a
    /// running job does not renew it), so it must outlast the longest job — a retrain of every outcome — and a job
    /// abandoned by a dead process is not waited out but handed back at the next start (<see cref="ReleaseAbandoned"/>).
    /// </summary>
    public static readonly TimeSpan InvisibilityTimeout = TimeSpan.FromHours(6);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "{Count} job(s) taken by this node's previous process, which stopped before finishing them, are queued again")]
    private static partial void Released(ILogger logger, int count);

    public static IGlobalConfiguration Use(IGlobalConfiguration configuration, string path, JobsOptions settings, ILogger logger)
    {
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var released = ReleaseAbandoned(fullPath);
        if (released > 0)
        {
            Released(logger, released);
        }

        return configuration.UseSQLiteStorage(fullPath, new SQLiteStorageOptions
        {
            QueuePollInterval = settings.PollInterval,
            InvisibilityTimeout = InvisibilityTimeout,
        });
    }

    /// <summary>
    /// Before this process's workers start, every job still marked as taken was taken by a process that is gone (the file
    /// is this node's alone): it is queued again (<c>FetchedAt</c> back to its "not taken" value, 0 ticks), so a job
    /// interrupted by a crash or a kill resumes at the next start instead of waiting out <see cref="InvisibilityTimeout"/>.
    /// </summary>
    internal static int ReleaseAbandoned(string fullPath)
    {
        if (!File.Exists(fullPath))
        {
            return 0;
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fullPath, DefaultTimeout = 30 }.ToString());
        connection.Open();
        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'JobQueue'";
        if (Convert.ToInt64(exists.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return 0;
        }

        using var release = connection.CreateCommand();
        release.CommandText = "UPDATE JobQueue SET FetchedAt = 0 WHERE FetchedAt > 0";
        return release.ExecuteNonQuery();
    }
}

using System.ComponentModel.DataAnnotations;

namespace HealthRec.Data;

/// <summary>Settings under <c>Storage</c>. PostgreSQL is chosen by <c>ConnectionStrings:Postgres</c> instead.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The SQLite file used when no PostgreSQL connection string is configured; relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Storage:SqlitePath must name a file, e.g. var/healthrec.db")]
    public string SqlitePath { get; set; } = "var/healthrec.db";

    /// <summary>
    /// The embedded default's job storage (Hangfire: schedules, queued and running jobs, history), a SQLite file of its
    /// own (relative to the content root). Empty: beside <see cref="SqlitePath"/>, named <c>&lt;name&gt;-jobs.db</c>.
    /// A file of its own because SQLite lets one writer at a time into a file: Hangfire's writes (locks, heartbeats,
    /// state changes) would otherwise queue with the audit and call writes of the CDS path.
    /// </summary>
    public string JobsSqlitePath { get; set; } = "";

    /// <summary>The job storage file, as configured or derived from <see cref="SqlitePath"/>.</summary>
    public string ResolvedJobsSqlitePath => string.IsNullOrWhiteSpace(JobsSqlitePath)
        ? Path.Combine(Path.GetDirectoryName(SqlitePath) ?? "", Path.GetFileNameWithoutExtension(SqlitePath) + "-jobs.db")
        : JobsSqlitePath;

    /// <summary>
    /// Where audit records wait, flushed to disk, while the database cannot take them (relative to the content root);
    /// they are appended to the chain when it can. Each node has its own.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Storage:AuditSpoolPath must name a folder, e.g. var/audit-spool")]
    public string AuditSpoolPath { get; set; } = "var/audit-spool";
}

using System.ComponentModel.DataAnnotations;

namespace HealthRec.Data;

/// <summary>Settings under <c>Storage</c>. PostgreSQL is chosen by <c>ConnectionStrings:Postgres</c> instead.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The SQLite file used when no PostgreSQL connection string is configured; relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Storage:SqlitePath must name a file, e.g. var/healthrec.db")]
    public string SqlitePath { get; set; } = "var/healthrec.db";
}

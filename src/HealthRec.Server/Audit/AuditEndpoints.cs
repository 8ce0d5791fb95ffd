namespace HealthRec.Server.Audit;

/// <summary>Settings under <c>Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>When the audit trail's chain is verified (cron, UTC); empty for never.</summary>
    public string? VerifyCron { get; set; } = "30 4 * * *";

    /// <summary>
    /// How long records stay in the trail before they may be archived (days; HIPAA asks that such documentation be
    /// kept six years). Only records older than this are ever archived; 0 turns archiving off.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 36_500)]
    public int RetentionDays { get; set; } = 2190;

    /// <summary>When records past retention are archived (cron, UTC); empty for never.</summary>
    public string? ArchiveCron { get; set; } = "45 4 * * 0";

    /// <summary>Where archives are written (relative to the content root): NDJSON files of the records with their hashes. Keep them on write-once storage.</summary>
    public string ArchivePath { get; set; } = "var/audit-archive";
}

/// <summary>The answer of <c>GET /admin/audit/verify</c>.</summary>
public sealed record AuditVerificationResult(bool Intact, long Records, long? BrokenAt, string? Problem);

/// <summary>
/// The audit trail's verification: on request (<c>GET /admin/audit/verify</c>, staff role Admin or Auditor)
/// and daily as a Hangfire job, which fails, naming the first broken record, when the chain does not hold.
/// </summary>
public static class AuditEndpoints
{
    public const string VerifyJobName = "audit-verify";
    public const string ArchiveJobName = "audit-archive";

    public static WebApplicationBuilder AddAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddTransient<AuditVerifyJob>();
        builder.Services.AddTransient<AuditArchiveJob>();
        builder.Services.AddSingleton<AuditTrail>();
        return builder;
    }

    public static WebApplication MapAudit(this WebApplication app)
    {
        // The daily schedule is written with the other jobs' (JobsExtensions), from Audit:VerifyCron.
        app.MapGet("/admin/audit/verify", VerifyAsync).WithTags("Audit").WithName("VerifyAuditTrail")
            .WithSummary("Walk the audit trail's hash chain and report the first broken record (staff role Admin or Auditor).");
        app.MapAuditSearch();
        app.MapAuditReview();
        return app;
    }

    internal static async Task<Results<Ok<AuditVerificationResult>, ProblemHttpResult>> VerifyAsync(HttpContext http, AuditStore store, AuditWriter writer)
    {
        await writer.FlushAsync(http.RequestAborted);
        var verification = await store.VerifyAsync(http.RequestAborted);
        return TypedResults.Ok(new AuditVerificationResult(verification.Intact, verification.Records, verification.BrokenAt, verification.Problem));
    }
}

/// <summary>The daily verification: succeeds with the count when the chain holds, fails naming the first broken record when it does not.</summary>
public sealed partial class AuditVerifyJob(AuditStore store, AuditWriter writer, ILogger<AuditVerifyJob> logger)
{
    [JobDisplayName("audit: verify the chain")]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [60, 600])]
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        await writer.FlushAsync(cancellationToken);
        var verification = await store.VerifyAsync(cancellationToken);
        if (!verification.Intact)
        {
            LogBroken(verification.BrokenAt!.Value, verification.Problem!);
            throw new InvalidOperationException($"The audit trail is broken at record {verification.BrokenAt}: {verification.Problem}");
        }

        LogIntact(verification.Records);
        return $"intact: {verification.Records} records";
    }

    [LoggerMessage(EventId = 10_001, Level = LogLevel.Information, Message = "Audit trail intact: {Records} records")]
    private partial void LogIntact(long records);

    [LoggerMessage(EventId = 10_002, Level = LogLevel.Critical, Message = "Audit trail broken at record {Seq}: {Problem}")]
    private partial void LogBroken(long seq, string problem);
}

/// <summary>
/// Archives records past retention (<c>Audit:RetentionDays</c>) through the store's verified procedure — the chain
/// verified, the records written with their hashes to a file in <c>Audit:ArchivePath</c>, the file read back and
/// verified, the archive recorded, and only then the records removed — and records the archive itself in the trail
/// (which file, its SHA-256, which records, and the hash the remaining chain starts from).
/// </summary>
public sealed partial class AuditArchiveJob(AuditStore store, AuditWriter writer, AuditTrail trail, Microsoft.Extensions.Options.IOptions<AuditOptions> options,
    IHostEnvironment environment, TimeProvider time, ILogger<AuditArchiveJob> logger)
{
    [JobDisplayName("audit: archive records past retention")]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [600, 3600])]
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.RetentionDays <= 0)
        {
            return "archiving is off (Audit:RetentionDays 0)";
        }

        await writer.FlushAsync(cancellationToken);
        var now = time.GetUtcNow();
        var cutoff = now.AddDays(-settings.RetentionDays);
        var archive = await store.ArchiveAsync(cutoff, Path.Combine(environment.ContentRootPath, settings.ArchivePath), cancellationToken);
        if (archive is null)
        {
            return $"nothing recorded before {cutoff:yyyy-MM-dd}";
        }

        var n = System.Globalization.CultureInfo.InvariantCulture;
        await trail.RecordAsync(AuditEvents.New(AuditEvents.Export, "audit-archive", Hl7.Fhir.Model.AuditEvent.AuditEventAction.D, now, AuditOutcome.Success, null)
            .Server(requestor: true)
            .Thing(AuditCodes.Uri, new Uri(archive.File).AbsoluteUri, name: Path.GetFileName(archive.File),
                description: $"records {archive.FirstSeq} to {archive.ArchivedThrough}, recorded before {cutoff:yyyy-MM-dd}, archived and removed",
                details: [("sha256", archive.FileSha256), ("records", archive.Records.ToString(n)), ("first", archive.FirstSeq.ToString(n)),
                    ("through", archive.ArchivedThrough.ToString(n)), ("anchorHash", archive.LastHash), ("retentionDays", settings.RetentionDays.ToString(n))]));
        LogArchived(archive.Records, archive.FirstSeq, archive.ArchivedThrough, archive.File);
        return $"archived {archive.Records} records ({archive.FirstSeq}-{archive.ArchivedThrough}) to {archive.File}, sha256 {archive.FileSha256}";
    }

    [LoggerMessage(EventId = 10_003, Level = LogLevel.Information, Message = "Audit: archived {Records} records ({First}-{Through}) to {File}")]
    private partial void LogArchived(long records, long first, long through, string file);
}

using Hangfire;
using HealthRec.Data;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthRec.Server.Audit;

/// <summary>Settings under <c>Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>When the audit trail's chain is verified (cron, UTC); empty for never.</summary>
    public string? VerifyCron { get; set; } = "30 4 * * *";
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

    public static WebApplicationBuilder AddAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section);
        builder.Services.AddTransient<AuditVerifyJob>();
        builder.Services.AddSingleton<AuditTrail>();
        return builder;
    }

    public static WebApplication MapAudit(this WebApplication app)
    {
        // The daily schedule is written with the other jobs' (JobsExtensions), from Audit:VerifyCron.
        app.MapGet("/admin/audit/verify", VerifyAsync).WithTags("Audit").WithName("VerifyAuditTrail")
            .WithSummary("Walk the audit trail's hash chain and report the first broken record (staff role Admin or Auditor).");
        app.MapAuditSearch();
        return app;
    }

    internal static async Task<Results<Ok<AuditVerificationResult>, ProblemHttpResult>> VerifyAsync(HttpContext http, AuditStore store)
    {
        var verification = await store.VerifyAsync(http.RequestAborted);
        return TypedResults.Ok(new AuditVerificationResult(verification.Intact, verification.Records, verification.BrokenAt, verification.Problem));
    }
}

/// <summary>The daily verification: succeeds with the count when the chain holds, fails naming the first broken record when it does not.</summary>
public sealed partial class AuditVerifyJob(AuditStore store, ILogger<AuditVerifyJob> logger)
{
    [JobDisplayName("audit: verify the chain")]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [60, 600])]
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
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

using Hl7.Fhir.Model;

namespace HealthRec.Server.Audit;

/// <summary>
/// Every Hangfire job run in the audit trail: a job-run AuditEvent when it starts and one when it ends (success, or
/// failure with the exception's type — never its message, which may hold a path or a value), naming the job, its id, its
/// arguments (ids and settings by design) and the node. A start that cannot be recorded fails the job, which Hangfire
/// retries: no job runs unrecorded.
/// </summary>
public sealed class JobAuditFilter(AuditTrail audit, TimeProvider time) : IServerFilter
{
    public void OnPerforming(PerformingContext context) =>
        audit.RecordAsync(Event(context.BackgroundJob, "started", AuditOutcome.Success)).GetAwaiter().GetResult();

    public void OnPerformed(PerformedContext context)
    {
        var outcome = context.Exception is null || context.ExceptionHandled
            ? AuditOutcome.Success
            : AuditOutcome.Failed($"failed: {context.Exception.GetBaseException().GetType().Name}", serious: true);
        audit.RecordAsync(Event(context.BackgroundJob, context.Canceled ? "cancelled" : "finished", outcome)).GetAwaiter().GetResult();
    }

    private AuditEvent Event(Hangfire.BackgroundJob job, string phase, AuditOutcome outcome)
    {
        var name = $"{job.Job.Type.Name}.{job.Job.Method.Name}";
        var arguments = string.Join(", ", job.Job.Args.Select(a => a switch
        {
            null => "null",
            CancellationToken or PerformContext => "-",
            _ => a.ToString(),
        }));
        return AuditEvents.New(AuditEvents.ApplicationActivity, "job-run", AuditEvent.AuditEventAction.E, time.GetUtcNow(), outcome, null)
            .Server(requestor: true)
            .Thing("https://healthrec.example.org/fhir/sid/job", job.Id, name: name, description: $"{name} {phase}",
                details: [("phase", phase), ("arguments", arguments)]);
    }
}

/// <summary>The audit records of model promotions and RiskAssessment write-backs.</summary>
public static class ModelAudit
{
    /// <summary>A promotion gate's decision: the outcome, challenger and champion versions, promoted or kept for review, and why.</summary>
    public static AuditEvent Promotion(ML.Registry.GateDecision decision, string summary, DateTimeOffset at) =>
        AuditEvents.New(AuditEvents.ApplicationActivity, "model-promotion", AuditEvent.AuditEventAction.E, at, AuditOutcome.Success, null)
            .Server(requestor: true)
            .Thing(AuditCodes.ModelSystem, $"{decision.Outcome} {decision.Challenger}", name: decision.Outcome,
                description: decision.Promote ? $"{decision.Challenger} promoted over {decision.Champion ?? "no champion"}" : $"{decision.Challenger} rejected; {decision.Champion ?? "no champion"} kept",
                details: [("promote", decision.Promote ? "true" : "false"), ("champion", decision.Champion ?? "none"), ("testExamples", decision.TestExamples.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("summary", summary)]);

    /// <summary>RiskAssessments written back to a FHIR server for one chunk of a scoring run (the server and count; the estimates are in the run's stored rows).</summary>
    public static AuditEvent WriteBack(Uri server, string runId, int chunk, int count, AuditOutcome outcome, DateTimeOffset at) =>
        AuditEvents.New(AuditEvents.Rest, "write-back", AuditEvent.AuditEventAction.U, at, outcome, null)
            .Server(requestor: true)
            .Thing(AuditCodes.Uri, server.AbsoluteUri, name: "FHIR server", description: $"{count} RiskAssessments by conditional update",
                details: [("run", runId), ("chunk", chunk.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("count", count.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
}

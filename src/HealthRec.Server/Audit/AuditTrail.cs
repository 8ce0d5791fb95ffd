using System.Diagnostics.Metrics;
using Hl7.Fhir.Model;

namespace HealthRec.Server.Audit;

/// <summary>
/// Where operations record themselves: the resources go to the audit writer, and the task completes when they are in
/// the node's audit journal (the chain follows moments later). An operation awaits it before it answers, and fails when
/// it fails: nothing HealthRec does goes unrecorded.
/// </summary>
public sealed class AuditTrail(AuditWriter writer, IMeterFactory meters)
{
    /// <summary>The meter of HealthRec's own measurements (<c>dotnet-counters monitor --counters HealthRec</c>).</summary>
    public const string MeterName = "HealthRec";

    private readonly Histogram<double> _duration = meters.Create(MeterName).CreateHistogram<double>("healthrec.audit.duration", "ms",
        "Time an operation spends on its audit records before it answers: building them, serializing them and writing them to the node's journal");

    /// <summary>Records the time since <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) as the audit cost of an operation.</summary>
    public void Measured(string operation, long started) =>
        _duration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, new KeyValuePair<string, object?>("operation", operation));

    public System.Threading.Tasks.Task RecordAsync(params Resource[] resources) => writer.WriteAsync([.. resources.Select(AuditEvents.ToEntry)]);

    public System.Threading.Tasks.Task RecordAsync(IEnumerable<Resource> resources) => writer.WriteAsync([.. resources.Select(AuditEvents.ToEntry)]);

    /// <summary>Records the resources; false when they could not be written (the writer has logged why), and the operation must not go ahead.</summary>
    public async Task<bool> TryRecordAsync(params IEnumerable<Resource> resources)
    {
        try
        {
            await RecordAsync(resources);
            return true;
        }
        catch (Exception ex) when (ex is AggregateException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The answer, once its records are written; <see cref="NotRecorded"/> when they cannot be.</summary>
    public async Task<IResult> AnswerAsync(IResult answer, params IEnumerable<Resource> records) =>
        await TryRecordAsync(records) ? answer : NotRecorded();

    /// <summary>The answer to a request whose audit records could not be written: 503, the operation not carried out.</summary>
    public static IResult NotRecorded() => TypedResults.Problem(statusCode: 503, title: "The audit trail could not record this request",
        detail: "HealthRec records every request in its audit trail before it answers; the trail could not be written, so the request was not carried out. Try again shortly.");
}

/// <summary>The audit records of a CDS Hooks call: the call, each FHIR query made for it, and its GuidanceResponse.</summary>
internal static class CdsAudit
{
    public const string ServiceSystem = "https://healthrec.example.org/fhir/sid/cds-service";
    public const string CardSystem = "https://healthrec.example.org/fhir/sid/cds-card";

    public sealed record Call(string ServiceId, string? Hook, string? HookInstance, string? PatientId, string? ClientIssuer, string? Tenant, string? Jti,
        string? UserId, string RequestId, DateTimeOffset At)
    {
        /// <summary>The caller's network address (recorded for a refused call, whose caller is not known).</summary>
        public string? RemoteAddress { get; init; }
    }

    /// <summary>The call's AuditEvent: who called (client, tenant, user), which patient and service, the cards returned (by uuid, with the models), the outcome.</summary>
    public static AuditEvent CallEvent(Call call, AuditOutcome outcome, IReadOnlyList<(string Uuid, string Kind, string Subject)> cards, string? models,
        string? guidanceResponseId)
    {
        var audit = AuditEvents.New(AuditEvents.Rest, "cds-call", AuditEvent.AuditEventAction.E, call.At, outcome, call.RequestId);
        if (call.ClientIssuer is not null)
        {
            audit.Application(AuditCodes.Uri, call.ClientIssuer, call.Tenant is null ? null : $"tenant {call.Tenant}", requestor: call.UserId is null);
        }
        else if (outcome.Code != AuditEvent.AuditEventOutcome.N0)
        {
            audit.Anonymous(call.RemoteAddress);
        }

        if (call.UserId is { Length: > 0 } user)
        {
            audit.User(user, null);
        }

        audit.Server(requestor: false).Patient(call.PatientId);
        var details = new List<(string, string)>();
        if (call.Hook is not null)
        {
            details.Add(("hook", call.Hook));
        }

        if (call.HookInstance is not null)
        {
            details.Add(("hookInstance", call.HookInstance));
        }

        if (call.Jti is not null)
        {
            details.Add(("jti", call.Jti));
        }

        if (call.Tenant is not null)
        {
            details.Add(("tenant", call.Tenant));
        }

        audit.Thing(ServiceSystem, call.ServiceId, name: call.ServiceId, details: details);
        foreach (var (uuid, kind, subject) in cards)
        {
            audit.Thing(CardSystem, uuid, description: $"{kind} card ({subject})", details: models is null ? null : [("models", models)]);
        }

        if (guidanceResponseId is not null)
        {
            audit.Thing(AuditCodes.Uri, guidanceResponseId, reference: $"GuidanceResponse/{guidanceResponseId}");
        }

        return audit;
    }

    /// <summary>One FHIR read or search made for the call, on the call's behalf (the query, never the results).</summary>
    public static AuditEvent QueryEvent(Call call, Uri server, string query, string? failure)
    {
        var search = query.Contains('?', StringComparison.Ordinal) || !query.Contains('/', StringComparison.Ordinal);
        var audit = AuditEvents.New(AuditEvents.Rest, "fhir-query", search ? AuditEvent.AuditEventAction.E : AuditEvent.AuditEventAction.R, call.At,
            failure is null ? AuditOutcome.Success : AuditOutcome.Failed(failure), call.RequestId);
        audit.Subtype.Add(new Coding(AuditCodes.RestfulInteraction, search ? "search-type" : "read"));
        audit.Server(requestor: false);
        if (call.UserId is { Length: > 0 } user)
        {
            audit.User(user, null);
        }

        if (call.ClientIssuer is not null)
        {
            audit.Application(AuditCodes.Uri, call.ClientIssuer, null, requestor: false);
        }

        return audit.Patient(call.PatientId).QueryEntity(server, query);
    }

    /// <summary>Feedback received: the client, and each card it is about with its outcome and override reason (a free-text comment is noted, never copied).</summary>
    public static AuditEvent FeedbackEvent(Call call, AuditOutcome outcome, IReadOnlyList<Data.CdsFeedback> items)
    {
        var audit = AuditEvents.New(AuditEvents.Rest, "cds-feedback", AuditEvent.AuditEventAction.C, call.At, outcome, call.RequestId);
        if (call.ClientIssuer is not null)
        {
            audit.Application(AuditCodes.Uri, call.ClientIssuer, call.Tenant is null ? null : $"tenant {call.Tenant}", requestor: true);
        }
        else if (outcome.Code != AuditEvent.AuditEventOutcome.N0)
        {
            audit.Anonymous(call.RemoteAddress);
        }

        audit.Server(requestor: false).Thing(ServiceSystem, call.ServiceId, name: call.ServiceId, details: call.Jti is null ? null : [("jti", call.Jti)]);
        foreach (var item in items)
        {
            var details = new List<(string, string)> { ("outcome", item.Outcome) };
            details.AddRange(item.AcceptedSuggestions.Select(s => ("acceptedSuggestion", s)));
            if (item.OverrideCode is not null)
            {
                details.Add(("overrideReason", $"{item.OverrideSystem}|{item.OverrideCode}"));
            }

            if (item.UserComment is { Length: > 0 })
            {
                details.Add(("userComment", "given (not copied here)"));
            }

            audit.Thing(CardSystem, item.CardUuid, details: details);
        }

        return audit;
    }
}

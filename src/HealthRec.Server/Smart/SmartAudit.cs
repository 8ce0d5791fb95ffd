using Hl7.Fhir.Model;

namespace HealthRec.Server.Smart;

/// <summary>
/// The SMART app's audit records: a launch (EHR or standalone), the token exchange at the callback, and each patient
/// view (which reads the record from the EHR's FHIR server) — who (the clinician the EHR's id_token named, and the app's
/// client id at that EHR), which EHR, which patient, and the outcome. The handlers name what they learnt in <see cref="HttpContext.Items"/>; this filter writes
/// the record once the answer is known and before it is sent (503 when it cannot be written). No token is recorded.
/// </summary>
internal sealed class SmartAuditFilter(string subtype) : IEndpointFilter
{
    private const string Issuer = "healthrec.audit.issuer";
    private const string Client = "healthrec.audit.client";
    private const string Patient = "healthrec.audit.patient";
    private const string User = "healthrec.audit.user";

    /// <summary>
    /// What a SMART handler learnt for the audit record: the EHR's FHIR server, HealthRec's client id there, the patient,
    /// and the person signed in (the id_token's fhirUser).
    /// </summary>
    public static void Note(HttpContext http, string? issuer = null, string? client = null, string? patient = null, string? user = null)
    {
        if (user is not null)
        {
            http.Items[User] = user;
        }

        if (issuer is not null)
        {
            http.Items[Issuer] = issuer;
        }

        if (client is not null)
        {
            http.Items[Client] = client;
        }

        if (patient is not null)
        {
            http.Items[Patient] = patient;
        }
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var answer = await next(context);
        var http = context.HttpContext;
        var status = answer is IStatusCodeHttpResult { StatusCode: { } code } ? code : 200;
        var outcome = AuditOutcome.FromStatus(status, status >= 400 && answer is Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult page
            && page.Parameters.TryGetValue("Title", out var title) ? title as string : null);
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        var type = subtype == "smart-view" ? AuditEvents.Rest : AuditEvents.UserAuthentication;
        var action = subtype == "smart-view" ? AuditEvent.AuditEventAction.R : AuditEvent.AuditEventAction.E;
        var audit = AuditEvents.New(type, subtype, action, time.GetUtcNow(), outcome, http.TraceIdentifier);
        // The clinician the EHR's id_token named is who read the record; the app is the agent they read it through.
        if (http.Items[User] is string user)
        {
            audit.User(user, "signed in at the EHR (id_token fhirUser)");
        }

        if (http.Items[Client] is string client)
        {
            audit.Application(http.Items[Issuer] as string ?? AuditCodes.Uri, client, "HealthRec SMART app", requestor: http.Items[User] is null);
        }
        else
        {
            audit.Anonymous(http.Connection.RemoteIpAddress?.ToString());
        }

        audit.Server(requestor: false).Patient(http.Items[Patient] as string);
        if (http.Items[Issuer] is string issuer)
        {
            audit.Thing(AuditCodes.Uri, issuer, name: "EHR FHIR server");
        }

        return await http.RequestServices.GetRequiredService<AuditTrail>().TryRecordAsync(audit) ? answer : AuditTrail.NotRecorded();
    }
}

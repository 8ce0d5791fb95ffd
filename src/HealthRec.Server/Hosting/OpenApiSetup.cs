using Microsoft.OpenApi;

namespace HealthRec.Server.Hosting;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>, browsable at <c>/scalar</c>): what HealthRec is and how callers
/// authenticate, one tag per feature in the order a reader needs them, and the health endpoints, which ASP.NET Core's
/// health checks do not describe themselves.
/// </summary>
internal static class OpenApiSetup
{
    private static readonly (string Name, string Description)[] Tags =
    [
        ("CDS Hooks", "CDS Hooks 2.0: discovery, the services (patient-view risk and recommendations, order-select and order-sign medication checks) and feedback. Calls carry the EHR's JWT when clients are configured (CdsHooks:Clients); without any, only this machine is served."),
        ("SMART app", "The SMART on FHIR app (App Launch 2.2): EHR and standalone launch, the patient view, and a local preview. HTML pages for a clinician."),
        ("Model cards", "The models in use, each with its card: what it estimates, for whom, how it was trained and validated, its limits. Public."),
        ("Knowledge", "The intervention catalog and the medication-safety rules every suggestion and draft order is checked against. Public."),
        ("Population health", "Population-scoring runs and worklists (staff role Clinician or Admin)."),
        ("Model lifecycle", "Every version of each model, the promotion gate's decisions and the evaluations' metrics and drift; jobs run on demand (staff role Admin)."),
        ("Audit", "The tamper-evident audit trail as FHIR AuditEvent and GuidanceResponse searches, its review page and chain verification (staff role Auditor; verification Admin or Auditor)."),
        ("Console", "The operator console: HTML pages over runs, worklists, models and CDS usage (staff roles as their APIs)."),
        ("Operations", "Liveness and readiness for orchestrators and load balancers."),
    ];

    private const string Description =
        "HealthRec is a FHIR-native clinical decision support server: it reads a patient's FHIR R4 record, estimates risks with " +
        "LightGBM models and published equations, and recommends safe, evidence-backed interventions — as CDS Hooks cards, a SMART " +
        "app and FHIR resources. Every estimate is labelled with its model, its validation and whether it was trained on synthetic data.\n\n" +
        "**Authentication.** CDS Hooks calls: the EHR's signed JWT (CDS Hooks 2.0), from the clients configured in `CdsHooks:Clients`. " +
        "Staff endpoints (`/api`, `/admin`, `/audit`, `/console`): a bearer token from the configured OpenID Connect authority whose " +
        "`roles` claim holds Admin, Auditor or Clinician; with no authority configured, requests from this machine act as a local " +
        "operator with every role and others get 401. Model cards, knowledge and health are public.\n\n" +
        "**Errors** are RFC 9457 problem details (CDS Hooks: the status and a body naming what is wrong); every access and every " +
        "piece of advice is in the audit trail.";

    public static IServiceCollection AddHealthRecOpenApi(this IServiceCollection services) => services.AddOpenApi(options =>
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo { Title = "HealthRec", Version = "1", Description = Description };
            document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
            document.Paths ??= [];
            document.Paths["/health/live"] = Health(document, "Liveness: the process answers (no dependency is checked).", "Alive.");
            document.Paths["/health/ready"] = Health(document,
                "Readiness: the database answers (the body names its engine); 503 with the failing check otherwise.", "Ready.");
            return Task.CompletedTask;
        }));

    private static OpenApiPathItem Health(OpenApiDocument document, string summary, string ok) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                Summary = summary,
                Tags = new HashSet<OpenApiTagReference> { new("Operations", document) },
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse { Description = ok },
                    ["503"] = new OpenApiResponse { Description = "Not healthy: the body lists each check and its status." },
                },
            },
        },
    };
}

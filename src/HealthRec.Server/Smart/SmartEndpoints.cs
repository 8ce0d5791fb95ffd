namespace HealthRec.Server.Smart;

/// <summary>
/// The SMART app's pages: the launches and their callback (<see cref="SmartLaunch"/>), the patient view of a signed-in
/// session (<c>/smart/app</c>), and, from this machine only, a preview of the same view over a FHIR server named in the
/// query (no EHR, no token), for trying the app and the models locally.
/// </summary>
public static partial class SmartEndpoints
{
    /// <summary>The named HTTP client for FHIR reads: no redirects (a bearer token must not follow one elsewhere).</summary>
    public const string FhirHttpClient = "smart-fhir";

    private static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(10);

    public static WebApplicationBuilder AddSmart(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SmartOptions>().BindConfiguration(SmartOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRazorComponents();
        // One key ring for every node, in the HealthRec database: a launch started on one node is finished on another.
        var protection = builder.Services.AddDataProtection().SetApplicationName("HealthRec");
        // In production the key ring is encrypted at rest with a certificate (a PKCS#12 file and its password, from the
        // environment): without one, whoever reads the database reads the keys that encrypt the sessions beside them.
        if (builder.Configuration["DataProtection:CertificatePath"] is { Length: > 0 } certificate)
        {
            protection.ProtectKeysWithCertificate(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(
                Path.Combine(builder.Environment.ContentRootPath, certificate), builder.Configuration["DataProtection:CertificatePassword"]));
        }

        builder.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<Data.SmartSessionStore>((options, store) => options.XmlRepository = new DatabaseKeyRing(store));
        builder.Services.AddHttpClient(FhirHttpClient).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddHttpClient(SmartLaunch.AuthHttpClient, c => c.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddSingleton<PatientViewBuilder>();
        builder.Services.AddSingleton<SmartSessions>();
        builder.Services.AddSingleton<IdentityTokens>();
        return builder;
    }

    public static WebApplication MapSmart(this WebApplication app)
    {
        var smart = app.MapGroup("/smart").WithTags("SMART app");
        // Pages about a patient: never cached, no referrer to the evidence sites they link to (a preview's URL names the
        // patient), nothing but the page's own inline styles and forms; framing stays allowed (the EHR embeds the app).
        smart.WithPageHeaders("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'");
        smart.MapGet("/launch", SmartLaunch.EhrLaunchAsync).WithName("SmartEhrLaunch").WithSummary("EHR launch (SMART App Launch 2.2): iss and launch from the EHR; redirects to its authorization endpoint with PKCE.").AddEndpointFilter(new SmartAuditFilter("smart-launch"));
        smart.MapGet("/login", SmartLaunch.StandaloneLaunchAsync).WithName("SmartStandaloneLaunch").WithSummary("Standalone launch: iss of the FHIR server; the clinician picks the patient at the EHR's authorization step.").AddEndpointFilter(new SmartAuditFilter("smart-launch"));
        smart.MapGet("/callback", SmartLaunch.CallbackAsync).WithName("SmartCallback").WithSummary("Authorization callback: exchanges the code for a token and opens the patient view of this launch.").AddEndpointFilter(new SmartAuditFilter("smart-token"));
        smart.MapGet("/app/{launch}", AppAsync).WithName("SmartPatientView").WithSummary("The patient view of one launch (HTML): risks with their factors and what-if, suggestions with evidence, trends. Only the launch's own cookie opens it.").AddEndpointFilter(new SmartAuditFilter("smart-view"));
        // The app's address before launches had their own: open it from the chart again.
        smart.MapGet("/app", () => Error(401, "No HealthRec session", ["Open HealthRec from the patient's chart in the EHR (or its card's link) to sign in."]))
            .WithName("SmartPatientViewWithoutLaunch").WithSummary("The app without a launch: 401, open it from the patient's chart.");
        smart.MapGet("/preview", PreviewAsync).WithName("PreviewPatient").WithSummary("Local preview of a patient view from an open FHIR server (iss, patient), without an EHR launch; requests from this machine only.").AddEndpointFilter(new SmartAuditFilter("smart-view"));
        // The public keys of HealthRec's asymmetric clients, for EHRs to register by URL (SMART confidential-asymmetric).
        smart.MapGet("/jwks.json", (Microsoft.Extensions.Options.IOptions<SmartOptions> options) => TypedResults.Json(new Dictionary<string, object>
        {
            ["keys"] = options.Value.Clients.Select(ClientAssertion.PublicJwk).OfType<Dictionary<string, string>>().DistinctBy(k => k["kid"]).ToList(),
        })).WithName("SmartJwks").WithSummary("The public keys of HealthRec's asymmetric SMART clients (JWK Set), for EHRs to register by URL.");
        return app;
    }

    // One launch, one patient: the launch named in the path, its session found only with the id its own cookie holds (a
    // cookie no other launch's page is sent), so a tab or frame of another launch can never show this one's patient.
    internal static async Task<IResult> AppAsync(HttpContext http, string launch, string? sbp, string? ldl, string? hba1c, string? bmi, string? smoking,
        SmartSessions sessions, Microsoft.Extensions.Options.IOptions<SmartOptions> options, ModelCatalog models, FhirRecordMapper mapper, PatientViewBuilder views,
        IHttpClientFactory clients, TimeProvider time, ILoggerFactory logs, Data.InvocationStore calls)
    {
        var id = SmartSessions.IsLaunchKey(launch) ? http.Request.Cookies[SmartSessions.CookieName(launch)] : null;
        var session = await sessions.FindAsync(id, http.RequestAborted);
        if (session is not null && !string.Equals(session.LaunchKey, launch, StringComparison.Ordinal))
        {
            session = null;
        }

        var logger = logs.CreateLogger(nameof(SmartLaunch));
        if (session is not null)
        {
            session = await SmartLaunch.FreshAsync(id!, session, options.Value, clients, sessions, time, logger, http.RequestAborted);
        }

        if (session is null)
        {
            return Error(401, "No HealthRec session for this launch",
                ["This page's sign-in has ended or belongs to another window. Open HealthRec again from the patient's chart in the EHR (or its card's link)."]);
        }

        SmartAuditFilter.Note(http, issuer: session.Issuer, client: session.ClientId, user: session.FhirUser);
        var problems = new List<string>();
        var whatIf = WhatIf(sbp, ldl, hba1c, bmi, smoking, problems);
        if (problems.Count > 0)
        {
            return Error(400, "The request is not valid", problems);
        }

        var openedFrom = await OpenedFromAsync(session, calls, http.RequestAborted);
        var page = new PageContext(session.NeedPatientBanner, [], openedFrom, session.Encounter, session.Style);
        var (result, refused) = await ViewAsync(http, new Uri(session.Issuer), session.Patient, session.AccessToken, whatIf, page, models, mapper, views, clients, time);
        if (refused)
        {
            // The EHR no longer accepts the access token (its keys rotated, the token was revoked): refresh once and read again.
            var refreshed = await SmartLaunch.FreshAsync(id!, session, options.Value, clients, sessions, time, logger, http.RequestAborted, force: true);
            (result, refused) = refreshed is null ? (null, true)
                : await ViewAsync(http, new Uri(refreshed.Issuer), refreshed.Patient, refreshed.AccessToken, whatIf, page, models, mapper, views, clients, time);
            if (refused)
            {
                await sessions.RemoveAsync(id!, http.RequestAborted);
                return Error(401, "The EHR no longer accepts this session",
                    ["Its FHIR server refused HealthRec's access token, and the session could not be renewed.", "Open HealthRec again from the patient's chart to sign in again. Nothing was shown."]);
            }
        }

        return result!;
    }

    // The card that opened the app, from the appContext its link carried: found among the stored calls, and only when that
    // call was about this session's patient.
    private static async Task<Data.CdsCardRecord?> OpenedFromAsync(SmartSession session, Data.InvocationStore calls, CancellationToken cancellationToken)
    {
        try
        {
            using var context = session.AppContext is { } text ? System.Text.Json.JsonDocument.Parse(text) : null;
            if (context?.RootElement is not { ValueKind: System.Text.Json.JsonValueKind.Object } root
                || !root.TryGetProperty("service", out var service) || !root.TryGetProperty("hookInstance", out var hookInstance)
                || !root.TryGetProperty("card", out var card) || service.GetString() is not { } serviceId || hookInstance.GetString() is not { } instance)
            {
                return null;
            }

            var call = await calls.FindAsync(serviceId, instance, cancellationToken);
            return call is not null && call.PatientId == session.Patient
                ? (await calls.CardsAsync(serviceId, instance, cancellationToken)).FirstOrDefault(c => c.CardUuid == card.GetString())
                : null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            // Not HealthRec's appContext: the view is shown without it.
            return null;
        }
    }

    internal static async Task<IResult> PreviewAsync(HttpContext http, string? iss, string? patient, string? sbp, string? ldl, string? hba1c, string? bmi,
        string? smoking, ModelCatalog models, FhirRecordMapper mapper, PatientViewBuilder views, IHttpClientFactory clients, TimeProvider time)
    {
        if (!Loopback.IsLocal(http))
        {
            return Error(403, "Local requests only", ["The preview reads patients without an EHR launch, so it answers requests from this machine only."]);
        }

        var problems = new List<string>();
        var server = iss is not null && Uri.TryCreate(iss, UriKind.Absolute, out var url) && Loopback.IsHttpsOrLoopback(url) ? url : null;
        if (server is null)
        {
            problems.Add("iss must be the FHIR server's base URL (https, or http on this machine).");
        }

        if (patient is null || !FhirId().IsMatch(patient))
        {
            problems.Add("patient must be a FHIR resource id (letters, digits, '-' and '.', at most 64).");
        }

        var whatIf = WhatIf(sbp, ldl, hba1c, bmi, smoking, problems);
        if (problems.Count > 0)
        {
            return Error(400, "The request is not valid", problems);
        }

        var (result, refused) = await ViewAsync(http, server!, patient!, null, whatIf, new PageContext(true, [("iss", iss!), ("patient", patient!)], null, null, null),
            models, mapper, views, clients, time);
        return refused ? Error(502, "The patient's record could not be read", [$"The FHIR server at {server!.GetLeftPart(UriPartial.Authority)} refused the reads (it asks for a token)."])
            : result!;
    }

    private static WhatIfRequest WhatIf(string? sbp, string? ldl, string? hba1c, string? bmi, string? smoking, List<string> problems)
    {
        var whatIf = new WhatIfRequest(Number("sbp", sbp, 60, 260, problems), Number("ldl", ldl, 20, 400, problems), Number("hba1c", hba1c, 3, 20, problems),
            Number("bmi", bmi, 12, 80, problems), smoking == "stop");
        if (smoking is not (null or "" or "stop"))
        {
            problems.Add("smoking may only be 'stop'.");
        }

        return whatIf;
    }

    /// <summary>What the page shows beside the view: the banner or not, fields the what-if form keeps, the card that opened it, the encounter, the EHR's style.</summary>
    private sealed record PageContext(bool ShowBanner, List<(string, string)> FormFields, Data.CdsCardRecord? OpenedFrom, string? Encounter, SmartStyle? Style);

    // The patient read from the FHIR server (with the session's access token, if any), mapped, estimated and shown; or
    // Refused when the server did not accept the token (the caller decides whether to refresh and read again).
    private static async Task<(IResult? Result, bool Refused)> ViewAsync(HttpContext http, Uri server, string patient, string? token, WhatIfRequest whatIf,
        PageContext page, ModelCatalog models, FhirRecordMapper mapper, PatientViewBuilder views, IHttpClientFactory clients, TimeProvider time)
    {
        SmartAuditFilter.Note(http, issuer: server.AbsoluteUri, patient: patient);
        var report = new IngestionReport();
        PatientResources? resources;
        try
        {
            var source = new FhirRestSource(clients.CreateClient(FhirHttpClient), server,
                new FhirRestSourceOptions { PatientIds = [patient], Deadline = ReadDeadline, BearerToken = token });
            resources = await source.ReadAsync(report, http.RequestAborted).FirstOrDefaultAsync(http.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException or Hl7.Fhir.Rest.FhirOperationException or OperationCanceledException && !http.RequestAborted.IsCancellationRequested)
        {
            return (Error(502, "The patient's record could not be read", [$"The FHIR server at {server.GetLeftPart(UriPartial.Authority)} did not answer in time or refused the reads."]), false);
        }

        if (resources is { Refused: true })
        {
            return (null, true);
        }

        var fhirPatient = resources?.Resources.OfType<Hl7.Fhir.Model.Patient>().FirstOrDefault();
        if (resources is null || fhirPatient is null || mapper.Map(resources, report) is not { } record)
        {
            return (Error(404, "No such patient", [$"The FHIR server has no patient '{patient}'."]), false);
        }

        using var lease = models.Lease();
        var view = views.Build(lease.Models, fhirPatient, record, time.GetUtcNow(), whatIf);
        return (new RazorComponentResult<PatientPage>(new Dictionary<string, object?>
        {
            [nameof(PatientPage.View)] = view,
            [nameof(PatientPage.ShowBanner)] = page.ShowBanner,
            [nameof(PatientPage.FormFields)] = page.FormFields,
            [nameof(PatientPage.OpenedFrom)] = page.OpenedFrom,
            [nameof(PatientPage.Encounter)] = page.Encounter,
            [nameof(PatientPage.Style)] = page.Style,
        }), false);
    }

    private static double? Number(string name, string? text, double min, double max, List<string> problems)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be a number from {min} to {max}."));
        return null;
    }

    private static IResult Error(int status, string title, IReadOnlyList<string> problems) => SmartLaunch.Error(status, title, problems);

    [GeneratedRegex("^[A-Za-z0-9.-]{1,64}$")]
    private static partial Regex FhirId();
}

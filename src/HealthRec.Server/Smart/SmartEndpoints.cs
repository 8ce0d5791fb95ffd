using System.Globalization;
using System.Text.RegularExpressions;
using HealthRec.Clinical.Ingestion;
using HealthRec.Fhir.Ingestion;
using HealthRec.Fhir.Sources;
using HealthRec.Server.Hosting;
using HealthRec.Server.Models;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthRec.Server.Smart;

/// <summary>
/// The SMART app's pages. The patient view reads the patient from a FHIR server (the EHR's <c>iss</c>), exactly as a
/// SMART launch will with its access token; until the launch is built, it is reachable only from this machine, as a
/// preview over a FHIR server named in the query.
/// </summary>
public static partial class SmartEndpoints
{
    /// <summary>The named HTTP client for FHIR reads: no redirects (a bearer token must not follow one elsewhere).</summary>
    public const string FhirHttpClient = "smart-fhir";

    private static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(10);

    public static WebApplicationBuilder AddSmart(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents();
        builder.Services.AddHttpClient(FhirHttpClient).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddSingleton<PatientViewBuilder>();
        return builder;
    }

    public static WebApplication MapSmart(this WebApplication app)
    {
        app.MapGet("/smart/preview", PreviewAsync).WithTags("SMART app").WithName("PreviewPatient")
            .WithSummary("The patient view for a patient on a FHIR server (local requests only, until the SMART launch is built).");
        return app;
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

        var whatIf = new WhatIfRequest(Number("sbp", sbp, 60, 260, problems), Number("ldl", ldl, 20, 400, problems), Number("hba1c", hba1c, 3, 20, problems),
            Number("bmi", bmi, 12, 80, problems), smoking == "stop");
        if (smoking is not (null or "" or "stop"))
        {
            problems.Add("smoking may only be 'stop'.");
        }

        if (problems.Count > 0)
        {
            return Error(400, "The request is not valid", problems);
        }

        var report = new IngestionReport();
        PatientResources? resources;
        try
        {
            var source = new FhirRestSource(clients.CreateClient(FhirHttpClient), server!, new FhirRestSourceOptions { PatientIds = [patient!], Deadline = ReadDeadline });
            resources = await source.ReadAsync(report, http.RequestAborted).FirstOrDefaultAsync(http.RequestAborted);
        }
        catch (Exception ex) when (ex is HttpRequestException or Hl7.Fhir.Rest.FhirOperationException or OperationCanceledException && !http.RequestAborted.IsCancellationRequested)
        {
            return Error(502, "The patient's record could not be read", [$"The FHIR server at {server!.GetLeftPart(UriPartial.Authority)} did not answer in time or refused the reads."]);
        }

        var fhirPatient = resources?.Resources.OfType<Hl7.Fhir.Model.Patient>().FirstOrDefault();
        if (resources is null || fhirPatient is null || mapper.Map(resources, report) is not { } record)
        {
            return Error(404, "No such patient", [$"The FHIR server has no patient '{patient}'."]);
        }

        using var lease = models.Lease();
        var view = views.Build(lease.Models, fhirPatient, record, time.GetUtcNow(), whatIf);
        return new RazorComponentResult<PatientPage>(new Dictionary<string, object?>
        {
            [nameof(PatientPage.View)] = view,
            [nameof(PatientPage.FormFields)] = new List<(string, string)> { ("iss", iss!), ("patient", patient!) },
        });
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

    private static RazorComponentResult<ErrorPage> Error(int status, string title, IReadOnlyList<string> problems) =>
        new(new Dictionary<string, object?> { [nameof(ErrorPage.Title)] = title, [nameof(ErrorPage.Problems)] = problems }) { StatusCode = status };

    [GeneratedRegex("^[A-Za-z0-9.-]{1,64}$")]
    private static partial Regex FhirId();
}

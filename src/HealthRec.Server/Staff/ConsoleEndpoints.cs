namespace HealthRec.Server.Staff;

/// <summary>
/// The operator console (<c>/console</c>): server-rendered pages over what the JSON APIs serve — population-scoring runs
/// and their worklists, the models' lifecycle, CDS usage — in the SMART view's look, with no script. Who may open which
/// page follows the staff rules (<see cref="StaffAccess"/>): runs and worklists Clinician or Admin, models and usage
/// Admin, the home page any staff role.
/// </summary>
internal static class ConsoleEndpoints
{
    private const string Csp = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static WebApplication MapConsole(this WebApplication app)
    {
        var console = app.MapGroup("/console").WithTags("Console").WithPageHeaders(Csp);
        console.MapGet("", HomeAsync).WithName("Console").WithSummary("Console home (HTML): the latest run, the models answering and a week of CDS calls (any staff role).");
        console.MapGet("/runs", RunsAsync).WithName("ConsoleRuns").WithSummary("Population-scoring runs with their progress (HTML; Clinician or Admin).");
        console.MapGet("/runs/{runId}", RunAsync).WithName("ConsoleRun").WithSummary("One run: progress, why chunks wait, its worklists (HTML; Clinician or Admin).");
        console.MapGet("/worklist", WorklistAsync).WithName("ConsoleWorklist").WithSummary("A worklist per outcome, filtered by band (HTML; Clinician or Admin).");
        console.MapGet("/runs/{runId}/patients/{patientId}", PatientAsync).WithName("ConsoleRunPatient")
            .WithSummary("One patient's estimates in a run, every outcome (HTML; Clinician or Admin).");
        console.MapGet("/models", ModelsAsync).WithName("ConsoleModels").WithSummary("Every outcome's champion, versions, latest gate decision and drift (HTML; Admin).");
        console.MapGet("/models/{outcome}", ModelAsync).WithName("ConsoleModel")
            .WithSummary("One outcome: versions, gate decisions with their checks, metrics and drift over time as charts (HTML; Admin).");
        console.MapGet("/usage", UsageAsync).WithName("ConsoleUsage")
            .WithSummary("CDS usage: calls, latency percentiles, cards per call, acceptance and override rates per card type (HTML; Admin).");
        return app;
    }

    private static RazorComponentResult<TPage> Page<TPage>(Dictionary<string, object?> parameters, int status = 200)
        where TPage : Microsoft.AspNetCore.Components.IComponent => new RazorComponentResult<TPage>(parameters) { StatusCode = status };

    private static RazorComponentResult<ConsoleProblemPage> Problem(int status, string title, string detail) =>
        Page<ConsoleProblemPage>(new() { [nameof(ConsoleProblemPage.Title)] = title, [nameof(ConsoleProblemPage.Detail)] = detail }, status);

    internal static async Task<IResult> HomeAsync(HttpContext http, ScoreStore scores, ModelLifecycleStore lifecycle, InvocationStore calls, FeedbackStore feedback,
        ModelCatalog catalog, TimeProvider time)
    {
        var runs = await scores.RecentRunsAsync(1, http.RequestAborted);
        var latest = runs.Count == 0 ? null : await JobEndpoints.SummaryAsync(scores, runs[0], http.RequestAborted);
        var usage = await CdsUsage.ComputeAsync(calls, feedback, time.GetUtcNow(), 7, http.RequestAborted, withFeedback: false);
        var evaluations = await lifecycle.EvaluationsAsync(null, 100, http.RequestAborted);
        var models = catalog.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal)
            .Select(p => new ConsoleModelLine(p.Definition.Id, p.Definition.Title, p.AnsweringVersion, p.ReferenceAnswers ? "reference equation" : "model",
                evaluations.FirstOrDefault(e => e.Outcome == p.Definition.Id)?.DriftFlag)).ToList();
        return Page<ConsoleHomePage>(new()
        {
            [nameof(ConsoleHomePage.LatestRun)] = latest,
            [nameof(ConsoleHomePage.Usage)] = usage,
            [nameof(ConsoleHomePage.Models)] = models,
        });
    }

    internal static async Task<IResult> RunsAsync(HttpContext http, ScoreStore store)
    {
        var runs = new List<RunSummary>();
        foreach (var run in await store.RecentRunsAsync(20, http.RequestAborted))
        {
            runs.Add(await JobEndpoints.SummaryAsync(store, run, http.RequestAborted));
        }

        return Page<ConsoleRunsPage>(new() { [nameof(ConsoleRunsPage.Runs)] = runs });
    }

    internal static async Task<IResult> RunAsync(HttpContext http, ScoreStore store, JobStorage jobs, IOptions<JobsOptions> settings, OutcomeLabels outcomes, string runId)
    {
        if (await JobEndpoints.RunAsync(http, store, jobs, settings, runId) is not { Result: Ok<RunDetail> { Value: { } detail } })
        {
            return Problem(404, "No such run", $"No population-scoring run '{runId}'.");
        }

        return Page<ConsoleRunPage>(new()
        {
            [nameof(ConsoleRunPage.Detail)] = detail,
            [nameof(ConsoleRunPage.Outcomes)] = outcomes.Definitions.Values.OrderBy(d => d.Id, StringComparer.Ordinal).ToList(),
        });
    }

    internal static async Task<IResult> WorklistAsync(HttpContext http, ScoreStore store, OutcomeLabels outcomes, ModelCatalog catalog, IOptions<ScoringOptions> scoring,
        string? outcome, string? band, int? top)
    {
        var known = outcomes.Definitions.Values.OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
        var chosen = string.IsNullOrEmpty(outcome) ? known.FirstOrDefault()?.Id : outcome;
        if (chosen is null || !outcomes.Definitions.ContainsKey(chosen))
        {
            return Problem(404, "No such outcome", $"This server predicts no outcome '{outcome}' (known: {string.Join(", ", known.Select(k => k.Id))}).");
        }

        if (top is < 1 or > 10_000)
        {
            return Problem(400, "Bad top", "top must be between 1 and 10,000.");
        }

        var result = await JobEndpoints.WorklistAsync(http, store, outcomes, chosen, top ?? 50, string.IsNullOrEmpty(band) ? null : band);
        var worklist = result.Result is Ok<Worklist> { Value: { } list } ? list : null;
        var burden = worklist is not null && catalog.Predictors.TryGetValue(chosen, out var predictor)
            ? await AlertBurden.ComputeAsync(store, worklist.Run.RunId, predictor, scoring.Value.VisitsPerClinicianDay, http.RequestAborted)
            : null;
        return Page<ConsoleWorklistPage>(new()
        {
            [nameof(ConsoleWorklistPage.Outcomes)] = known,
            [nameof(ConsoleWorklistPage.Outcome)] = outcomes.Definitions[chosen],
            [nameof(ConsoleWorklistPage.Band)] = string.IsNullOrEmpty(band) ? null : band,
            [nameof(ConsoleWorklistPage.Worklist)] = worklist,
            [nameof(ConsoleWorklistPage.Preview)] = worklist is null ? null : PreviewBase(worklist.Run.Source),
            [nameof(ConsoleWorklistPage.Burden)] = burden,
        });
    }

    internal static async Task<IResult> PatientAsync(HttpContext http, ScoreStore store, OutcomeLabels outcomes, string runId, string patientId)
    {
        if (await store.FindRunAsync(runId, http.RequestAborted) is not { } run)
        {
            return Problem(404, "No such run", $"No population-scoring run '{runId}'.");
        }

        var rows = await store.PatientAsync(runId, patientId, http.RequestAborted);
        if (rows.Count == 0)
        {
            return Problem(404, "No such patient in this run", $"Run {runId} scored no patient '{patientId}'.");
        }

        return Page<ConsoleRunPatientPage>(new()
        {
            [nameof(ConsoleRunPatientPage.Run)] = await JobEndpoints.SummaryAsync(store, run, http.RequestAborted),
            [nameof(ConsoleRunPatientPage.PatientId)] = patientId,
            [nameof(ConsoleRunPatientPage.Rows)] = rows,
            [nameof(ConsoleRunPatientPage.Labels)] = outcomes.Definitions.ToDictionary(d => d.Key, d => d.Value.Title),
            [nameof(ConsoleRunPatientPage.Preview)] = PreviewBase(run.Source),
        });
    }

    internal static async Task<IResult> ModelsAsync(HttpContext http, ModelLifecycleStore store, IOptions<ModelOptions> options, IHostEnvironment environment, ModelCatalog catalog)
    {
        var list = await ModelAdminEndpoints.ListAsync(http, store, options, environment, catalog);
        return Page<ConsoleModelsPage>(new()
        {
            [nameof(ConsoleModelsPage.Models)] = list.Result is Ok<ModelAdminSummary[]> { Value: { } models } ? models : [],
        });
    }

    internal static async Task<IResult> ModelAsync(HttpContext http, string outcome, ModelLifecycleStore store, IOptions<ModelOptions> options, IHostEnvironment environment,
        ModelCatalog catalog)
    {
        if (await ModelAdminEndpoints.OneAsync(http, outcome, store, options, environment, catalog) is not { Result: Ok<ModelAdminView> { Value: { } view } })
        {
            return Problem(404, "No such model", $"No outcome '{outcome}' is registered.");
        }

        return Page<ConsoleModelPage>(new() { [nameof(ConsoleModelPage.View)] = view, [nameof(ConsoleModelPage.Charts)] = ModelCharts.Of(view) });
    }

    internal static async Task<IResult> UsageAsync(HttpContext http, InvocationStore calls, FeedbackStore feedback, TimeProvider time, int? days)
    {
        if (days is < 1 or > 366)
        {
            return Problem(400, "Bad days", "days must be between 1 and 366.");
        }

        return Page<ConsoleUsagePage>(new()
        {
            [nameof(ConsoleUsagePage.Usage)] = await CdsUsage.ComputeAsync(calls, feedback, time.GetUtcNow(), days ?? 7, http.RequestAborted),
        });
    }

    /// <summary>
    /// The FHIR base URL the SMART preview can read a run's patients from: a Bulk Data kick-off URL less its
    /// <c>$export</c> (and <c>Patient/</c> or <c>Group/id/</c>); none for a folder of NDJSON.
    /// </summary>
    internal static string? PreviewBase(string source)
    {
        if (!Uri.TryCreate(source, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return null;
        }

        var path = url.GetLeftPart(UriPartial.Path);
        var cut = path.IndexOf("/$export", StringComparison.Ordinal);
        var basePath = cut < 0 ? path : path[..cut];
        if (basePath.EndsWith("/Patient", StringComparison.Ordinal))
        {
            basePath = basePath[..^"/Patient".Length];
        }
        else if (basePath.LastIndexOf("/Group/", StringComparison.Ordinal) is var group and >= 0)
        {
            basePath = basePath[..group];
        }

        return basePath;
    }

}

/// <summary>One served outcome on the console's home page.</summary>
public sealed record ConsoleModelLine(string Outcome, string Title, string Version, string Answering, string? DriftFlag);

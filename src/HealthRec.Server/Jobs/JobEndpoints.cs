namespace HealthRec.Server.Jobs;

/// <summary>A stored run as the API lists it, with its chunks done.</summary>
public sealed record RunSummary(string RunId, string Source, DateTimeOffset IndexAt, int Patients, int Chunks, int ChunksDone, string Status,
    string ModelVersions, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, IReadOnlyList<string> Nodes);

/// <summary>One patient on a worklist: the estimate, its band and factors, and the top recommendations.</summary>
public sealed record WorklistPatient(string PatientId, double Estimate, string? Band, string ModelVersion, string TopFactors, IReadOnlyList<string> Recommendations);

public sealed record Worklist(string Outcome, RunSummary Run, IReadOnlyList<WorklistPatient> Patients);

public sealed record JobQueued(string Name, string JobId);

/// <summary>A chunk of a run not yet stored, what its job is doing and why it waits.</summary>
public sealed record WaitingChunk(int Chunk, string State, DateTimeOffset? Since, string Why);

/// <summary>A run with every chunk still to be stored, each with why it waits.</summary>
public sealed record RunDetail(RunSummary Run, IReadOnlyList<WaitingChunk> Waiting);

/// <summary>
/// The population-health views of the scoring runs (worklist, runs, export) and the operator's trigger. Local requests
/// only until staff sign-in is configured: they list patients.
/// </summary>
internal static class JobEndpoints
{
    public static void Map(WebApplication app)
    {
        ModelAdminEndpoints.Map(app);
        var api = app.MapGroup("/api").WithTags("Population health");
        api.MapGet("/worklist", WorklistAsync).WithName("Worklist")
            .WithSummary("Patients ranked by an outcome's estimate in the latest completed scoring run, with their top recommendations (staff role Clinician or Admin).");
        api.MapGet("/alert-burden", AlertBurden.GetAsync).WithName("AlertBurden")
            .WithSummary("An outcome's alert burden in the latest completed run: patients flagged at each threshold, per 1,000 and per clinician-day (staff role Clinician or Admin).");
        api.MapGet("/runs", RunsAsync).WithName("ScoringRuns").WithSummary("Recent population-scoring runs and their progress (staff role Clinician or Admin).");
        api.MapGet("/runs/{runId}", RunAsync).WithName("ScoringRun")
            .WithSummary("One population-scoring run: its progress and, for each chunk not yet stored, what its job is doing and why it waits (staff role Clinician or Admin).");
        api.MapGet("/runs/{runId}/export", ExportAsync).WithName("ExportRun")
            .WithSummary("Every estimate of a run as CSV (format=csv, the default) or NDJSON (format=ndjson) (staff role Clinician or Admin).");
        app.MapPost("/admin/jobs/{name}", Trigger).WithTags("Model lifecycle").WithName("TriggerJob")
            .WithSummary("Runs a job now: population-scoring (optional indexDate=yyyy-MM-dd), retrain (optional outcome=ID), evaluate (staff role Admin).");
    }

    internal static async Task<Results<Ok<Worklist>, ProblemHttpResult>> WorklistAsync(HttpContext http, ScoreStore store,
        CdsHooks.OutcomeLabels outcomes, string outcome, int? top, string? band)
    {
        if (!outcomes.Definitions.ContainsKey(outcome))
        {
            return TypedResults.Problem(statusCode: 404, title: "No such outcome",
                detail: $"This server predicts no outcome '{outcome}' (known: {string.Join(", ", outcomes.Definitions.Keys.Order(StringComparer.Ordinal))}).");
        }

        if (top is < 1 or > 10_000)
        {
            return TypedResults.Problem(statusCode: 400, title: "Bad top", detail: "top must be between 1 and 10,000.");
        }

        var run = await store.LatestCompletedAsync(http.RequestAborted);
        if (run is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "No completed run", detail: "No population-scoring run has completed yet; POST /admin/jobs/population-scoring starts one.");
        }

        var rows = await store.WorklistAsync(run.RunId, outcome, top ?? 50, band, http.RequestAborted);
        return TypedResults.Ok(new Worklist(outcome, await SummaryAsync(store, run, http.RequestAborted),
            [.. rows.Select(r => new WorklistPatient(r.PatientId, r.Estimate, r.Band, r.ModelVersion, r.TopFactors,
                r.Recommendations.Length == 0 ? [] : r.Recommendations.Split("; ")))]));
    }

    internal static async Task<Results<Ok<RunSummary[]>, ProblemHttpResult>> RunsAsync(HttpContext http, ScoreStore store)
    {
        var runs = await store.RecentRunsAsync(20, http.RequestAborted);
        var summaries = new List<RunSummary>();
        foreach (var run in runs)
        {
            summaries.Add(await SummaryAsync(store, run, http.RequestAborted));
        }

        return TypedResults.Ok(summaries.ToArray());
    }

    internal static async Task<Results<Ok<RunDetail>, ProblemHttpResult>> RunAsync(HttpContext http, ScoreStore store, JobStorage jobs,
        Microsoft.Extensions.Options.IOptions<JobsOptions> settings, string runId)
    {
        if (await store.FindRunAsync(runId, http.RequestAborted) is not { } run)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such run", detail: $"No population-scoring run '{runId}'.");
        }

        var summary = await SummaryAsync(store, run, http.RequestAborted);
        var done = (await store.ChunksAsync(runId, http.RequestAborted)).Select(c => c.Chunk).ToHashSet();
        var waiting = run.Status == ScoreRun.Completed ? [] : RunWaits.Explain(jobs.GetMonitoringApi(), runId, run.ChunkCount, done, settings.Value.InvisibilityTimeout);
        return TypedResults.Ok(new RunDetail(summary, waiting));
    }

    internal static async Task<IResult> ExportAsync(HttpContext http, ScoreStore store, string runId, string? format)
    {
        if (format is not (null or "csv" or "ndjson"))
        {
            return TypedResults.Problem(statusCode: 400, title: "Bad format", detail: "format must be csv or ndjson.");
        }

        if (await store.FindRunAsync(runId, http.RequestAborted) is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such run", detail: $"No population-scoring run '{runId}'.");
        }

        var ndjson = format == "ndjson";
        http.Response.ContentType = ndjson ? "application/x-ndjson" : "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{runId}.{(ndjson ? "ndjson" : "csv")}\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false));
        if (!ndjson)
        {
            await writer.WriteLineAsync("patient_id,outcome,estimate,band,model_version,top_factors,recommendations");
        }

        await foreach (var row in store.RowsAsync(runId, http.RequestAborted))
        {
            await writer.WriteLineAsync(ndjson
                ? JsonSerializer.Serialize(new { run_id = runId, patient_id = row.PatientId, outcome = row.Outcome, estimate = row.Estimate, band = row.Band,
                    model_version = row.ModelVersion, top_factors = row.TopFactors, recommendations = row.Recommendations.Length == 0 ? [] : row.Recommendations.Split("; ") })
                : string.Join(',', Ingestion.CsvText.Field(row.PatientId), row.Outcome, row.Estimate.ToString("0.######", CultureInfo.InvariantCulture), row.Band ?? "",
                    row.ModelVersion, Ingestion.CsvText.Field(row.TopFactors), Ingestion.CsvText.Field(row.Recommendations)));
        }

        return TypedResults.Empty;
    }

    internal static Results<Accepted<JobQueued>, ProblemHttpResult> Trigger(HttpContext http, string name, string? indexDate, string? outcome,
        IBackgroundJobClient jobs, ModelCatalog catalog)
    {
        if (indexDate is not null && !DateOnly.TryParseExact(indexDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return TypedResults.Problem(statusCode: 400, title: "Bad indexDate", detail: "indexDate must be a date, yyyy-MM-dd.");
        }

        if (outcome is not null && !catalog.Predictors.ContainsKey(outcome))
        {
            return TypedResults.Problem(statusCode: 400, title: "Bad outcome", detail: $"No outcome '{outcome}' is served; see GET /models.");
        }

        return name switch
        {
            PopulationScoringJob.Name => TypedResults.Accepted("/api/runs", new JobQueued(name,
                jobs.Enqueue<PopulationScoringJob>(j => j.StartAsync(null, indexDate, null, CancellationToken.None)))),
            RetrainJob.Name => TypedResults.Accepted("/admin/models", new JobQueued(name,
                jobs.Enqueue<RetrainJob>(j => j.RunAsync(outcome, null, CancellationToken.None)))),
            EvaluationJob.Name => TypedResults.Accepted("/admin/models", new JobQueued(name,
                jobs.Enqueue<EvaluationJob>(j => j.RunAsync(null, CancellationToken.None)))),
            _ => TypedResults.Problem(statusCode: 404, title: "No such job",
                detail: $"No job '{name}'; the jobs are: {PopulationScoringJob.Name}, {RetrainJob.Name}, {EvaluationJob.Name}."),
        };
    }

    internal static async Task<RunSummary> SummaryAsync(ScoreStore store, ScoreRun run, CancellationToken cancellationToken)
    {
        var chunks = await store.ChunksAsync(run.RunId, cancellationToken);
        return new RunSummary(run.RunId, run.Source, run.IndexAt, run.PatientCount, run.ChunkCount, chunks.Count, run.Status, run.ModelVersions,
            run.StartedAt, run.CompletedAt, [.. chunks.Select(c => c.Node).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
    }
}

namespace HealthRec.Server.Jobs;

/// <summary>Settings under <c>Jobs:Scoring</c>.</summary>
public sealed class ScoringOptions : IValidatableObject
{
    public const string Section = "Jobs:Scoring";

    /// <summary>
    /// The population: a folder or file of Bulk Data NDJSON (plain or gzipped; relative to the content root), or a FHIR
    /// Bulk Data kick-off URL ending in <c>$export</c> (system, <c>Patient/</c> or <c>Group/{id}/</c> level), exported
    /// afresh by each run.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Jobs:Scoring:Source must name the population's NDJSON, e.g. data/sample, or a FHIR $export URL")]
    public string Source { get; set; } = "data/sample";

    /// <summary>Patients per chunk job: any node's worker takes one chunk at a time.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Jobs:Scoring:ChunkSize must be between 1 and 1,000,000")]
    public int ChunkSize { get; set; } = 500;

    /// <summary>When the nightly run starts (cron, UTC); empty for no schedule (runs only when triggered).</summary>
    public string? Cron { get; set; } = "0 2 * * *";

    /// <summary>
    /// Where a run's chunk index is written (and gzipped or exported NDJSON unpacked); every node must see the same folder
    /// (a shared volume with several nodes), and the source at the same path.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string WorkPath { get; set; } = "var/runs";

    /// <summary>Recommendations kept per patient beside the estimates.</summary>
    [Range(0, 10)]
    public int Recommendations { get; set; } = 3;

    /// <summary>
    /// For the alert-burden table: how many patients one clinician sees in a day. Cards per clinician-day are the flag
    /// rate times this, on the assumption that the day's patients are like the scored population.
    /// </summary>
    [Range(1, 200, ErrorMessage = "Jobs:Scoring:VisitsPerClinicianDay must be between 1 and 200")]
    public int VisitsPerClinicianDay { get; set; } = 20;

    /// <summary>A FHIR base URL to write a RiskAssessment per patient and binary outcome back to (https unless loopback); empty for none.</summary>
    public string? WriteBackUrl { get; set; }

    /// <summary>The bearer token for <see cref="WriteBackUrl"/>, if it needs one (a secret: from the environment or a secret store, never logged).</summary>
    public string? WriteBackToken { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(WriteBackUrl))
        {
            yield break;
        }

        if (!Uri.TryCreate(WriteBackUrl, UriKind.Absolute, out var url) || !Hosting.Loopback.IsHttpsOrLoopback(url))
        {
            yield return new ValidationResult("Jobs:Scoring:WriteBackUrl must be an https FHIR base URL (http only on loopback)", [nameof(WriteBackUrl)]);
        }
    }
}

/// <summary>This node, as job records name it (host, process and a per-start id: two nodes in one process differ too).</summary>
public sealed class NodeIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
}

/// <summary>
/// Population scoring on Hangfire: a start job fixes the run (its id, the date it scores as of, the chunk count), indexes
/// the population's NDJSON into chunks by a stable hash of each patient (<see cref="NdjsonIndex"/>: where each line is,
/// not a copy of it), and enqueues one job per chunk; any
/// node's workers take chunks; each chunk job scores its patients with every current model (estimate, band, factors)
/// and the top recommendations and stores them with its chunk mark in one transaction; the job that stores the last
/// chunk completes the run. Arguments are ids and settings only; every job may run twice (at-least-once delivery)
/// and leaves the same rows.
/// </summary>
public sealed partial class PopulationScoringJob(ScoreStore store, ModelCatalog models, FhirRecordMapper mapper, IOptions<ScoringOptions> options,
    IHostEnvironment environment, IBackgroundJobClient jobs, NodeIdentity node, TimeProvider time, IHttpClientFactory httpClients,
    Audit.AuditTrail audit, ILogger<PopulationScoringJob> logger)
{
    public const string Name = "population-scoring";

    /// <summary>The HTTP client of the RiskAssessment write-back.</summary>
    public const string WriteBackClient = "risk-assessment-write-back";

    /// <summary>The start job's parameter that holds the id of the run it started.</summary>
    public const string RunIdParameter = "healthrec-run-id";

    /// <summary>
    /// Starts (or resumes) a run: <paramref name="runId"/> null for a new one, <paramref name="indexDate"/> (yyyy-MM-dd)
    /// null for now. A new run's id is kept with the start job itself (a Hangfire job parameter) the moment it is chosen,
    /// so that the same job run again — retried after a failure, or taken again after its node was killed half-way —
    /// resumes that run (its stored row, its index, the chunks not yet done) instead of leaving it behind, never to
    /// complete, and starting another.
    /// </summary>
    [JobDisplayName("population scoring: start {0}")]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [10, 60, 300])]
    public async Task StartAsync(string? runId, string? indexDate, PerformContext? context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var indexAt = indexDate is null ? now
            : DateTimeOffset.ParseExact(indexDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).AddDays(1).AddTicks(-1);
        runId ??= context?.GetJobParameter<string>(RunIdParameter);
        if (runId is null)
        {
            runId = string.Create(CultureInfo.InvariantCulture, $"run-{now:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..4]}");
            context?.SetJobParameter(RunIdParameter, runId);
        }

        var existing = await store.FindRunAsync(runId, cancellationToken);
        var population = await PopulationAsync(runId, cancellationToken);
        var source = new NdjsonSource(population);
        var patients = existing?.PatientCount ?? await source.CountPatientsAsync(new IngestionReport(), cancellationToken);
        var chunks = existing?.ChunkCount ?? Math.Max(1, (int)Math.Ceiling(patients / (double)settings.ChunkSize));
        var run = existing ?? await store.StartRunAsync(
            new ScoreRun(runId, settings.Source, indexAt, chunks, patients, models.Current.Versions, ScoreRun.Scoring, now, null), cancellationToken);

        var folder = RunFolder(runId);
        var marker = Path.Combine(folder, "indexed");
        if (!File.Exists(marker))
        {
            // Written again in full when a start is repeated: the same hash puts every patient in the same chunk.
            var report = new IngestionReport();
            await NdjsonIndex.WriteAsync(population, folder, run.ChunkCount, report, cancellationToken);
            await File.WriteAllTextAsync(marker, run.ChunkCount.ToString(CultureInfo.InvariantCulture), cancellationToken);
            if (report.TotalProblems > 0)
            {
                LogLeftOut(runId, report.TotalProblems, string.Join(", ", report.ProblemsByKind.Select(p => $"{p.Key} {p.Value}")));
            }
        }

        var done = (await store.ChunksAsync(runId, cancellationToken)).Select(c => c.Chunk).ToHashSet();
        for (var chunk = 0; chunk < run.ChunkCount; chunk++)
        {
            if (!done.Contains(chunk))
            {
                var id = run.RunId;
                var k = chunk;
                jobs.Enqueue<PopulationScoringJob>(j => j.ScoreChunkAsync(id, k, CancellationToken.None));
            }
        }

        LogStarted(runId, run.PatientCount, run.ChunkCount, run.ChunkCount - done.Count);
        if (done.Count == run.ChunkCount)
        {
            await CompleteAsync(run, cancellationToken);
        }
    }

    /// <summary>Scores one chunk of a run and stores it; the chunk that finishes the run completes it.</summary>
    [JobDisplayName("population scoring: {0} chunk {1}")]
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [1, 5, 30, 120, 600])]
    public async Task ScoreChunkAsync(string runId, int chunk, CancellationToken cancellationToken)
    {
        var run = await store.FindRunAsync(runId, cancellationToken)
            ?? throw new InvalidOperationException($"Population-scoring run {runId} is not stored; its start job must run first.");
        if (run.Status == ScoreRun.Completed)
        {
            // A repeat after the run completed: its rows are stored (and its chunk index gone).
            return;
        }

        var source = new NdjsonChunkSource(await PopulationAsync(runId, cancellationToken), RunFolder(runId), chunk);
        using var lease = models.Lease();
        var serving = lease.Models;
        var settings = options.Value;
        var rows = new List<ScoreRow>();
        // What is shown beside each estimate (the validated equation's figure beside a trained model's, the equations
        // alongside), for the RiskAssessments written back.
        var besides = new Dictionary<(string Patient, string Outcome), string>();
        var writeBack = !string.IsNullOrWhiteSpace(settings.WriteBackUrl);
        var patients = 0;
        await foreach (var record in RecordReader.ReadAsync(source, mapper, new IngestionReport(), cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            patients++;
            foreach (var (row, prediction) in Scored(serving, record, run.IndexAt, settings.Recommendations))
            {
                rows.Add(row);
                if (writeBack && CdsHooks.PatientRiskCards.Beside(serving.Predictors[row.Outcome].WithAlongside(prediction, record, run.IndexAt)) is { Length: > 0 } beside)
                {
                    besides[(row.PatientId, row.Outcome)] = beside;
                }
            }
        }

        // Written back before the chunk is recorded: a failed write leaves the chunk undone, and its retry writes again
        // (conditional updates on a stable identifier, so nothing is duplicated).
        if (writeBack)
        {
            var synthetic = Ingestion.InputSources.IsSynthetic(SourcePath);
            var recorded = time.GetUtcNow();
            var resources = rows.Select(r => serving.Predictors.TryGetValue(r.Outcome, out var p)
                ? RiskAssessmentWriter.Build(r, p.Definition, p.ReferenceAnswers ? $"{p.Reference!.Name}: {p.Reference.Validation}" : p.Manifest.Validation,
                    run.IndexAt, synthetic, p.ReferenceAnswers ? p.Reference : null, besides.GetValueOrDefault((r.PatientId, r.Outcome)), recorded) : null)
                .OfType<Hl7.Fhir.Model.RiskAssessment>().ToList();
            var server = new Uri(settings.WriteBackUrl!);
            try
            {
                await new RiskAssessmentWriter(httpClients.CreateClient(WriteBackClient), server, settings.WriteBackToken).WriteAsync(resources, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await audit.RecordAsync(Audit.ModelAudit.WriteBack(server, runId, chunk, resources.Count,
                    Audit.AuditOutcome.Failed($"refused or unreachable: {ex.GetType().Name}", serious: true), time.GetUtcNow()));
                throw;
            }

            await audit.RecordAsync(Audit.ModelAudit.WriteBack(server, runId, chunk, resources.Count, Audit.AuditOutcome.Success, time.GetUtcNow()));
            LogWrittenBack(runId, chunk, resources.Count);
        }

        var completed = await store.RecordChunkAsync(runId, chunk, patients, node.Name, rows, time.GetUtcNow(), cancellationToken);
        LogChunk(runId, chunk, patients, rows.Count, completed, run.ChunkCount);
        if (completed == run.ChunkCount)
        {
            await CompleteAsync(run, cancellationToken);
        }
    }

    /// <summary>Every applicable outcome's estimate for one patient, each row carrying the patient's top recommendations.</summary>
    internal static IEnumerable<ScoreRow> Score(ServingModels serving, Clinical.Records.PatientRecord record, DateTimeOffset at, int recommendations) =>
        Scored(serving, record, at, recommendations).Select(x => x.Row);

    // Each estimate's stored row, with the prediction it came from.
    private static IEnumerable<(ScoreRow Row, ML.Serving.RiskPrediction Prediction)> Scored(ServingModels serving, Clinical.Records.PatientRecord record, DateTimeOffset at,
        int recommendations)
    {
        var (features, predictions) = serving.Estimate(record, at);
        if (predictions.Count == 0)
        {
            return [];
        }

        var suggested = recommendations == 0 ? ""
            : string.Join("; ", serving.Recommender.Recommend(PatientSnapshot.From(record, at, features, serving.Featurizer, predictions), recommendations)
                .Recommendations.Select(r => r.Intervention.Id));
        return predictions.Select(p => (new ScoreRow(record.PatientId, p.Outcome, Math.Round(p.Estimate, 6),
            p.Kind == OutcomeKind.Binary ? p.Band : null, p.ModelVersion, string.Join("; ", p.Factors.Select(f => $"{f.Text} ({f.Direction})")), suggested), p));
    }

    private async Task CompleteAsync(ScoreRun run, CancellationToken cancellationToken)
    {
        if (await store.CompleteRunAsync(run.RunId, time.GetUtcNow(), cancellationToken))
        {
            LogCompleted(run.RunId, run.ChunkCount);
            var folder = RunFolder(run.RunId);
            if (Directory.Exists(folder))
            {
                NdjsonIndex.Release(folder);
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private string SourcePath => Ingestion.InputSources.Resolve(environment.ContentRootPath, options.Value.Source);

    // The population's NDJSON: the source folder, or for a $export URL the run's own export (made once: a repeated start
    // job reuses it; it goes with the run's folder when the run completes).
    private async Task<string> PopulationAsync(string runId, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(options.Value.Source, UriKind.Absolute, out var url) || !BulkDataSource.IsExportUrl(url))
        {
            return SourcePath;
        }

        var folder = Path.Combine(RunFolder(runId), "export");
        var marker = Path.Combine(folder, "exported");
        if (!File.Exists(marker))
        {
            if (Directory.Exists(folder))
            {
                NdjsonIndex.Release(folder);
                Directory.Delete(folder, recursive: true);
            }

            Directory.CreateDirectory(folder);
            var report = new IngestionReport();
            var export = await new BulkDataSource(httpClients.CreateClient(Name), url).ExportAsync(folder, report, cancellationToken);
            var errors = report.Count(ProblemKind.OperationOutcome);
            LogExported(runId, export.Files.Count, export.TransactionTime, errors);
            await File.WriteAllTextAsync(marker, export.TransactionTime ?? "", cancellationToken);
        }

        return folder;
    }

    private string RunFolder(string runId) => Path.Combine(environment.ContentRootPath, options.Value.WorkPath, runId);

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Population scoring {RunId}: {Patients} patients in {Chunks} chunks, {Enqueued} enqueued")]
    private partial void LogStarted(string runId, int patients, int chunks, int enqueued);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Population scoring {RunId} chunk {Chunk}: {Patients} patients, {Rows} estimates; {Done} of {Chunks} chunks done")]
    private partial void LogChunk(string runId, int chunk, int patients, int rows, int done, int chunks);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Population scoring {RunId} chunk {Chunk}: {Resources} RiskAssessments written back")]
    private partial void LogWrittenBack(string runId, int chunk, int resources);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Population scoring {RunId}: Bulk Data export of {Files} files as of {TransactionTime}, {Errors} errors reported by the server")]
    private partial void LogExported(string runId, int files, string? transactionTime, long errors);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Population scoring {RunId}: {Lines} lines of the source left out ({Kinds}): no patient, not JSON or too long")]
    private partial void LogLeftOut(string runId, long lines, string kinds);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Population scoring {RunId} completed ({Chunks} chunks)")]
    private partial void LogCompleted(string runId, int chunks);
}

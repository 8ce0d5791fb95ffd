namespace HealthRec.Server.Jobs;

/// <summary>Settings under <c>Jobs:Retrain</c>.</summary>
public sealed class RetrainOptions
{
    public const string Section = "Jobs:Retrain";

    /// <summary>The training cohort: a folder or file of NDJSON or Bundles (relative to the content root), or a FHIR base URL (paged REST).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Jobs:Retrain:Source must name the training cohort, e.g. data/sample or a FHIR base URL")]
    public string Source { get; set; } = "data/sample";

    /// <summary>When the weekly retrain starts (cron, UTC); empty for no schedule.</summary>
    public string? Cron { get; set; } = "0 3 * * 0";

    /// <summary>Seed of the patient split, the search and LightGBM.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Outcome ids to retrain; empty for every outcome definition.</summary>
    public string[] Outcomes { get; set; } = [];

    /// <summary>What a challenger must show to replace the champion.</summary>
    public GateThresholds Gate { get; set; } = new();
}

/// <summary>
/// The retrain job: reads the training cohort, runs the <see cref="Retrainer"/> for each outcome under a Hangfire
/// distributed lock (one retrain of an outcome at a time across nodes), stores every gate decision, and hot-swaps this
/// node's serving models when one was promoted (other nodes pick the new version up through <see cref="ModelWatcher"/>).
/// Its key is the Hangfire job id, so a retried attempt reuses what the first decided.
/// </summary>
public sealed partial class RetrainJob(ClinicalSchema schema, ModelCatalog catalog, ModelLifecycleStore store, IOptions<RetrainOptions> options,
    IOptions<ModelOptions> modelOptions, IOptions<KnowledgeOptions> knowledge, IHostEnvironment environment, JobStorage storage, NodeIdentity node,
    TimeProvider time, IHttpClientFactory httpClients, Audit.AuditTrail audit, ILogger<RetrainJob> logger)
{
    public const string Name = "retrain";

    /// <summary>Retrains every configured outcome, or only <paramref name="outcome"/>.</summary>
    [JobDisplayName("retrain {0}")]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [60, 600])]
    public async Task<string> RunAsync(string? outcome, PerformContext? context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var source = InputSources.Resolve(environment.ContentRootPath, settings.Source);
        var definitions = OutcomeFiles.Load(Path.Combine(environment.ContentRootPath, knowledge.Value.OutcomesPath), schema.Terminology);
        var only = outcome is not null ? [outcome] : settings.Outcomes;
        var unknown = only.Where(id => definitions.All(d => d.Id != id)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"Retrain: no outcome definition for {string.Join(", ", unknown)}.");
        }

        using var http = httpClients.CreateClient(Name);
        var (records, report, error) = await InputSources.ReadAllAsync([source], schema.Terminology, http, cancellationToken);
        if (error is not null)
        {
            throw new InvalidOperationException($"Retrain: {error}");
        }

        LogRead(records.Count, report.TotalProblems);
        var provenance = InputSources.Provenance([source], settings.Seed, schema.Featurizer.Schema, $"retrain job (Jobs:Retrain:Source {settings.Source}, seed {settings.Seed})");
        var key = context?.BackgroundJob.Id is { } jobId ? $"job:{jobId}" : $"run:{Guid.NewGuid():N}";
        var registry = Path.Combine(environment.ContentRootPath, modelOptions.Value.Path);
        using var connection = storage.GetConnection();
        IDisposable? Lock(string id)
        {
            try
            {
                return connection.AcquireDistributedLock($"healthrec:retrain:{id}", TimeSpan.FromSeconds(1));
            }
            catch (DistributedLockTimeoutException)
            {
                return null;
            }
        }

        var results = new Retrainer(schema.Featurizer, definitions).Run(records, registry, key, provenance, settings.Gate, only,
            time.GetUtcNow(), null, cancellationToken, Lock);
        foreach (var result in results)
        {
            if (result.Decision is { } d)
            {
                await store.RecordDecisionAsync(new StoredDecision(d.Outcome, d.Challenger, d.Champion, d.Promote, d.TestExamples, d.Summary,
                    JsonSerializer.Serialize(d.Checks, ModelRegistry.Json), d.DecidedAt, node.Name), cancellationToken);
                await audit.RecordAsync(Audit.ModelAudit.Promotion(d, d.Summary, d.DecidedAt));
            }

            LogResult(result.Line);
        }

        if (results.Any(r => r.Promoted))
        {
            catalog.Reload();
            LogServing(catalog.Current.Versions);
        }

        return string.Join("\n", results.Select(r => r.Line));
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "Retrain: read {Patients} patients ({Problems} data problems reported)")]
    private partial void LogRead(int patients, long problems);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Retrain: {Result}")]
    private partial void LogResult(string result);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Retrain: serving {Versions}")]
    private partial void LogServing(string versions);
}

/// <summary>
/// Picks up a version another node promoted: every <c>Models:ReloadInterval</c> it compares the registry's current
/// pointers with those the catalog loaded and reloads when they differ (a hot swap; requests in flight finish on the
/// set they took).
/// </summary>
public sealed partial class ModelWatcher(ModelCatalog catalog, IOptions<ModelOptions> options, ILogger<ModelWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ReloadInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.ReloadInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (catalog.ReloadIfChanged())
                {
                    LogReloaded(catalog.Current.Versions);
                }
            }
            catch (IOException ex)
            {
                LogNotChecked(ex);
            }
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "The model registry changed: serving {Versions}")]
    private partial void LogReloaded(string versions);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "The model registry could not be checked for new versions")]
    private partial void LogNotChecked(Exception exception);
}

using Hangfire.PostgreSql;
using Npgsql;

namespace HealthRec.Server.Jobs;

/// <summary>Settings under <c>Jobs</c>.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire workers in this node; 0 makes the node a client only (enqueues, runs nothing).</summary>
    [Range(0, 64, ErrorMessage = "Jobs:WorkerCount must be between 0 and 64")]
    public int WorkerCount { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>How often a node's idle workers look for new jobs in PostgreSQL.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Jobs:PollInterval must be between 50 ms and 10 minutes")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a job taken by a worker stays invisible to the others (PostgreSQL). A running job keeps it (sliding: its
    /// worker renews it as it runs), so this bounds only how long a job whose worker died, or lost the database half-way,
    /// waits before another worker takes it again.
    /// </summary>
    /// <remarks>
    /// One minute by default (it was five): the lease slides, renewed by the running worker several times a minute, so a
    /// long job is never taken twice while its worker lives, and a killed node's chunk waits a minute, not five.
    /// </remarks>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00", ErrorMessage = "Jobs:InvisibilityTimeout must be between 5 seconds and one day")]
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

public static partial class JobsExtensions
{
    [LoggerMessage(EventId = 5010, Level = LogLevel.Warning, Message = "The job schedules could not be written to the job storage")]
    private static partial void ScheduleNotWritten(ILogger logger, Exception exception);

    /// <summary>
    /// Hangfire with a SQLite file of its own in the embedded default (<see cref="EmbeddedJobStorage"/>), and PostgreSQL storage (schema <c>hangfire</c>,
    /// on the application's one <see cref="NpgsqlDataSource"/>) when <c>ConnectionStrings:Postgres</c> is set,
    /// so that several nodes share the work.
    /// </summary>
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ScoringOptions>().BindConfiguration(ScoringOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<NodeIdentity>();
        builder.Services.AddOptions<RetrainOptions>().BindConfiguration(RetrainOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddTransient<PopulationScoringJob>();
        builder.Services.AddTransient<RetrainJob>();
        builder.Services.AddOptions<EvaluationOptions>().BindConfiguration(EvaluationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddTransient<EvaluationJob>();
        builder.Services.AddHttpClient(RetrainJob.Name);
        builder.Services.AddHttpClient(PopulationScoringJob.WriteBackClient, c => c.Timeout = TimeSpan.FromSeconds(60));
        builder.Services.AddHostedService<ModelWatcher>();
        var settings = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        var usePostgres = !string.IsNullOrWhiteSpace(
            builder.Configuration.GetConnectionString(StorageServiceCollectionExtensions.PostgresConnectionStringName));

        // Job runs are audited by a filter of this server's (not Hangfire's static global filters: tests run several servers in one process).
        builder.Services.AddSingleton<Audit.JobAuditFilter>();
        builder.Services.AddSingleton<Hangfire.Common.IJobFilterProvider>(services => new AuditedJobFilters(services.GetRequiredService<Audit.JobAuditFilter>()));
        builder.Services.AddHangfire((services, configuration) =>
        {
            configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            if (usePostgres)
            {
                configuration.UsePostgreSqlStorage(
                    bootstrapper => bootstrapper.UseConnectionFactory(
                        new SharedDataSourceConnectionFactory(services.GetRequiredService<NpgsqlDataSource>())),
                    new PostgreSqlStorageOptions
                    {
                        SchemaName = "hangfire",
                        PrepareSchemaIfNecessary = true,
                        // Long jobs (retraining, population scoring) keep their lease while they run; a job abandoned
                        // by a dead worker or a database outage is taken again after InvisibilityTimeout (the library's
                        // default is 30 minutes).
                        UseSlidingInvisibilityTimeout = true,
                        InvisibilityTimeout = settings.InvisibilityTimeout,
                        QueuePollInterval = settings.PollInterval,
                        // A database outage at start-up must not stop the node: hooks keep answering and
                        // readiness reports the outage; Hangfire initialises its storage when it can.
                        StartupConnectionMaxRetries = 1,
                        StartupConnectionBaseDelay = TimeSpan.FromMilliseconds(200),
                        StartupConnectionMaxDelay = TimeSpan.FromSeconds(1),
                        AllowDegradedModeWithoutStorage = true,
                    });
            }
            else
            {
                EmbeddedJobStorage.Use(configuration,
                    Path.Combine(services.GetRequiredService<IHostEnvironment>().ContentRootPath,
                        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<StorageOptions>>().Value.ResolvedJobsSqlitePath),
                    settings, services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EmbeddedJobStorage)));
            }
        });

        if (settings.WorkerCount > 0)
        {
            builder.Services.AddHangfireServer((services, server) =>
            {
                server.WorkerCount = settings.WorkerCount;
                server.ServerName = services.GetRequiredService<NodeIdentity>().Name;
                server.SchedulePollingInterval = settings.PollInterval;
            });
        }

        return builder;
    }

    /// <summary>
    /// The dashboard at <c>/hangfire</c>: the staff gate (<see cref="Hosting.StaffAccess"/>) lets in any staff role;
    /// only Admin may act in it (trigger, retry, delete), everyone else reads.
    /// </summary>
    public static WebApplication MapJobs(this WebApplication app)
    {
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new StaffDashboardAuthorization()],
            IsReadOnlyFunc = context => !Hangfire.Dashboard.AspNetCoreDashboardContextExtensions.GetHttpContext(context).User.IsInRole(Hosting.StaffRoles.Admin),
        });
        JobEndpoints.Map(app);
        ScheduleRecurring(app);
        return app;
    }

    // The schedules, from Jobs:Scoring:Cron, Jobs:Retrain:Cron, Jobs:Evaluation:Cron, Audit:VerifyCron and Audit:ArchiveCron. With PostgreSQL down at
    // start-up they cannot be written; the node starts anyway (hooks keep answering) and another node, or the next start, writes them.
    private static void ScheduleRecurring(WebApplication app)
    {
        var scoring = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ScoringOptions>>().Value.Cron;
        var retrain = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RetrainOptions>>().Value.Cron;
        var evaluate = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EvaluationOptions>>().Value.Cron;
        var audit = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Audit.AuditOptions>>().Value;
        try
        {
            var recurring = app.Services.GetRequiredService<IRecurringJobManager>();
            Schedule<PopulationScoringJob>(recurring, PopulationScoringJob.Name, scoring, j => j.StartAsync(null, null, null, CancellationToken.None));
            Schedule<RetrainJob>(recurring, RetrainJob.Name, retrain, j => j.RunAsync(null, null, CancellationToken.None));
            Schedule<EvaluationJob>(recurring, EvaluationJob.Name, evaluate, j => j.RunAsync(null, CancellationToken.None));
            Schedule<Audit.AuditVerifyJob>(recurring, Audit.AuditEndpoints.VerifyJobName, audit.VerifyCron, j => j.RunAsync(CancellationToken.None));
            Schedule<Audit.AuditArchiveJob>(recurring, Audit.AuditEndpoints.ArchiveJobName, audit.ArchiveCron, j => j.RunAsync(CancellationToken.None));
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            ScheduleNotWritten(app.Logger, ex);
        }
    }

    private static void Schedule<TJob>(IRecurringJobManager recurring, string name, string? cron, System.Linq.Expressions.Expression<Func<TJob, Task>> job)
    {
        if (string.IsNullOrWhiteSpace(cron))
        {
            recurring.RemoveIfExists(name);
        }
        else
        {
            recurring.AddOrUpdate(name, job, cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        }
    }

    private sealed class SharedDataSourceConnectionFactory(NpgsqlDataSource dataSource) : IConnectionFactory
    {
        public NpgsqlConnection GetOrCreateConnection() => dataSource.CreateConnection();
    }
}

/// <summary>The dashboard is open to whoever the staff gate let through (a signed-in user with a staff role).</summary>
internal sealed class StaffDashboardAuthorization : Hangfire.Dashboard.IDashboardAuthorizationFilter
{
    public bool Authorize(Hangfire.Dashboard.DashboardContext context)
    {
        var user = Hangfire.Dashboard.AspNetCoreDashboardContextExtensions.GetHttpContext(context).User;
        return user.IsInRole(Hosting.StaffRoles.Admin) || user.IsInRole(Hosting.StaffRoles.Auditor) || user.IsInRole(Hosting.StaffRoles.Clinician);
    }
}

/// <summary>Hangfire's global filters (retries, display names) and this server's job audit.</summary>
internal sealed class AuditedJobFilters(Audit.JobAuditFilter audit) : Hangfire.Common.IJobFilterProvider
{
    public IEnumerable<Hangfire.Common.JobFilter> GetFilters(Hangfire.Common.Job job) =>
        Hangfire.Common.JobFilterProviders.Providers.GetFilters(job).Append(new Hangfire.Common.JobFilter(audit, Hangfire.Common.JobFilterScope.Global, null));
}

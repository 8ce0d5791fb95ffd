using System.ComponentModel.DataAnnotations;
using Hangfire;
using Hangfire.PostgreSql;
using HealthRec.Data;
using Npgsql;

namespace HealthRec.Server.Jobs;

/// <summary>Settings under <c>Jobs</c>.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire workers in this node; 0 makes the node a client only (enqueues, runs nothing).</summary>
    [Range(0, 64, ErrorMessage = "Jobs:WorkerCount must be between 0 and 64")]
    public int WorkerCount { get; set; } = Math.Max(1, Environment.ProcessorCount);
}

public static class JobsExtensions
{
    /// <summary>
    /// Hangfire with in-memory storage in the embedded default, and PostgreSQL storage (schema <c>hangfire</c>,
    /// on the application's one <see cref="NpgsqlDataSource"/>) when <c>ConnectionStrings:Postgres</c> is set,
    /// so that several nodes share the work.
    /// </summary>
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var usePostgres = !string.IsNullOrWhiteSpace(
            builder.Configuration.GetConnectionString(StorageServiceCollectionExtensions.PostgresConnectionStringName));

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
                        // Long jobs (retraining, population scoring) keep their lease while they run.
                        UseSlidingInvisibilityTimeout = true,
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
                configuration.UseInMemoryStorage();
            }
        });

        var workers = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>()?.WorkerCount
            ?? new JobsOptions().WorkerCount;
        if (workers > 0)
        {
            builder.Services.AddHangfireServer(server => server.WorkerCount = workers);
        }

        return builder;
    }

    /// <summary>The dashboard at <c>/hangfire</c>; Hangfire's default filter opens it to local requests only.</summary>
    public static WebApplication MapJobs(this WebApplication app)
    {
        app.MapHangfireDashboard("/hangfire");
        return app;
    }

    private sealed class SharedDataSourceConnectionFactory(NpgsqlDataSource dataSource) : IConnectionFactory
    {
        public NpgsqlConnection GetOrCreateConnection() => dataSource.CreateConnection();
    }
}

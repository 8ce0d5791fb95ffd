using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HealthRec.Data;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The configuration key that switches the application database (and Hangfire) to PostgreSQL.</summary>
    public const string PostgresConnectionStringName = "Postgres";

    /// <summary>
    /// Registers the application database: PostgreSQL when <c>ConnectionStrings:Postgres</c> is set (one shared
    /// <see cref="NpgsqlDataSource"/>, also registered for Hangfire), otherwise the embedded SQLite file.
    /// The schema is migrated at start-up, and a readiness health check tagged <c>ready</c> is added.
    /// </summary>
    public static IServiceCollection AddHealthRecStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        var postgres = configuration.GetConnectionString(PostgresConnectionStringName);
        if (!string.IsNullOrWhiteSpace(postgres))
        {
            ValidatePostgres(postgres);
            services.AddSingleton(sp => new NpgsqlDataSourceBuilder(postgres)
                .UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>())
                .Build());
            services.AddSingleton(sp => HealthRecDatabase.ForPostgres(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            services.AddSingleton(sp => HealthRecDatabase.ForSqlite(Path.Combine(
                sp.GetRequiredService<IHostEnvironment>().ContentRootPath,
                sp.GetRequiredService<IOptions<StorageOptions>>().Value.SqlitePath)));
        }

        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<DatabaseStatus>();
        services.AddHostedService<DatabaseStartup>();
        services.AddSingleton<InvocationStore>();
        services.AddSingleton(sp => new InvocationWriter(sp.GetRequiredService<InvocationStore>(), sp.GetRequiredService<ILogger<InvocationWriter>>(),
            Path.Combine(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, sp.GetRequiredService<IOptions<StorageOptions>>().Value.AuditSpoolPath)));
        services.AddSingleton<FeedbackStore>();
        services.AddSingleton<TokenReplayStore>();
        services.AddSingleton<ScoreStore>();
        services.AddSingleton<ModelLifecycleStore>();
        services.AddSingleton<SmartSessionStore>();
        services.AddSingleton<AuditStore>();
        services.AddSingleton(sp => new AuditWriter(sp.GetRequiredService<AuditStore>(),
            Path.Combine(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, sp.GetRequiredService<IOptions<StorageOptions>>().Value.AuditSpoolPath),
            sp.GetRequiredService<ILogger<AuditWriter>>()));
        services.AddHealthChecks().AddCheck<DatabaseReadinessCheck>("database", tags: ["ready"]);
        return services;
    }

    private static void ValidatePostgres(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new OptionsValidationException(
                "ConnectionStrings:Postgres", typeof(string),
                [$"ConnectionStrings:Postgres is not a valid PostgreSQL connection string: {ex.Message}"]);
        }
    }
}

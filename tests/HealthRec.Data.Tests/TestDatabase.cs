using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HealthRec.Data.Tests;

/// <summary>A migrated application database on one engine, private to one test.</summary>
internal sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? _sqliteFolder;
    private readonly PostgresTestDatabase? _postgres;
    private readonly NpgsqlDataSource? _dataSource;

    private TestDatabase(HealthRecDatabase database, string? sqliteFolder, PostgresTestDatabase? postgres, NpgsqlDataSource? dataSource)
    {
        Database = database;
        _sqliteFolder = sqliteFolder;
        _postgres = postgres;
        _dataSource = dataSource;
    }

    public HealthRecDatabase Database { get; }

    /// <summary>The PostgreSQL connection string (null on SQLite).</summary>
    public string? ConnectionString => _postgres?.ConnectionString;

    public static FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));

    public static async Task<TestDatabase> CreateAsync(DatabaseEngine engine, bool migrate, CancellationToken cancellationToken)
    {
        TestDatabase test;
        if (engine == DatabaseEngine.Sqlite)
        {
            var folder = Directory.CreateTempSubdirectory("healthrec-sqlite-").FullName;
            test = new TestDatabase(HealthRecDatabase.ForSqlite(Path.Combine(folder, "var", "healthrec.db")), folder, null, null);
        }
        else
        {
            var postgres = await PostgresTestDatabase.CreateAsync(cancellationToken);
            var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
            test = new TestDatabase(HealthRecDatabase.ForPostgres(dataSource), null, postgres, dataSource);
        }

        if (migrate)
        {
            await test.Migrator().MigrateAsync(cancellationToken);
        }

        return test;
    }

    public SchemaMigrator Migrator() => new(Database, Clock, NullLogger<SchemaMigrator>.Instance);

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        if (_sqliteFolder is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_sqliteFolder, recursive: true);
        }
    }
}

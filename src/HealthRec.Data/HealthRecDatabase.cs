using Microsoft.Data.Sqlite;

namespace HealthRec.Data;

/// <summary>The engine behind the application database. One schema, two engines.</summary>
public enum DatabaseEngine
{
    /// <summary>Embedded default: a file under <c>var/</c>, no server to install.</summary>
    Sqlite,

    /// <summary>Production: PostgreSQL 15+, shared by several HealthRec nodes and by Hangfire.</summary>
    Postgres,
}

/// <summary>
/// The application database: hands out open connections on whichever engine is configured.
/// SQL written for both engines uses <c>@name</c> parameters, which both providers accept.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never asked for holds nothing to dispose; the database lives as long as the process.")]
public sealed class HealthRecDatabase
{
    private readonly NpgsqlDataSource? _postgres;
    private readonly string? _sqliteConnectionString;
    private readonly SemaphoreSlim _sqliteWriter = new(1, 1);

    private HealthRecDatabase(DatabaseEngine engine, string description, NpgsqlDataSource? postgres, string? sqliteConnectionString)
    {
        Engine = engine;
        Description = description;
        _postgres = postgres;
        _sqliteConnectionString = sqliteConnectionString;
    }

    public DatabaseEngine Engine { get; }

    /// <summary>
    /// On SQLite, the turn to write: the process's writers (the audit trail, stored calls, feedback, replay ids) take it
    /// in turn here rather than meet SQLite's lock, where Microsoft.Data.Sqlite waits out a busy database in sleeps of
    /// 150 ms — which put that much onto a CDS call whose audit record waited behind another writer. PostgreSQL's
    /// writers do not block each other this way: nothing to wait for (null).
    /// </summary>
    public async ValueTask<IDisposable?> WriterTurnAsync(CancellationToken cancellationToken)
    {
        if (Engine != DatabaseEngine.Sqlite)
        {
            return null;
        }

        await _sqliteWriter.WaitAsync(cancellationToken);
        return new Turn(_sqliteWriter);
    }

    private sealed class Turn(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    /// <summary>Where the data lives, safe to log: never contains a password.</summary>
    public string Description { get; }

    /// <summary>A database in a SQLite file; the folder is created if missing.</summary>
    public static HealthRecDatabase ForSqlite(string path)
    {
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
            // Seconds a command waits on a locked database before failing (SQLite allows one writer at a time).
            DefaultTimeout = 30,
        }.ToString();
        return new HealthRecDatabase(DatabaseEngine.Sqlite, $"SQLite {fullPath}", null, connectionString);
    }

    /// <summary>A PostgreSQL database reached through the process's one shared data source.</summary>
    public static HealthRecDatabase ForPostgres(NpgsqlDataSource dataSource)
    {
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return new HealthRecDatabase(
            DatabaseEngine.Postgres, $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}", dataSource, null);
    }

    /// <summary>An open connection, synchronously: for the few callers whose API is synchronous by design (Data Protection's key repository).</summary>
    public DbConnection OpenConnection()
    {
        if (_postgres is not null)
        {
            return _postgres.OpenConnection();
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        try
        {
            connection.Open();
            using var synchronous = connection.CreateCommand();
            synchronous.CommandText = SqliteSynchronous;
            synchronous.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // With write-ahead logging, NORMAL syncs at checkpoints rather than at every commit: a commit survives a crash of the
    // process, and only the last commits before a power loss may be lost (SQLite's WAL documentation).
    private const string SqliteSynchronous = "PRAGMA synchronous=NORMAL";

    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var synchronous = connection.CreateCommand();
            synchronous.CommandText = SqliteSynchronous;
            await synchronous.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

using System.Reflection;

namespace HealthRec.Data;

/// <summary>One schema change, written once per engine under <c>Migrations/{Engine}/NNNN_name.sql</c>.</summary>
public sealed record Migration(string Id, string Sql);

/// <summary>
/// Applies the embedded SQL migrations of the configured engine, each in its own transaction, and records
/// them in <c>schema_migration</c>. On PostgreSQL the whole run holds an advisory lock, because several
/// HealthRec nodes may start against one database at the same moment; on SQLite each migration takes the
/// write lock (<c>BEGIN IMMEDIATE</c>) and re-checks that it is still pending.
/// </summary>
/// <remarks>
/// Hand-written rather than taken from a migration library so that it runs on the process's one shared
/// <c>NpgsqlDataSource</c> under that lock; it is deliberately small: forward-only, ordered by id.
/// </remarks>
public sealed class SchemaMigrator(HealthRecDatabase database, TimeProvider timeProvider, ILogger<SchemaMigrator> logger)
{
    // Arbitrary but fixed: every HealthRec node must use the same key. ASCII "HlthRec1".
    private const long AdvisoryLockKey = 0x486C746852656331;

    /// <summary>The ordered migrations shipped for an engine.</summary>
    public static IReadOnlyList<Migration> MigrationsFor(DatabaseEngine engine)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = $"migrations/{engine}/";
        return assembly.GetManifestResourceNames()
            .Select(name => name.Replace('\\', '/'))
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(name => new Migration(Path.GetFileNameWithoutExtension(name), ReadResource(assembly, name)))
            .ToList();
    }

    /// <summary>Applies every pending migration and returns the ids applied by this call.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        if (database.Engine == DatabaseEngine.Postgres)
        {
            await using var take = connection.CreateCommand("SELECT pg_advisory_lock(@key)").With("key", AdvisoryLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            // Write-ahead logging lets readers (health checks, review pages) run beside the one writer.
            await using var wal = connection.CreateCommand("PRAGMA journal_mode=WAL");
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await using (var create = connection.CreateCommand(VersionTableSql()))
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            var applied = new List<string>();
            foreach (var migration in MigrationsFor(database.Engine))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var check = connection.CreateCommand("SELECT COUNT(*) FROM schema_migration WHERE id = @id", transaction)
                    .With("id", migration.Id))
                {
                    if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
                    {
                        continue;
                    }
                }

                await using (var apply = connection.CreateCommand(migration.Sql, transaction))
                {
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var record = connection.CreateCommand(
                    "INSERT INTO schema_migration (id, applied_at) VALUES (@id, @appliedAt)", transaction))
                {
                    await record.With("id", migration.Id).With("appliedAt", timeProvider.GetUtcNow()).ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                Log.MigrationApplied(logger, migration.Id, database.Engine);
                applied.Add(migration.Id);
            }

            return applied;
        }
        finally
        {
            if (database.Engine == DatabaseEngine.Postgres)
            {
                // Not the caller's token: the lock must be released even when the start-up was cancelled.
                await using var release = connection.CreateCommand("SELECT pg_advisory_unlock(@key)").With("key", AdvisoryLockKey);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    private string VersionTableSql() => database.Engine switch
    {
        DatabaseEngine.Postgres => "CREATE TABLE IF NOT EXISTS schema_migration (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        _ => "CREATE TABLE IF NOT EXISTS schema_migration (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    };

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded migration '{name}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

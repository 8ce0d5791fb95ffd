namespace HealthRec.Data.Tests;

public sealed class SchemaMigratorTests
{
    [Fact]
    public void GivenShippedMigrations_WhenListedPerEngine_ThenBothEnginesHaveTheSameOrderedIds()
    {
        var sqlite = SchemaMigrator.MigrationsFor(DatabaseEngine.Sqlite).Select(m => m.Id).ToList();
        var postgres = SchemaMigrator.MigrationsFor(DatabaseEngine.Postgres).Select(m => m.Id).ToList();

        Assert.NotEmpty(sqlite);
        Assert.Equal(sqlite, postgres);
        Assert.Equal(sqlite.Order(StringComparer.Ordinal), sqlite);
    }

    [Theory, EachEngine]
    public async Task GivenEmptyDatabase_WhenMigratedTwice_ThenEveryMigrationIsAppliedOnce(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: false, Ct);
        var all = SchemaMigrator.MigrationsFor(engine).Select(m => m.Id).ToList();

        var first = await test.Migrator().MigrateAsync(Ct);
        var second = await test.Migrator().MigrateAsync(Ct);

        Assert.Equal(all, first);
        Assert.Empty(second);
        Assert.Equal(all, await QueryStringsAsync(test.Database, "SELECT id FROM schema_migration ORDER BY id"));
    }

    [Fact]
    public async Task GivenBothEngines_WhenMigrated_ThenTheyHaveTheSameTablesAndColumns()
    {
        await using var sqlite = await TestDatabase.CreateAsync(DatabaseEngine.Sqlite, migrate: true, Ct);
        await using var postgres = await TestDatabase.CreateAsync(DatabaseEngine.Postgres, migrate: true, Ct);

        var sqliteColumns = await QueryStringsAsync(sqlite.Database,
            "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p " +
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1");
        var postgresColumns = await QueryStringsAsync(postgres.Database,
            "SELECT table_name || '.' || column_name FROM information_schema.columns " +
            "WHERE table_schema = 'public' ORDER BY 1");

        Assert.Contains("cds_invocation.hook_instance", sqliteColumns);
        Assert.Equal(sqliteColumns.Order(StringComparer.Ordinal), postgresColumns.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenTwoNodesStartingAtOnce_WhenBothMigratePostgres_ThenEachMigrationIsAppliedExactlyOnce()
    {
        await using var test = await TestDatabase.CreateAsync(DatabaseEngine.Postgres, migrate: false, Ct);

        var results = await Task.WhenAll(test.Migrator().MigrateAsync(Ct), test.Migrator().MigrateAsync(Ct));

        var all = SchemaMigrator.MigrationsFor(DatabaseEngine.Postgres).Select(m => m.Id).ToList();
        Assert.Equal(all, results.SelectMany(applied => applied).Order(StringComparer.Ordinal));
        Assert.Equal(all, await QueryStringsAsync(test.Database, "SELECT id FROM schema_migration ORDER BY id"));
    }

    private static async Task<List<string>> QueryStringsAsync(HealthRecDatabase database, string sql)
    {
        await using var connection = await database.OpenConnectionAsync(Ct);
        await using DbCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var values = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}

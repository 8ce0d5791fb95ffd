namespace HealthRec.Data.Tests;

/// <summary>The tamper-evident audit trail on both engines: appended only, chained, and each kind of tampering found where it happened.</summary>
public sealed class AuditStoreTests() : TempFolderTests("healthrec-spool-")
{
    private static AuditEntry Entry(int i) => new("AuditEvent", $"ae-{i}", i % 2 == 0 ? "p1" : null, $"{{\"resourceType\":\"AuditEvent\",\"id\":\"ae-{i}\"}}");

    // A record with search values and a resource whose text needs escaping and is not ASCII.
    private static AuditEntry Rich(int i) => new("AuditEvent", $"ae-{i}", null,
        $"{{\"resourceType\":\"AuditEvent\",\"id\":\"ae-{i}\",\"text\":{{\"div\":\"<div>Zoë \\\"{i}\\\" \\u2028 &amp;</div>\"}}}}")
    {
        Search = [new("action", "E"), new("entity", $"card-{i}"), new("entity", $"https://x.example/{i}?a=1&b=ü")],
    };

    private static async Task<AuditStore> FiveRecordsAsync(TestDatabase test)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var store = new AuditStore(test.Database, clock);
        for (var i = 1; i <= 5; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1.2345678));
            await store.AppendAsync([Entry(i)], Ct);
        }

        return store;
    }

    [Theory, EachEngine]
    public async Task GivenAppendedRecords_WhenVerified_ThenTheChainIsIntactAndEachRecordNamesTheOneBefore(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = await FiveRecordsAsync(test);

        var records = await store.ReadAsync(Ct).ToListAsync(Ct);
        var verification = await store.VerifyAsync(Ct);

        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(5, verification.Records);
        Assert.Equal([1L, 2, 3, 4, 5], records.Select(r => r.Seq));
        Assert.Equal(AuditStore.Genesis, records[0].PreviousHash);
        Assert.Equal(records.Take(4).Select(r => r.Hash), records.Skip(1).Select(r => r.PreviousHash));
        Assert.Equal("p1", records[1].PatientId);
        Assert.Null(records[0].PatientId);
    }

    [Theory, EachEngine]
    public async Task GivenTheTrail_WhenARecordIsUpdatedOrDeleted_ThenTheDatabaseRefuses(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = await FiveRecordsAsync(test);

        var update = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "UPDATE audit_record SET resource = '{}' WHERE seq = 3"));
        var delete = await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "DELETE FROM audit_record WHERE seq = 3"));

        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
        Assert.True((await store.VerifyAsync(Ct)).Intact);
        Assert.Equal(5, (await store.VerifyAsync(Ct)).Records);
    }

    [Theory]
    [InlineData(DatabaseEngine.Sqlite, "edit")]
    [InlineData(DatabaseEngine.Sqlite, "delete")]
    [InlineData(DatabaseEngine.Sqlite, "reorder")]
    [InlineData(DatabaseEngine.Postgres, "edit")]
    [InlineData(DatabaseEngine.Postgres, "delete")]
    [InlineData(DatabaseEngine.Postgres, "reorder")]
    public async Task GivenTriggersDroppedByAnAttacker_WhenTheTrailIsTamperedWith_ThenVerificationReportsTheFirstBrokenRecord(DatabaseEngine engine, string tampering)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = await FiveRecordsAsync(test);
        await ExecuteAsync(test, engine == DatabaseEngine.Postgres
            ? "DROP TRIGGER audit_record_no_update_or_delete ON audit_record"
            : "DROP TRIGGER audit_record_no_update; DROP TRIGGER audit_record_no_delete");

        var (sql, brokenAt, words) = tampering switch
        {
            "edit" => ("UPDATE audit_record SET resource = '{\"resourceType\":\"AuditEvent\",\"id\":\"ae-3\",\"outcome\":\"0\"}' WHERE seq = 3", 3L, "content was changed"),
            "delete" => ("DELETE FROM audit_record WHERE seq = 3", 4L, "record 3 is missing"),
            // Records 2 and 3 swap places (their contents move, each keeping its own hashes).
            _ => ("UPDATE audit_record SET seq = -seq WHERE seq IN (2, 3); UPDATE audit_record SET seq = 5 + seq WHERE seq IN (-2, -3)", 2L, "does not follow record 1"),
        };
        await ExecuteAsync(test, sql);
        var verification = await store.VerifyAsync(Ct);

        Assert.False(verification.Intact);
        Assert.Equal(brokenAt, verification.BrokenAt);
        Assert.Contains(words, verification.Problem, StringComparison.Ordinal);
    }

    [Theory, EachEngine]
    public async Task GivenWritersAppendingAtOnce_WhenTheyFinish_ThenTheChainHasEveryRecordOnceAndNoFork(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new AuditStore(test.Database, TimeProvider.System);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await store.AppendAsync([Entry((writer * 100) + i), Entry((writer * 100) + i + 50)], Ct);
            }
        }, Ct)));
        var verification = await store.VerifyAsync(Ct);

        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(120, verification.Records);
        Assert.Equal(120, (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.ResourceId).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory, EachEngine]
    public async Task GivenRecordsPastRetention_WhenArchived_ThenTheFileHoldsThemVerifiedTheRestStillVerifiesAndOnlyArchivedRecordsCouldBeRemoved(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var clock = new FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new AuditStore(test.Database, clock);
        for (var i = 1; i <= 6; i++)
        {
            await store.AppendAsync([Entry(i) with { Search = [new("patient", $"p{i % 2}")] }], Ct);
            clock.Advance(TimeSpan.FromDays(100));
        }

        var before = await store.ReadAsync(Ct).ToListAsync(Ct);
        var folder = Directory.CreateTempSubdirectory("healthrec-archive-");
        using var removed = folder.DeletedAtEnd();
        // Records 1-3 were appended on days 0, 100 and 200; the cutoff is day 250.
        var archive = await store.ArchiveAsync(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(250), folder.FullName, Ct);

        Assert.NotNull(archive);
        Assert.Equal((1L, 3L, 3L), (archive.FirstSeq, archive.ArchivedThrough, archive.Records));
        Assert.Equal(before[2].Hash, archive.LastHash);
        var archived = await AuditStore.ReadArchiveAsync(archive.File, Ct).ToListAsync(Ct);
        Assert.Equal(before.Take(3), archived);
        Assert.True((await AuditStore.VerifyAsync(AuditStore.ReadArchiveAsync(archive.File, Ct), 1, AuditStore.Genesis, Ct)).Intact);
        await using (var file = File.OpenRead(archive.File))
        {
            Assert.Equal(archive.FileSha256, Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file, Ct)));
        }

        // What remains starts at record 4 and verifies from the archive's anchor; search no longer finds the archived ones.
        Assert.Equal([4L, 5, 6], (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.Seq));
        var verification = await store.VerifyAsync(Ct);
        Assert.True(verification.Intact, verification.Problem);
        Assert.Equal(3, verification.Records);
        Assert.Equal([5L], (await store.SearchAsync(new AuditQuery("AuditEvent") { Filters = [new("patient", ["p1"])] }, 10, Ct)).Page.Select(r => r.Seq));

        // Appending goes on from the chain's end; a record not yet archived still cannot be removed, nor an archive row.
        await store.AppendAsync([Entry(7)], Ct);
        Assert.True((await store.VerifyAsync(Ct)).Intact);
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "DELETE FROM audit_record WHERE seq = 4"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "DELETE FROM audit_search WHERE seq = 5"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "DELETE FROM audit_archive"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteAsync(test, "UPDATE audit_archive SET last_hash = 'x'"));

        // Nothing else is past retention: a second archive with the same cutoff does nothing.
        Assert.Null(await store.ArchiveAsync(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(250), folder.FullName, Ct));
    }

    [Theory, EachEngine]
    public async Task GivenABrokenChain_WhenArchived_ThenNothingIsWrittenOrRemoved(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = await FiveRecordsAsync(test);
        await ExecuteAsync(test, engine == DatabaseEngine.Postgres
            ? "DROP TRIGGER audit_record_no_update_or_delete ON audit_record; UPDATE audit_record SET patient_id = 'p9' WHERE seq = 2"
            : "DROP TRIGGER audit_record_no_update; UPDATE audit_record SET patient_id = 'p9' WHERE seq = 2");
        var folder = Directory.CreateTempSubdirectory("healthrec-archive-");
        using var removed = folder.DeletedAtEnd();
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.ArchiveAsync(DateTimeOffset.MaxValue, folder.FullName, Ct));

        Assert.Contains("broken at record 2", refused.Message, StringComparison.Ordinal);
        Assert.Empty(folder.GetFiles());
        Assert.Equal(5, (await store.ReadAsync(Ct).ToListAsync(Ct)).Count);
    }

    [Theory, EachEngine]
    public async Task GivenTheDatabaseRefusingWrites_WhenRecordsAreWritten_ThenTheyWaitInTheJournalAndJoinTheChainInOrderOnceItTakesThem(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new AuditStore(test.Database, TimeProvider.System);
        await using (var writer = Writer(store))
        {
            await writer.WriteAsync([Rich(1)]);
            await writer.FlushAsync(Ct);
            Assert.Equal(["ae-1"], (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.ResourceId));

            // The table is renamed away: every append fails as it would with the database down; writes still succeed.
            await ExecuteAsync(test, "ALTER TABLE audit_record RENAME TO audit_record_away");
            await writer.WriteAsync([Rich(2)]);
            await writer.FlushAsync(Ct);
            await writer.WriteAsync([Rich(3), Rich(4)]);
            await writer.FlushAsync(Ct);
            Assert.True(writer.Spooling);

            await ExecuteAsync(test, "ALTER TABLE audit_record_away RENAME TO audit_record");
            await writer.WriteAsync([Rich(5)]);
            await writer.FlushAsync(Ct);

            Assert.False(writer.Spooling);
            Assert.Equal(["ae-1", "ae-2", "ae-3", "ae-4", "ae-5"], (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.ResourceId));
            await writer.WriteAsync([Rich(6)]);
        }

        // Stopped with a record journalled: the next writer on that journal appends it, and only once.
        await using (var again = Writer(store))
        {
            await again.FlushAsync(Ct);
        }

        var records = await store.ReadAsync(Ct).ToListAsync(Ct);
        Assert.Equal(["ae-1", "ae-2", "ae-3", "ae-4", "ae-5", "ae-6"], records.Select(r => r.ResourceId));
        Assert.True((await store.VerifyAsync(Ct)).Intact);

        // Whether kept in memory (1) or read back from the journal (2-6: written during or just after the outage), each record is the resource as written, byte for
        // byte, and is found by each of its search values.
        Assert.Equal(Enumerable.Range(1, 6).Select(i => Rich(i).ResourceJson), records.Select(r => r.ResourceJson));
        for (var i = 1; i <= 6; i++)
        {
            Assert.Equal([(long)i], (await store.SearchAsync(new AuditQuery("AuditEvent") { Filters = [new("entity", [$"card-{i}"])] }, 10, Ct)).Page.Select(r => r.Seq));
        }

        Assert.Equal(6, (await store.SearchAsync(new AuditQuery("AuditEvent") { Filters = [new("action", ["E"])] }, 10, Ct)).Page.Count);
    }

    [Theory, EachEngine]
    public async Task GivenAJournalAppendedBeforeACrashCouldDeleteIt_WhenTheNodeStartsAgain_ThenItsRecordsAreNotAppendedTwice(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new AuditStore(test.Database, TimeProvider.System);
        // The crash, staged: a journal file whose records are already in the chain, still on disk (named and written as an older version left them).
        await store.AppendAsync([Entry(1), Entry(2)], Ct);
        await File.WriteAllLinesAsync(Path.Combine(Folder.FullName, "draining-000000000001.ndjson"),
            [System.Text.Json.JsonSerializer.Serialize(Entry(1)), System.Text.Json.JsonSerializer.Serialize(Entry(2))], Ct);
        await using (var writer = Writer(store))
        {
            await writer.WriteAsync([Entry(3)]);
            await writer.FlushAsync(Ct);
            Assert.False(writer.Spooling);
        }

        Assert.Equal(["ae-1", "ae-2", "ae-3"], (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.ResourceId));
    }

    [Fact]
    public async Task GivenTheSpoolFolderRefusingNewJournals_WhenItAcceptsAgain_ThenWritesNeverFailedAndTheDrainerCatchesUpOnItsOwn()
    {
        await using var test = await TestDatabase.CreateAsync(DatabaseEngine.Sqlite, migrate: true, Ct);
        var store = new AuditStore(test.Database, TimeProvider.System);
        // Directories where the next journals would be created: no new journal can be, as on a full or read-only disk.
        var blockers = Enumerable.Range(2, 30).Select(n => Directory.CreateDirectory(Path.Combine(Folder.FullName, $"journal-{n:D12}.ndjson"))).ToList();
        await using var writer = Writer(store);
        await writer.WriteAsync([Rich(1)]);
        await Task.Delay(1500, Ct);
        await writer.WriteAsync([Rich(2)]);
        Assert.Empty(await store.ReadAsync(Ct).ToListAsync(Ct));

        // No flush from here on: only the drainer's own loop can append them, so it must have kept going.
        blockers.ForEach(b => b.Delete());
        await writer.WriteAsync([Rich(3)]);
        var appended = new List<string>();
        for (var i = 0; i < 50 && appended.Count < 3; i++)
        {
            await Task.Delay(100, Ct);
            appended = [.. (await store.ReadAsync(Ct).ToListAsync(Ct)).Select(r => r.ResourceId)];
        }

        Assert.Equal(["ae-1", "ae-2", "ae-3"], appended);
        Assert.True((await store.VerifyAsync(Ct)).Intact);
    }

    [Fact]
    public async Task GivenAWriter_WhenItRuns_ThenItsDrainerThreadIsInTheIdleSchedulingClassAndTheThreadsAnsweringRequestsAreNot()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Scheduling classes are read from /proc, on Linux (where HealthRec puts the drainer in the background).");
        await using var test = await TestDatabase.CreateAsync(DatabaseEngine.Sqlite, migrate: true, Ct);
        await using var writer = Writer(new AuditStore(test.Database, TimeProvider.System));
        List<int> drainers = [];
        for (var i = 0; i < 50 && (drainers.Count == 0 || drainers.Any(p => p != SchedIdle)); i++)
        {
            await Task.Delay(100, Ct);
            drainers = [.. Threads().Where(t => t.Name == "HealthRec audit").Select(t => t.Policy)];
        }

        Assert.NotEmpty(drainers);
        Assert.All(drainers, policy => Assert.Equal(SchedIdle, policy));
        // Only that thread: the pool's threads, which answer requests, keep the normal class and priority.
        var pool = Threads().Where(t => t.Name.StartsWith(".NET TP", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(pool);
        Assert.All(pool, t => Assert.Equal((0, 0), (t.Policy, t.Nice)));
    }

    private const int SchedIdle = 5;

    // Every thread of this process: its name (15 characters at most on Linux), nice value and scheduling policy (fields
    // 19 and 41 of its stat).
    private static IEnumerable<(int Id, string Name, int Nice, int Policy)> Threads() =>
        Directory.GetDirectories("/proc/self/task").Select(task =>
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return ((int Id, string Name, int Nice, int Policy)?)(int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture),
                    File.ReadAllText(Path.Combine(task, "comm")).Trim(),
                    int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[38], System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                return null; // a thread that ended while being read
            }
        }).OfType<(int, string, int, int)>();

    private static async Task ExecuteAsync(TestDatabase test, string sql)
    {
        await using var connection = await test.Database.OpenConnectionAsync(Ct);
        await using var command = connection.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Ct);
    }

    // The writer as a node runs it, journaling into this test's folder.
    private AuditWriter Writer(AuditStore store) => new(store, Folder.FullName, Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditWriter>.Instance);
}

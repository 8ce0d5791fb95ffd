using Npgsql;

namespace HealthRec.Data.Tests;

/// <summary>The call writer through a database outage, and through a node that dies during one.</summary>
public sealed class InvocationWriterTests() : TempFolderTests("healthrec-calls-spool-")
{
    private static CdsInvocation Call(int i) => new("healthrec-patient-risk", $"hook-{i}-{Guid.NewGuid():N}", "patient-view", $"patient-{i}",
        new DateTimeOffset(2026, 12, 6, 10, 0, i, TimeSpan.Zero), 5, 200, 1);

    private static CdsCardRecord Card(CdsInvocation call) =>
        new($"card-{call.HookInstance}", "risk", "t2d-5y", "warning", "5-year diabetes risk 31% (high)", [new CdsSuggestionRecord($"s-{call.HookInstance}", "metformin", "Propose metformin")]);

    /// <summary>
    /// A node started on <paramref name="spool"/> stores what it finds there: every call reads back unchanged, each with its
    /// card and the card's suggestion, and the spool file is removed.
    /// </summary>
    private static async Task AssertRestartStoresEveryCallAsync(HealthRecDatabase database, DirectoryInfo spool, List<CdsInvocation> calls)
    {
        await using (var restarted = new InvocationWriter(new InvocationStore(database), spoolDirectory: spool.FullName))
        {
            await restarted.FlushAsync(Ct);
        }

        var store = new InvocationStore(database);
        foreach (var call in calls)
        {
            Assert.Equal(call, await store.FindAsync(call.ServiceId, call.HookInstance, Ct));
        }

        var cards = await new FeedbackStore(database).FindCardsAsync([.. calls.Select(c => Card(c).CardUuid)], Ct);
        Assert.Equal(calls.Count, cards.Count);
        Assert.All(calls, c => Assert.Contains($"s-{c.HookInstance}", cards[Card(c).CardUuid].Suggestions));
        Assert.False(File.Exists(Path.Combine(spool.FullName, "calls-waiting.ndjson")), "the spool is removed once its calls are stored");
    }

    [Fact]
    public async Task GivenCallsAnsweredWhileTheDatabaseIsUnreachable_WhenTheNodeDiesAndStartsAgain_ThenEveryCallAndCardIsStored()
    {
        await using var test = await TestDatabase.CreateAsync(DatabaseEngine.Postgres, migrate: true, Ct);
        // The same database at an address nothing listens on: every connection is refused, as in an outage.
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var closedPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var unreachable = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(test.ConnectionString!) { Port = closedPort, Timeout = 1 }.ConnectionString);
        var calls = Enumerable.Range(0, 5).Select(Call).ToList();

        var dying = new InvocationWriter(new InvocationStore(HealthRecDatabase.ForPostgres(unreachable)), spoolDirectory: Folder.FullName);
        var pending = calls.Select(c => dying.RecordAsync(c, [Card(c)])).ToList();
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !(dying.Waiting && File.Exists(Path.Combine(Folder.FullName, "calls-waiting.ndjson"))); await Task.Delay(50, Ct))
        {
            Assert.True(DateTime.UtcNow < deadline, "the writer never started waiting for the database");
        }

        // The node dies: what it held in memory is gone (its callers hear that the calls were not stored).
        await dying.DisposeAsync();
        Assert.All(pending, p => Assert.True(p.IsFaulted));

        await AssertRestartStoresEveryCallAsync(test.Database, Folder, calls);
    }

    [Fact]
    public async Task GivenABatchBeingCommittedWithTheDatabaseUp_WhenTheNodeIsKilled_ThenItsCallsAreStoredAtTheNextStart()
    {
        // The node that dies writes to a database of its own whose call table another session holds locked, so its commit
        // is still in flight (not failing, not retried) at the instant of the kill: nothing of it ever reaches a database.
        await using var doomed = await TestDatabase.CreateAsync(DatabaseEngine.Postgres, migrate: true, Ct);
        await using var survivor = await TestDatabase.CreateAsync(DatabaseEngine.Postgres, migrate: true, Ct);
        await using var locker = new NpgsqlConnection(doomed.ConnectionString);
        await locker.OpenAsync(Ct);
        await using var hold = await locker.BeginTransactionAsync(Ct);
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE cds_invocation IN ACCESS EXCLUSIVE MODE", locker, hold))
        {
            await lockTable.ExecuteNonQueryAsync(Ct);
        }

        var calls = Enumerable.Range(0, 5).Select(Call).ToList();
        var spoolFile = Path.Combine(Folder.FullName, "calls-waiting.ndjson");
        var dying = new InvocationWriter(new InvocationStore(doomed.Database), spoolDirectory: Folder.FullName);
        var pending = calls.Select(c => dying.RecordAsync(c, [Card(c)])).ToList();
        // The batch in flight is whatever the writer had taken when it began to commit: all five calls, or — when it woke
        // before the test had queued them all, as under CI's load — the first of them, the rest waiting behind the commit
        // and never written ahead (their callers were never told they were stored). Every call written ahead must survive.
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !(File.Exists(spoolFile) && File.ReadAllLines(spoolFile).Length > 0); await Task.Delay(50, Ct))
        {
            Assert.True(DateTime.UtcNow < deadline, "the batch was not written ahead of its commit");
        }

        await Task.Delay(300, Ct);
        var written = File.ReadAllText(spoolFile);
        var batch = calls.Where(c => written.Contains(c.HookInstance, StringComparison.Ordinal)).ToList();
        Assert.Equal(File.ReadAllLines(spoolFile).Length, batch.Count);
        Assert.All(pending, p => Assert.False(p.IsCompleted, "the commit was meant to be in flight"));

        // The kill: the node's disk is what it is at this instant; the new process starts on a copy of it.
        var afterKill = Directory.CreateTempSubdirectory("healthrec-calls-spool-after-kill-");
        try
        {
            File.Copy(spoolFile, Path.Combine(afterKill.FullName, "calls-waiting.ndjson"));
            await AssertRestartStoresEveryCallAsync(survivor.Database, afterKill, batch);
        }
        finally
        {
            afterKill.Delete(recursive: true);
            await hold.RollbackAsync(Ct);
            await dying.DisposeAsync();
        }
    }

    [Fact]
    public async Task GivenTheDatabaseUp_WhenCallsAreStored_ThenNoSpoolIsLeftBehind()
    {
        await using var test = await TestDatabase.CreateAsync(DatabaseEngine.Sqlite, migrate: true, Ct);
        await using var writer = new InvocationWriter(new InvocationStore(test.Database), spoolDirectory: Folder.FullName);
        var calls = Enumerable.Range(0, 20).Select(Call).ToList();
        var stored = await Task.WhenAll(calls.Select(c => writer.RecordAsync(c, [Card(c)])));

        Assert.All(stored, Assert.True);
        Assert.False(File.Exists(Path.Combine(Folder.FullName, "calls-waiting.ndjson")), "nothing waits, so nothing stays spooled");
    }
}

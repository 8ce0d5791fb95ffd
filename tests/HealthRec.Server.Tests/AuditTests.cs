namespace HealthRec.Server.Tests;

/// <summary>The audit trail's verification as operators run it: the CLI verb, the admin endpoint and the daily job.</summary>
[Collection(SequentialServers.Name)]
public sealed class AuditTests() : TempFolderTests("healthrec-audit-")
{
    [Fact]
    public async Task GivenATrail_WhenVerifiedBeforeAndAfterARecordIsChanged_ThenTheVerbTheEndpointAndTheJobAllReportTheBrokenRecord()
    {
        var file = Path.Combine(Folder.FullName, "healthrec.db");
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Storage:SqlitePath"] = file }, Ct);
        var store = (await server.AuditAsync(Ct));
        for (var i = 1; i <= 4; i++)
        {
            await store.AppendAsync([new AuditEntry("AuditEvent", $"ae-{i}", "p1", $"{{\"resourceType\":\"AuditEvent\",\"id\":\"ae-{i}\"}}")], Ct);
        }

        // The daily verification is scheduled with the other jobs, from Audit:VerifyCron.
        using (var jobs = server.Services.GetRequiredService<Hangfire.JobStorage>().GetConnection())
        {
            Assert.Equal("30 4 * * *", Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(jobs).Single(j => j.Id == AuditEndpoints.VerifyJobName).Cron);
        }

        Assert.Equal(0, await VerbAsync(file));
        var intact = await server.Client.GetFromJsonAsync<AuditVerificationResult>(new Uri("/admin/audit/verify", UriKind.Relative), Ct);
        Assert.True(intact!.Intact);
        // The four, and the record of this very request (staff access is recorded before it is carried out).
        Assert.Equal(5, intact.Records);
        Assert.Equal("intact: 5 records", await server.Services.GetRequiredService<AuditVerifyJob>().RunAsync(Ct));

        // Someone with write access to the database drops the triggers and edits record 2.
        await using (var connection = await server.Services.GetRequiredService<HealthRecDatabase>().OpenConnectionAsync(Ct))
        await using (var tamper = connection.CreateCommand())
        {
            tamper.CommandText = "DROP TRIGGER audit_record_no_update; UPDATE audit_record SET patient_id = 'p2' WHERE seq = 2";
            await tamper.ExecuteNonQueryAsync(Ct);
        }

        Assert.Equal(1, await VerbAsync(file));
        var broken = await server.Client.GetFromJsonAsync<AuditVerificationResult>(new Uri("/admin/audit/verify", UriKind.Relative), Ct);
        Assert.False(broken!.Intact);
        Assert.Equal(2, broken.BrokenAt);
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => server.Services.GetRequiredService<AuditVerifyJob>().RunAsync(Ct));
        Assert.Contains("broken at record 2", failed.Message, StringComparison.Ordinal);
        Assert.Equal(2, await VerbAsync(Path.Combine(Folder.FullName, "no-such.db")));
    }

    [Fact]
    public async Task GivenRecordsPastRetention_WhenTheArchiveJobRuns_ThenOnlyThoseAreArchivedAndTheArchiveIsItselfRecorded()
    {
        var archives = Path.Combine(Folder.FullName, "archive");
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Audit:RetentionDays"] = "30",
            ["Audit:ArchivePath"] = archives,
        }, Ct);
        var database = server.Services.GetRequiredService<HealthRecDatabase>();
        // Three records written 40 days ago (a store on a clock set back), then two today.
        var old = new AuditStore(database, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-40)));
        var store = (await server.AuditAsync(Ct));
        for (var i = 1; i <= 3; i++)
        {
            await old.AppendAsync([new AuditEntry("AuditEvent", $"old-{i}", null, $"{{\"resourceType\":\"AuditEvent\",\"id\":\"old-{i}\"}}")], Ct);
        }

        await store.AppendAsync([new AuditEntry("AuditEvent", "new-1", null, "{\"resourceType\":\"AuditEvent\",\"id\":\"new-1\"}")], Ct);
        using (var jobs = server.Services.GetRequiredService<Hangfire.JobStorage>().GetConnection())
        {
            Assert.Equal("45 4 * * 0", Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(jobs).Single(j => j.Id == AuditEndpoints.ArchiveJobName).Cron);
        }

        var result = await server.Services.GetRequiredService<AuditArchiveJob>().RunAsync(Ct);
        await server.AuditAsync(Ct);

        Assert.StartsWith("archived 3 records (1-3)", result, StringComparison.Ordinal);
        var file = Assert.Single(Directory.GetFiles(archives));
        Assert.Equal(["old-1", "old-2", "old-3"], (await AuditStore.ReadArchiveAsync(file, Ct).ToListAsync(Ct)).Select(r => r.ResourceId));
        var remaining = await store.ReadAsync(Ct).ToListAsync(Ct);
        Assert.Equal("new-1", remaining[0].ResourceId);
        var record = remaining[^1];
        Assert.Contains("\"code\":\"audit-archive\"", record.ResourceJson, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(file), record.ResourceJson, StringComparison.Ordinal);
        Assert.True((await store.VerifyAsync(Ct)).Intact);
        Assert.StartsWith("nothing recorded before", await server.Services.GetRequiredService<AuditArchiveJob>().RunAsync(Ct), StringComparison.Ordinal);
    }

    private static async Task<int> VerbAsync(string database) =>
        await RunAsync(["audit", "verify", "--database", database]);
}

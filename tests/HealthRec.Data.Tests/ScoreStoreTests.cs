namespace HealthRec.Data.Tests;

public sealed class ScoreStoreTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 2, 0, 0, TimeSpan.Zero);

    private static ScoreRow Row(string patient, string outcome, double estimate, string? band = "high") =>
        new(patient, outcome, estimate, band, "v3", "age 70 (raises)", "statin-high; lipid-panel");

    [Theory, EachEngine]
    public async Task GivenARunOfTwoChunks_WhenAChunkIsStoredTwiceAndTheOtherOnce_ThenItsRowsAreThereOnceAndTheRunCompletesOnlyThen(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new ScoreStore(test.Database);
        var run = await store.StartRunAsync(new ScoreRun("run-1", "data/sample", At, 2, 3, "t2d-5y v3", ScoreRun.Scoring, At, null), Ct);
        // A second start of the same run keeps the first one's settings.
        Assert.Equal(run, await store.StartRunAsync(run with { ChunkCount = 9, IndexAt = At.AddDays(1) }, Ct));

        Assert.Equal(1, await store.RecordChunkAsync("run-1", 0, 2, "node-a", [Row("p1", "t2d-5y", 0.3), Row("p2", "t2d-5y", 0.6)], At, Ct));
        Assert.False(await store.CompleteRunAsync("run-1", At, Ct));
        // The same chunk again (a retry on another node): the same rows, the chunk still credited to the first node.
        Assert.Equal(1, await store.RecordChunkAsync("run-1", 0, 2, "node-b", [Row("p1", "t2d-5y", 0.3), Row("p2", "t2d-5y", 0.6)], At, Ct));
        Assert.Equal(2, await store.RecordChunkAsync("run-1", 1, 1, "node-b", [Row("p3", "t2d-5y", 0.1, "low"), Row("p3", "ckd-5y", 0.2)], At, Ct));
        Assert.True(await store.CompleteRunAsync("run-1", At.AddMinutes(1), Ct));
        Assert.False(await store.CompleteRunAsync("run-1", At.AddMinutes(2), Ct));

        var rows = new List<ScoreRow>();
        await foreach (var row in store.RowsAsync("run-1", Ct))
        {
            rows.Add(row);
        }

        Assert.Equal([("p1", "t2d-5y"), ("p2", "t2d-5y"), ("p3", "ckd-5y"), ("p3", "t2d-5y")], rows.Select(r => (r.PatientId, r.Outcome)));
        Assert.Equal(["node-a", "node-b"], (await store.ChunksAsync("run-1", Ct)).Select(c => c.Node));
        var completed = await store.LatestCompletedAsync(Ct);
        Assert.Equal(ScoreRun.Completed, completed!.Status);
        Assert.Equal(At.AddMinutes(1), completed.CompletedAt);
        Assert.Equal(["p2", "p1", "p3"], (await store.WorklistAsync("run-1", "t2d-5y", 10, null, Ct)).Select(r => r.PatientId));
        Assert.Equal(["p2", "p1"], (await store.WorklistAsync("run-1", "t2d-5y", 10, "high", Ct)).Select(r => r.PatientId));
        Assert.Equal(["p2"], (await store.WorklistAsync("run-1", "t2d-5y", 1, null, Ct)).Select(r => r.PatientId));
    }
}

namespace HealthRec.Data.Tests;

public sealed class SmartSessionStoreTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    [Theory, EachEngine]
    public async Task GivenASession_WhenSavedUpdatedAndTimeMoves_ThenItReadsBackUntilItEndsAndThePurgeRemovesOnlyEndedOnes(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new SmartSessionStore(test.Database);

        await store.SaveAsync("s1", [1, 2, 3], At.AddHours(1), Ct);
        await store.SaveAsync("s2", [9], At.AddHours(3), Ct);
        await store.SaveAsync("s1", [4, 5], At.AddHours(2), Ct);

        Assert.Equal([4, 5], await store.FindAsync("s1", At, Ct));
        Assert.Null(await store.FindAsync("s1", At.AddHours(2), Ct));
        Assert.Null(await store.FindAsync("unknown", At, Ct));
        Assert.Equal(1, await store.PurgeAsync(At.AddHours(2.5), Ct));
        Assert.Equal([9], await store.FindAsync("s2", At, Ct));
        await store.RemoveAsync("s2", Ct);
        Assert.Null(await store.FindAsync("s2", At, Ct));
    }

    [Theory, EachEngine]
    public async Task GivenDataProtectionKeys_WhenAddedTwice_ThenEachIsKeptOnceAsWritten(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new SmartSessionStore(test.Database);

        store.AddKey("key-b", "<key id=\"b\" />");
        store.AddKey("key-a", "<key id=\"a\" />");
        store.AddKey("key-a", "<key id=\"changed\" />");

        Assert.Equal(["<key id=\"a\" />", "<key id=\"b\" />"], store.Keys());
    }
}

namespace HealthRec.Data.Tests;

public sealed class InvocationStoreTests
{
    private static readonly CdsInvocation[] Invocations =
    [
        new("healthrec-patient-risk", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "patient-view", "1288992",
            new DateTimeOffset(2026, 11, 29, 9, 15, 1, 123, TimeSpan.Zero).AddMicroseconds(456), 7, 200, 2),
        // A call before the patient is known, from a client in another time zone.
        new("healthrec-order-check", "0b7b4e0c-4d2f-4b43-9c8e-9e1f3c4a2b10", "order-sign", null,
            new DateTimeOffset(2026, 11, 29, 11, 15, 2, TimeSpan.FromHours(2)), 41, 412, 0),
        new("healthrec-patient-risk", "5f1a0b5e-2a43-4a5f-8f38-0c1f0b7d7e77", "patient-view", "Patient-ü-42",
            new DateTimeOffset(2026, 11, 29, 9, 20, 0, TimeSpan.Zero), 3, 200, 3),
    ];

    [Theory, EachEngine]
    public async Task GivenMigratedDatabase_WhenInvocationsRecorded_ThenTheyReadBackUnchanged(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new InvocationStore(test.Database);

        foreach (var invocation in Invocations)
        {
            Assert.True(await store.RecordAsync(invocation, Ct));
        }

        foreach (var invocation in Invocations)
        {
            var stored = await store.FindAsync(invocation.ServiceId, invocation.HookInstance, Ct);
            Assert.NotNull(stored);
            Assert.Equal(invocation with { ReceivedAt = invocation.ReceivedAt.ToUniversalTime() }, stored);
            Assert.Equal(invocation.ReceivedAt, stored.ReceivedAt);
        }

        var recent = await store.ListRecentAsync(10, Ct);
        Assert.Equal(
            // 09:20Z, then 11:15:02+02:00 (= 09:15:02Z), then 09:15:01.123456Z: ordered by instant, not by text.
            ["5f1a0b5e-2a43-4a5f-8f38-0c1f0b7d7e77", "0b7b4e0c-4d2f-4b43-9c8e-9e1f3c4a2b10", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"],
            recent.Select(i => i.HookInstance));
    }

    [Theory, EachEngine]
    public async Task GivenRecordedInvocation_WhenSameHookInstanceRecordedAgain_ThenFirstRecordIsKept(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new InvocationStore(test.Database);
        var first = Invocations[0];

        Assert.True(await store.RecordAsync(first, Ct));
        Assert.False(await store.RecordAsync(first with { CardCount = 99, DurationMs = 1 }, Ct));

        Assert.Equal(first, await store.FindAsync(first.ServiceId, first.HookInstance, Ct));
        Assert.Single(await store.ListRecentAsync(10, Ct));
    }

    [Theory, EachEngine]
    public async Task GivenUnknownHookInstance_WhenFound_ThenNothingIsReturned(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);

        Assert.Null(await new InvocationStore(test.Database).FindAsync("healthrec-patient-risk", "no-such-call", Ct));
    }
}

namespace HealthRec.Data.Tests;

public sealed class FeedbackStoreTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    // One patient-view call with a risk card and a recommendation card of two suggestions, and one order-check call.
    private static async Task SeedAsync(InvocationStore store)
    {
        await store.RecordAsync(new CdsInvocation("healthrec-patient-risk", "hi-1", "patient-view", "p1", At, 9, 200, 2),
        [
            new CdsCardRecord("card-risk", "risk", "ascvd-10y", "warning", "10-year ASCVD risk 22% (high)", []),
            new CdsCardRecord("card-rec", "recommendation", "recommendations", "info", "Consider: statin, SGLT2 inhibitor",
                [new CdsSuggestionRecord("s-statin", "statin-high", "Propose statin"), new CdsSuggestionRecord("s-sglt2", "sglt2-inhibitor", "Propose SGLT2")]),
        ], Ct);
        await store.RecordAsync(new CdsInvocation("healthrec-order-check", "hi-2", "order-sign", "p2", At.AddMinutes(5), 7, 200, 1),
            [new CdsCardRecord("card-order", "order-contraindication", "ace-inhibitor", "warning", "lisinopril is contraindicated: pregnancy",
                [new CdsSuggestionRecord("s-remove", null, "Remove the lisinopril order")])], Ct);
    }

    private static CdsFeedback Item(string card, string service, string outcome, string[]? accepted = null, string? code = null, int minutes = 1) =>
        new(card, service, outcome, accepted ?? [], code is null ? null : "https://healthrec.example.org/fhir/CodeSystem/cds-override-reason", code, null,
            At.AddMinutes(minutes), At.AddMinutes(minutes + 1), "https://ehr.example.org");

    [Theory, EachEngine]
    public async Task GivenStoredCards_WhenFeedbackIsRecordedTwice_ThenEachItemIsKeptOnceAndTheSummaryCountsCardsAndItems(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        await SeedAsync(new InvocationStore(test.Database));
        var store = new FeedbackStore(test.Database);
        CdsFeedback[] items =
        [
            Item("card-rec", "healthrec-patient-risk", "accepted", ["s-statin"]),
            Item("card-risk", "healthrec-patient-risk", "overridden", code: "already-aware"),
            // The same card overridden again later, with another reason: a second item, the same card.
            Item("card-risk", "healthrec-patient-risk", "overridden", code: "not-relevant-now", minutes: 30),
        ];

        Assert.Equal(3, await store.RecordAsync(items, Ct));
        Assert.Equal(0, await store.RecordAsync(items, Ct));

        var summary = await store.SummaryAsync(Ct);
        Assert.Equal(
        [
            new CardTypeFeedback("healthrec-order-check", "order-contraindication", "ace-inhibitor", 1, 0, 0),
            new CardTypeFeedback("healthrec-patient-risk", "recommendation", "recommendations", 1, 1, 0, AcceptedItems: 1),
            // One card overridden twice: one card overridden (the rate is per card), two stored overrides.
            new CardTypeFeedback("healthrec-patient-risk", "risk", "ascvd-10y", 1, 0, 1, OverriddenItems: 2),
        ], summary);
        Assert.Equal(1.0, summary[2].OverrideRate);
        var reasons = await store.OverrideReasonsAsync(Ct);
        Assert.Equal(["already-aware", "not-relevant-now"], reasons.Select(r => r.Code).Order(StringComparer.Ordinal));
        Assert.All(reasons, r => Assert.Equal(1, r.Count));
    }

    [Theory, EachEngine]
    public async Task GivenCardUuids_WhenLookedUp_ThenKnownCardsComeWithTheirServiceAndSuggestionsAndUnknownOnesAreAbsent(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        await SeedAsync(new InvocationStore(test.Database));

        var found = await new FeedbackStore(test.Database).FindCardsAsync(["card-rec", "card-order", "nope", "card-rec"], Ct);

        Assert.Equal(["card-order", "card-rec"], found.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("healthrec-patient-risk", found["card-rec"].ServiceId);
        Assert.Equal(["s-sglt2", "s-statin"], found["card-rec"].Suggestions.Order(StringComparer.Ordinal));
        Assert.Equal(["s-remove"], found["card-order"].Suggestions);
        Assert.Equal(["card-risk", "card-rec"], (await new InvocationStore(test.Database).CardsAsync("healthrec-patient-risk", "hi-1", Ct)).Select(c => c.CardUuid));
    }

    [Theory, EachEngine]
    public async Task GivenFeedbackOnRecommendations_WhenReadForTheRecommender_ThenAcceptedSuggestionsAreYesAndAnOverriddenCardIsNoForEachOfItsSuggestions(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var invocations = new InvocationStore(test.Database);
        await SeedAsync(invocations);
        await invocations.RecordAsync(new CdsInvocation("healthrec-patient-risk", "hi-3", "patient-view", "p3", At.AddHours(1), 8, 200, 1),
            [new CdsCardRecord("card-rec-3", "recommendation", "recommendations", "info", "Consider: metformin",
                [new CdsSuggestionRecord("s3-metformin", "metformin", "Propose metformin"), new CdsSuggestionRecord("s3-diet", "medical-nutrition-therapy", "Propose diet")])], Ct);
        var store = new FeedbackStore(test.Database);
        await store.RecordAsync(
        [
            Item("card-rec", "healthrec-patient-risk", "accepted", ["s-statin"]),
            Item("card-rec-3", "healthrec-patient-risk", "overridden", code: "patient-declined"),
            // Order checks are not recommendations: their feedback does not teach the ranker.
            Item("card-order", "healthrec-order-check", "overridden", code: "benefit-outweighs-risk"),
        ], Ct);

        var learnt = await store.InterventionFeedbackAsync(Ct);

        Assert.Equal(
        [
            new InterventionFeedback("p1", At, "statin-high", true),
            new InterventionFeedback("p3", At.AddHours(1), "medical-nutrition-therapy", false),
            new InterventionFeedback("p3", At.AddHours(1), "metformin", false),
        ], learnt);
    }

    [Theory, EachEngine]
    public async Task GivenAJwtId_WhenRememberedTwice_ThenTheSecondIsAReplayUntilTheTokenWouldHaveExpired(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var replay = new TokenReplayStore(test.Database);

        Assert.True(await replay.TryRememberAsync("https://ehr.example.org", "jti-1", At.AddMinutes(6), At, Ct));
        Assert.False(await replay.TryRememberAsync("https://ehr.example.org", "jti-1", At.AddMinutes(6), At.AddMinutes(1), Ct));
        // The same jti from another issuer is another token.
        Assert.True(await replay.TryRememberAsync("https://other.example.org", "jti-1", At.AddMinutes(6), At.AddMinutes(1), Ct));
        Assert.Equal(0, await replay.PurgeAsync(At.AddMinutes(5), Ct));
        Assert.Equal(2, await replay.PurgeAsync(At.AddMinutes(7), Ct));
        Assert.True(await replay.TryRememberAsync("https://ehr.example.org", "jti-1", At.AddMinutes(20), At.AddMinutes(8), Ct));
    }

    [Theory, EachEngine]
    public async Task GivenACallRecordedWithItsClientAndModels_WhenFound_ThenEveryFieldReadsBack(DatabaseEngine engine)
    {
        await using var test = await TestDatabase.CreateAsync(engine, migrate: true, Ct);
        var store = new InvocationStore(test.Database);
        var call = new CdsInvocation("healthrec-patient-risk", "hi-9", "patient-view", "p9", At, 12, 412, 0)
        {
            ClientIssuer = "https://ehr.example.org", ClientJti = "jti-9", ModelVersions = "ascvd-10y v2, recommender v1", DataSource = "prefetch, fhirServer for observations",
        };

        Assert.True(await store.RecordAsync(call, [], Ct));

        Assert.Equal(call, await store.FindAsync("healthrec-patient-risk", "hi-9", Ct));
    }
}

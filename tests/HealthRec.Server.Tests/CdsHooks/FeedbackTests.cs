namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>Feedback round-trips: stored against the card it names, once however often it is sent, and summarized.</summary>
[Collection(SequentialServers.Name)]
public sealed class FeedbackTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private static Task<(int Status, JsonNode? Body, string Text)> SendAsync(HttpClient client, JsonNode body, string service = "healthrec-patient-risk") =>
        Cds.PostAsync(client, $"/cds-services/{service}/feedback", body, Ct);

    private static JsonObject Accepted(string card, params string[] suggestions) => new()
    {
        ["card"] = card,
        ["outcome"] = "accepted",
        ["acceptedSuggestions"] = new JsonArray([.. suggestions.Select(s => (JsonNode)new JsonObject { ["id"] = s })]),
        ["outcomeTimestamp"] = "2026-12-01T10:05:31Z",
    };

    private static JsonObject Batch(params JsonNode[] items) => new() { ["feedback"] = new JsonArray(items) };

    private async Task<JsonArray> CardsForAsync(PatientFixture patient)
    {
        var (status, body, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.True(status == 200, text);
        return Cds.Cards(body);
    }

    [Fact]
    public async Task GivenCardsReturned_WhenSuggestionsAreAcceptedAndACardIsOverridden_ThenEachIsStoredOnceAndCountedPerCardType()
    {
        var patient = PatientFixture.HighRisk();
        var cards = await CardsForAsync(patient);
        var recommendation = Cds.Card(cards, "recommendations");
        var risk = cards.First(c => ((string)c!["source"]!["topic"]!["code"]!).StartsWith("risk-", StringComparison.Ordinal))!;
        var suggestion = (string)recommendation["suggestions"]![0]!["uuid"]!;
        var overridden = new JsonObject
        {
            ["card"] = (string)risk["uuid"]!,
            ["outcome"] = "overridden",
            ["overrideReason"] = new JsonObject
            {
                ["reason"] = new JsonObject { ["system"] = "https://healthrec.example.org/fhir/CodeSystem/cds-override-reason", ["code"] = "already-aware" },
                ["userComment"] = "Discussed last week.",
            },
            ["outcomeTimestamp"] = "2026-12-01T10:06:00Z",
        };
        var before = await SummaryAsync();

        var first = await SendAsync(Client, Batch(Accepted((string)recommendation["uuid"]!, suggestion), overridden));
        var again = await SendAsync(Client, Batch(Accepted((string)recommendation["uuid"]!, suggestion), overridden.DeepClone()));

        Assert.True(first.Status == 200, first.Text);
        Assert.Equal(2, (int)first.Body!["stored"]!);
        Assert.True(again.Status == 200, again.Text);
        Assert.Equal(0, (int)again.Body!["stored"]!);
        Assert.Equal(2, (int)again.Body!["repeats"]!);

        var after = await SummaryAsync();
        Assert.Equal(Count(before, "recommendation", "recommendations", "accepted") + 1, Count(after, "recommendation", "recommendations", "accepted"));
        var riskSubject = ((string)risk["source"]!["topic"]!["code"]!)["risk-".Length..];
        Assert.Equal(Count(before, "risk", riskSubject, "overridden") + 1, Count(after, "risk", riskSubject, "overridden"));
        Assert.True(Count(after, "risk", riskSubject, "shown") >= 1);
        var reasons = (await Client.GetFromJsonAsync<JsonNode>(new Uri("/admin/cds-feedback", UriKind.Relative), Ct))!["overrideReasons"]!.AsArray();
        Assert.Contains(reasons, r => (string)r!["code"]! == "already-aware" && (string)r["kind"]! == "risk");

        // What the recommender learns from: this patient accepted that intervention.
        var stored = await (await fixture.Server.StoredCallsAsync(Ct)).ListRecentAsync(50, Ct);
        var learnt = await fixture.Server.Services.GetRequiredService<FeedbackStore>().InterventionFeedbackAsync(Ct);
        var accepted = Assert.Single(learnt, f => f.PatientId == patient.Id);
        Assert.True(accepted.Accepted);
        Assert.Equal(stored.First(i => i.PatientId == patient.Id).ReceivedAt, accepted.At);
    }

    [Fact]
    public async Task GivenAnOverrideReasonTheCardNeverOffered_WhenSent_Then422NamesTheReasonsItDid()
    {
        var cards = await CardsForAsync(PatientFixture.HighRisk());
        var risk = cards.First(c => ((string)c!["source"]!["topic"]!["code"]!).StartsWith("risk-", StringComparison.Ordinal))!;
        JsonObject Overridden(string code) => new()
        {
            ["card"] = (string)risk["uuid"]!,
            ["outcome"] = "overridden",
            ["overrideReason"] = new JsonObject { ["reason"] = new JsonObject { ["system"] = HealthRec.Server.CdsHooks.CardCodes.OverrideSystem, ["code"] = code } },
            ["outcomeTimestamp"] = "2026-12-01T10:06:00Z",
        };

        // "patient-declined" is offered by recommendation cards, not by a risk card.
        var refused = await SendAsync(Client, Batch(Overridden("patient-declined")));
        var offered = (string)risk["overrideReasons"]![0]!["code"]!;
        var accepted = await SendAsync(Client, Batch(Overridden(offered)));

        Assert.True(refused.Status == 422, refused.Text);
        Assert.Contains("'patient-declined' is not one of the override reasons card", (string)refused.Body!["errors"]![0]!, StringComparison.Ordinal);
        Assert.True(accepted.Status == 200, accepted.Text);
    }

    [Fact]
    public async Task GivenAnUnknownCardBesideAKnownOne_WhenSent_Then422NamesItAndNothingOfTheCallIsStored()
    {
        var cards = await CardsForAsync(PatientFixture.HighRisk());
        var recommendation = Cds.Card(cards, "recommendations");
        var good = Accepted((string)recommendation["uuid"]!, (string)recommendation["suggestions"]![0]!["uuid"]!);
        var unknown = Guid.NewGuid().ToString();

        var refused = await SendAsync(Client, Batch(good, Accepted(unknown, Guid.NewGuid().ToString())));
        var wrongSuggestion = await SendAsync(Client, Batch(Accepted((string)recommendation["uuid"]!, "not-a-suggestion-of-it")));
        var otherService = await SendAsync(Client, Batch(good.DeepClone()), "healthrec-order-sign");
        var retried = await SendAsync(Client, Batch(good.DeepClone()));

        Assert.True(refused.Status == 422, refused.Text);
        Assert.Equal($"feedback[1].card '{unknown}' is not a card this service (healthrec-patient-risk) returned", (string)refused.Body!["errors"]![0]!);
        Assert.True(wrongSuggestion.Status == 422, wrongSuggestion.Text);
        Assert.Contains("'not-a-suggestion-of-it' is not a suggestion of card", (string)wrongSuggestion.Body!["errors"]![0]!, StringComparison.Ordinal);
        Assert.True(otherService.Status == 422, otherService.Text);
        // The refused call stored nothing: the good item, sent alone, is new.
        Assert.Equal(1, (int)retried.Body!["stored"]!);
    }

    [Theory]
    [InlineData("""{"feedback": [{"card": "c", "outcome": "maybe", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}""", "feedback[0].outcome must be 'accepted' or 'overridden', not 'maybe'")]
    [InlineData("""{"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}""", "feedback[0]: an accepted outcome needs acceptedSuggestions")]
    [InlineData("""{"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}]}""", "feedback[0].outcomeTimestamp 'yesterday' is not an ISO 8601 date and time")]
    [InlineData("""{"feedback": [{"outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}""", "feedback[0].card is required")]
    [InlineData("""{"feedback": [{"card": "c", "outcome": "overridden", "overrideReason": {}, "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}""", "feedback[0].overrideReason needs a reason Coding or a userComment")]
    [InlineData("""{"feedback": []}""", "'feedback' is empty")]
    [InlineData("""{"cards": []}""", "the body must be an object with a 'feedback' array")]
    public async Task GivenMalformedFeedback_WhenSent_Then400NamesTheItemAndTheProblem(string body, string expected)
    {
        var (status, response, text) = await SendAsync(Client, JsonNode.Parse(body)!);

        Assert.True(status == 400, text);
        Assert.Contains(response!["errors"]!.AsArray(), e => ((string)e!).StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("feedback-accepted.json")]
    [InlineData("feedback-overridden-no-reason.json")]
    [InlineData("feedback-overridden-with-reason.json")]
    public async Task GivenTheSpecificationsFeedbackExamples_WhenSent_ThenTheirShapeIsAcceptedAndOnlyTheirUnknownCardsAreRefused(string file)
    {
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(TestServices.SharedFolder, "examples", "cds-hooks-2.0", "normalized", file)))!;

        var (status, body, text) = await SendAsync(Client, example);

        Assert.True(status == 422, text);
        Assert.All(body!["errors"]!.AsArray(), e => Assert.Contains("is not a card this service", (string)e!, StringComparison.Ordinal));
    }

    private async Task<JsonArray> SummaryAsync() =>
        (await Client.GetFromJsonAsync<JsonNode>(new Uri("/admin/cds-feedback", UriKind.Relative), Ct))!["cardTypes"]!.AsArray();

    private static int Count(JsonArray summary, string kind, string subject, string what) =>
        summary.Where(r => (string)r!["kind"]! == kind && (string)r["subject"]! == subject).Sum(r => (int)r![what]!);

    [Fact]
    public async Task GivenACardAcceptedForWomenAndOverriddenForMen_WhenFeedbackIsSummarizedByCohort_ThenTheGapIsFlagged()
    {
        // Twelve calls each for women and men of the same record; the recommendation card's first suggestion is taken for
        // every woman and the card overridden for every man. The women's records state one race, the men's another.
        foreach (var sex in new[] { "female", "male" })
        {
            for (var i = 0; i < 12; i++)
            {
                var card = (await CardsForAsync(PatientFixture.HighRisk(sex).Race(sex == "female" ? "2054-5" : "2106-3"))).First(c => c!["suggestions"]?.AsArray().Count > 0 && Cds.Topic(c) == "recommendations")!;
                var item = sex == "female" ? Accepted((string)card["uuid"]!, (string)card["suggestions"]![0]!["uuid"]!)
                    : new JsonObject { ["card"] = (string)card["uuid"]!, ["outcome"] = "overridden", ["outcomeTimestamp"] = "2026-12-01T10:05:31Z" };
                var sent = await SendAsync(Client, Batch(item));
                Assert.True(sent.Status == 200, sent.Text);
            }
        }

        var byCohort = (await Client.GetFromJsonAsync<JsonNode>(new Uri("/admin/cds-feedback", UriKind.Relative), Ct))!["byCohort"]!.AsArray()
            .Where(r => (string)r!["kind"]! == "recommendation" && (string)r["dimension"]! == "sex").ToList();

        var women = Assert.Single(byCohort, r => (string)r!["group"]! == "female")!;
        var men = Assert.Single(byCohort, r => (string)r!["group"]! == "male")!;
        Assert.True((int)women["accepted"]! >= 12 && (int)men["overridden"]! >= 12);
        // Whichever group was shown the card more is the reference; the other is flagged on both rates.
        var other = (bool)women["reference"]! ? men : women;
        Assert.False((bool)(((bool)women["reference"]! ? women : men)["flagged"]!));
        Assert.True((bool)other["flagged"]!, other.ToJsonString());
        Assert.Null((string?)other["notJudged"]);
        Assert.Equal((double)other["acceptanceRate"]! / (double)((bool)women["reference"]! ? women : men)["acceptanceRate"]!, (double?)other["acceptanceRatio"] ?? double.PositiveInfinity, 9);

        // The same gap by stated race: the record's US Core category, split like the fairness audit's.
        var byRace = (await Client.GetFromJsonAsync<JsonNode>(new Uri("/admin/cds-feedback", UriKind.Relative), Ct))!["byCohort"]!.AsArray()
            .Where(r => (string)r!["kind"]! == "recommendation" && (string)r["dimension"]! == "race").ToList();
        Assert.Equal(["Black or African American", "White"], byRace.Select(r => (string)r!["group"]!).Order(StringComparer.Ordinal));
        Assert.Single(byRace, r => (bool)r!["flagged"]!);
    }
}

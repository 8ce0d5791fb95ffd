namespace HealthRec.Server.Tests.Transparency;

/// <summary>
/// HTI-1 source attributes as a client reads them: every model of every outcome has all 31 predictive attributes and
/// every catalog intervention and the recommender all 13 evidence-based ones, none empty; the cards and discovery carry
/// the digest of the set that was served at that moment.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class SourceAttributeTests
{
    private static Task<JsonObject?> GetAsync(RunningServer server, string path) =>
        server.Client.GetFromJsonAsync<JsonObject>(new Uri(path, UriKind.Relative), Ct);

    private static void AssertComplete(JsonObject set, IReadOnlyList<(string Id, string Group, string Name)> expected)
    {
        var attributes = set["attributes"]!.AsArray();
        Assert.Equal(expected.Select(e => e.Id), attributes.Select(a => (string)a!["id"]!));
        Assert.All(attributes, a => Assert.False(string.IsNullOrWhiteSpace((string?)a!["value"]), $"{set["subject"]} {a["id"]} is empty"));
        Assert.All(attributes, a => Assert.False(string.IsNullOrWhiteSpace((string?)a!["source"]), $"{set["subject"]} {a["id"]} names no source"));
        Assert.Equal(expected.Count, (int)set["count"]!);
        Assert.StartsWith("sha256:", (string)set["digest"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryModelVersion_Has31PredictiveAttributes_AndEveryRuleAndTheRecommender13EvidenceBasedOnes_NoneEmpty()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        Assert.Equal(31, Hti1.PredictiveAttributes.Count);
        Assert.Equal(13, Hti1.EvidenceAttributes.Count);

        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        var sets = 0;
        foreach (var predictor in catalog.Current.Predictors.Values)
        {
            var models = SourceAttributeSets.ModelsOf(predictor);
            // The LightGBM model, its baselines, and the published equation where there is one.
            Assert.Contains("lightgbm", models);
            Assert.Equal(predictor.Manifest.Baselines.Keys.Order(StringComparer.Ordinal), models.Skip(1).Take(predictor.Manifest.Baselines.Count));
            Assert.NotEmpty(predictor.Manifest.Baselines);
            Assert.Equal(predictor.Reference is not null, models.Contains(predictor.Reference?.Id ?? "-"));
            foreach (var model in models)
            {
                var set = (await GetAsync(server, $"/models/{predictor.Definition.Id}/attributes?model={model}"))!;
                AssertComplete(set, Hti1.PredictiveAttributes);
                Assert.Equal($"{predictor.Definition.Id}/{model}", (string)set["subject"]!);
                sets++;
            }
        }

        Assert.True(sets >= 16, $"{sets} model sets");
        var interventions = (await server.Client.GetFromJsonAsync<JsonArray>(new Uri("/interventions", UriKind.Relative), Ct))!;
        Assert.NotEmpty(interventions);
        foreach (var item in interventions)
        {
            AssertComplete((await GetAsync(server, $"/interventions/{(string)item!["id"]!}/attributes"))!, Hti1.EvidenceAttributes);
        }

        var recommender = (await GetAsync(server, "/recommender/attributes"))!;
        AssertComplete(recommender, Hti1.EvidenceAttributes);
        // Read from the rules themselves: the catalog's rules use age (date of birth), none uses race.
        Assert.StartsWith("Yes", (string)recommender["attributes"]![10]!["value"]!, StringComparison.Ordinal);
        Assert.StartsWith("No", (string)recommender["attributes"]![4]!["value"]!, StringComparison.Ordinal);

        // An unknown model or intervention is a 404 that says what there is.
        var missing = await server.Client.GetAsync(new Uri("/models/t2d-5y/attributes?model=nope", UriKind.Relative), Ct);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("lightgbm", await missing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await server.Client.GetAsync(new Uri("/interventions/nope/attributes", UriKind.Relative), Ct)).StatusCode);

        // A browser gets the page, one row per attribute.
        using var page = new HttpRequestMessage(HttpMethod.Get, new Uri("/models/t2d-5y/attributes", UriKind.Relative));
        page.Headers.Accept.ParseAdd("text/html");
        var html = await (await server.Client.SendAsync(page, Ct)).Content.ReadAsStringAsync(Ct);
        Assert.Equal(31, System.Text.RegularExpressions.Regex.Count(html, "data-attribute=\""));
        // ...and links each model of the outcome, one by one.
        Assert.Equal(SourceAttributeSets.ModelsOf(catalog.Current.Predictors["t2d-5y"]).Count, System.Text.RegularExpressions.Regex.Count(html, "data-model=\""));
    }

    [Fact]
    public async Task CardsAndDiscovery_CarryTheDigestOfTheSetServed()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        var patient = PatientFixture.HighRisk();
        var (status, body, text) = await Cds.PatientViewAsync(server.Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.True(status == 200, text);
        var cards = Cds.Cards(body);
        Assert.Contains(cards, c => Cds.Topic(c)!.StartsWith("risk-", StringComparison.Ordinal));
        foreach (var card in cards)
        {
            var topic = Cds.Topic(card)!;
            var reference = card!["extension"]?[HealthRec.Server.CdsHooks.CdsCardExtension.SourceAttributesKey];
            if (topic == "risk-not-estimated")
            {
                continue;
            }

            Assert.True(reference is not null, $"the {topic} card carries no source attributes");
            var set = (await GetAsync(server, new Uri((string)reference!["url"]!).PathAndQuery))!;
            Assert.Equal((string)set["digest"]!, (string)reference["digest"]!);
            Assert.Equal((string)set["version"]!, (string)reference["version"]!);
            // The set of what made the card: the recommender, or the model that answered the card's outcome.
            if (topic == "recommendations")
            {
                Assert.Equal("recommender", (string)set["subject"]!);
            }
            else
            {
                Assert.StartsWith($"{topic["risk-".Length..]}/", (string)set["subject"]!, StringComparison.Ordinal);
            }
        }

        var discovery = (await GetAsync(server, "/cds-services"))!;
        var service = discovery["services"]!.AsArray().Single(s => (string)s!["id"]! == "healthrec-patient-risk")!;
        var listed = service["extension"]![HealthRec.Server.CdsHooks.CdsCardExtension.SourceAttributesKey]!.AsArray();
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        Assert.Equal(catalog.Current.Predictors.Count + 1, listed.Count);
        foreach (var entry in listed)
        {
            var set = (await GetAsync(server, new Uri((string)entry!["url"]!).PathAndQuery))!;
            Assert.Equal((string)set["digest"]!, (string)entry["digest"]!);
        }
    }

    [Fact]
    public void TheVariablesOfTheRegulation_AreRecognisedByName_QualifiedOrNot()
    {
        var used = Hti1.VariablesUsed(["age_years", "patient.sex_female", "race_black", "phq9_last", "ldl_last", "sdoh_housing_insecure"]).ToDictionary(u => u.Id, u => u.Used);
        Assert.Equal(["race_black"], used["A.5"]);
        Assert.Empty(used["A.6"]);
        Assert.Equal(["patient.sex_female"], used["A.10"]);
        Assert.Equal(["age_years"], used["A.11"]);
        Assert.Equal(["sdoh_housing_insecure"], used["A.12"]);
        Assert.Equal(["phq9_last"], used["A.13"]);
        Assert.DoesNotContain(used.Values, u => u.Contains("ldl_last"));
    }
}

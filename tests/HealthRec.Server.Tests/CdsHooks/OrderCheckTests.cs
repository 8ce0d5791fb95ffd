namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>order-sign and order-select: draft orders checked against the record and each other.</summary>
[Collection(SequentialServers.Name)]
public sealed class OrderCheckTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private static JsonObject Orders(params Hl7.Fhir.Model.Resource[] drafts) => new() { ["draftOrders"] = PatientFixture.DraftOrders(drafts) };

    [Fact]
    public async Task GivenDiscovery_WhenRead_ThenEachHookHasAServiceOfItsOwnId_AndTheRetiredSharedIdStillAnswersBothHooks()
    {
        // Clients key services by id (the CDS Hooks Sandbox does): one id for two entries hid order-select from them.
        var discovery = JsonNode.Parse(await Client.GetStringAsync(new Uri("/cds-services", UriKind.Relative), Ct))!;
        var services = discovery["services"]!.AsArray().Select(s => ((string)s!["id"]!, (string)s["hook"]!)).ToList();
        Assert.Equal(services.Count, services.Select(s => s.Item1).Distinct().Count());
        Assert.Contains(("healthrec-order-sign", "order-sign"), services);
        Assert.Contains(("healthrec-order-select", "order-select"), services);
        Assert.DoesNotContain(services, s => s.Item1 == "healthrec-order-check");

        var patient = PatientFixture.PregnantWithHypertension();
        var lisinopril = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        foreach (var hook in new[] { "order-sign", "order-select" })
        {
            var context = Orders(lisinopril);
            context["selections"] = new JsonArray(JsonValue.Create($"MedicationRequest/{lisinopril.Id}"));
            var call = patient.Call(hook, patient.Prefetch(), extraContext: hook == "order-sign" ? Orders(lisinopril) : context);
            var (current, currentBody, currentText) = await Cds.OrderCheckAsync(Client, call, Ct);
            call["hookInstance"] = Guid.NewGuid().ToString();
            var (retired, retiredBody, retiredText) = await Cds.PostAsync(Client, "/cds-services/healthrec-order-check", call, Ct);

            Assert.True(current == 200, currentText);
            Assert.True(retired == 200, retiredText);
            Assert.Equal(Cds.Seen(currentBody).Select(s => s.Split(" | ")[0]), Cds.Seen(retiredBody).Select(s => s.Split(" | ")[0]));
        }
    }

    [Fact]
    public async Task GivenAPregnantPatient_WhenAnAceInhibitorIsSigned_ThenAWarningOffersASaferAlternativeForTheSamePurposeOrRemoval()
    {
        var patient = PatientFixture.PregnantWithHypertension();
        var lisinopril = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: Orders(lisinopril));

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        var card = Assert.Single(Cds.Cards(body))!;
        Assert.Equal("warning", (string)card["indicator"]!);
        Assert.StartsWith("lisinopril 10 MG Oral Tablet: contraindicated: pregnancy on the problem list since ", (string)card["summary"]!, StringComparison.Ordinal);
        Assert.Contains("[ACE inhibitor and ARB US prescribing information, boxed warning (fetal toxicity)](https://dailymed.nlm.nih.gov/", (string)card["detail"]!, StringComparison.Ordinal);
        Assert.Equal("at-most-one", (string)card["selectionBehavior"]!);
        var suggestions = card["suggestions"]!.AsArray();
        var replace = suggestions[0]!;
        Assert.StartsWith("Replace with ", (string)replace["label"]!, StringComparison.Ordinal);
        var actions = replace["actions"]!.AsArray();
        Assert.Equal("delete", (string)actions[0]!["type"]!);
        Assert.Equal($"MedicationRequest/{lisinopril.Id}", (string)actions[0]!["resourceId"]!);
        var proposal = CardRules.AssertValidFhir(actions[1]!["resource"]!);
        var stored = await (await fixture.Server.StoredCallsAsync(Ct)).CardsAsync("healthrec-order-sign", (string)call["hookInstance"]!, Ct);
        var alternative = stored.Single().Suggestions[0].InterventionId;
        // Lowers blood pressure like the draft, and is not one the medication-safety rules speak against in pregnancy (ARBs are).
        Assert.Contains(alternative, new[] { "ccb", "thiazide" });
        Assert.Equal(alternative == "ccb" ? "17767" : "2409", ((Hl7.Fhir.Model.CodeableConcept)((Hl7.Fhir.Model.MedicationRequest)proposal).Medication).Coding[0].Code);
        Assert.Equal($"Remove the lisinopril 10 MG Oral Tablet order", (string)suggestions[1]!["label"]!);
        Assert.Equal("order-contraindication", stored.Single().Kind);
        Assert.Equal("ace-inhibitor-pregnancy", stored.Single().Subject);
    }

    [Theory]
    // An ARB taken and an ACE inhibitor signed: dual blockade of the renin-angiotensin system, refused.
    [InlineData("52175", "losartan 50 MG Oral Tablet", "29046", "lisinopril 10 MG Oral Tablet",
        "lisinopril 10 MG Oral Tablet: contraindicated with losartan 50 MG Oral Tablet", "warning", "order-interaction")]
    // A statin taken and another statin signed: duplicate therapy, flagged.
    [InlineData("83367", "atorvastatin 20 MG Oral Tablet", "36567", "simvastatin 40 MG Oral Tablet",
        "simvastatin 40 MG Oral Tablet: duplicate therapy with atorvastatin 20 MG Oral Tablet", "warning", "order-duplicate")]
    public async Task GivenAPatientOnAMedicine_WhenOneThatClashesWithItIsSigned_ThenOneCardNamesBothAndHowBad(
        string taken, string takenName, string drafted, string draftedName, string summary, string indicator, string topic)
    {
        var patient = PatientFixture.HighRisk().Medication(taken, takenName, 300);
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: Orders(patient.Draft(drafted, draftedName)));

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        var card = Assert.Single(Cds.Cards(body))!;
        Assert.Equal(summary, (string)card["summary"]!);
        Assert.Equal(indicator, (string)card["indicator"]!);
        Assert.Equal(topic, (string)card["source"]!["topic"]!["code"]!);
    }

    [Fact]
    public async Task GivenAnAceInhibitorAndAnArbDraftedTogether_WhenSigned_ThenEachIsRefusedBecauseOfTheOther()
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call("order-sign", patient.Prefetch(),
            extraContext: Orders(patient.Draft("29046", "lisinopril 10 MG Oral Tablet"), patient.Draft("52175", "losartan 50 MG Oral Tablet")));

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        Assert.Equal(
            ["losartan 50 MG Oral Tablet: contraindicated with lisinopril 10 MG Oral Tablet",
             "lisinopril 10 MG Oral Tablet: contraindicated with losartan 50 MG Oral Tablet"],
            Cds.Cards(body).Select(c => (string)c!["summary"]!).OrderByDescending(s => s, StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenDraftsNoSafetyRuleSpeaksAgainst_WhenSigned_ThenThereIsNoCard()
    {
        var patient = PatientFixture.PregnantWithHypertension();
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: Orders(patient.Draft("17767", "amlodipine 5 MG Oral Tablet"),
            patient.Draft("617993", "Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension")));

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        Assert.Equal("""{"cards":[]}""", body!.ToJsonString());
    }

    [Fact]
    public async Task GivenOrderSelect_WhenOnlyTheHarmlessOrderIsSelected_ThenTheOthersAreContextNotChecked()
    {
        var patient = PatientFixture.PregnantWithHypertension();
        var harmless = patient.Draft("17767", "amlodipine 5 MG Oral Tablet");
        var harmful = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        JsonObject Select(params Hl7.Fhir.Model.MedicationRequest[] chosen)
        {
            var context = Orders(harmless, harmful);
            context["selections"] = new JsonArray([.. chosen.Select(c => (JsonNode)JsonValue.Create($"MedicationRequest/{c.Id}"))]);
            return patient.Call("order-select", patient.Prefetch(), extraContext: context);
        }

        var (quietStatus, quiet, quietText) = await Cds.OrderCheckAsync(Client, Select(harmless), Ct);
        var (status, body, text) = await Cds.OrderCheckAsync(Client, Select(harmful), Ct);

        Assert.True(quietStatus == 200, quietText);
        Assert.Empty(Cds.Cards(quiet));
        Assert.True(status == 200, text);
        Assert.Contains("contraindicated: pregnancy on the problem list", (string)Assert.Single(Cds.Cards(body))!["summary"]!, StringComparison.Ordinal);
    }
}

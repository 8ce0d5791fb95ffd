using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// The safety case matrix (<see cref="SafetyMatrix"/>) against the real server over HTTP: each case signed once with the
/// patient prefetched, and once with nothing prefetched, the server reading the patient from the FHIR test server. Each
/// expects its card — topic, indicator and what it says — or no card for its draft.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class MedicationSafetyTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    public static TheoryData<string> Cases => [.. SafetyMatrix.Cases.Keys];

    public static TheoryData<string> FhirServerCases => [.. SafetyMatrix.Cases.Where(c => !c.Value.PrefetchOnly).Select(c => c.Key)];

    [Fact]
    public void GivenTheMatrix_WhenCounted_ThenItCoversEveryKindOfCheckWithAtLeastSixtyCases()
    {
        var expected = SafetyMatrix.Cases.Values.Select(c => c.Expected).ToList();

        Assert.True(SafetyMatrix.Cases.Count >= 60, $"{SafetyMatrix.Cases.Count} cases");
        foreach (var topic in new[] { "order-contraindication", "order-not-checked", "order-caution", "order-interaction", "order-allergy", "order-duplicate" })
        {
            Assert.Contains(expected, e => e?.Topic == topic);
        }

        Assert.True(expected.Count(e => e is null) >= 10, "cases where every check passes, so a card that should not be there is caught");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GivenTheCase_WhenSignedWithThePatientPrefetched_ThenItsCardIsTheExpectedOne(string name)
    {
        var safetyCase = SafetyMatrix.Cases[name];
        var patient = safetyCase.Patient();
        var drafts = safetyCase.Drafts(patient);
        var keys = safetyCase.PrefetchOnly
            ? new[] { "patient", "observations", "conditions", "medicationStatements", "medicationRequests", "encounters", "questionnaireResponses" }
            : null;
        var call = patient.Call("order-sign", patient.Prefetch(keys), extraContext: new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(drafts) });

        var (status, body, text) = await Cds.OrderCheckAsync(fixture.Server.Client, call, Ct);

        AssertExpected(safetyCase.Expected, drafts[0], status, body, text);
    }

    [Theory]
    [MemberData(nameof(FhirServerCases))]
    public async Task GivenTheCase_WhenSignedWithNothingPrefetched_ThenTheServerReadsThePatientFromTheFhirServerAndTheCardIsTheSame(string name)
    {
        var safetyCase = SafetyMatrix.Cases[name];
        var patient = safetyCase.Patient();
        var drafts = safetyCase.Drafts(patient);
        await patient.LoadAsync(Ct);
        var call = patient.Call("order-sign", fhirServer: TestServices.FhirBaseUrl, extraContext: new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(drafts) });

        var (status, body, text) = await Cds.OrderCheckAsync(fixture.Server.Client, call, Ct);

        AssertExpected(safetyCase.Expected, drafts[0], status, body, text);
    }

    [Fact]
    public async Task GivenFiveDraftsThatAllNeedAWarning_WhenSigned_ThenThreeCardsCarryEveryOneAndNoneIsDropped()
    {
        var patient = new PatientFixture("male", 70).Visit(20);
        MedicationRequest[] drafts =
        [
            patient.Draft("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
            patient.Draft("310965", "Ibuprofen 200 MG Oral Tablet"),
            patient.Draft("9997", "spironolactone 25 MG Oral Tablet"),
            patient.Draft("1545653", "empagliflozin 10 MG Oral Tablet"),
            patient.Draft("8591", "potassium chloride 20 MEQ Extended Release Oral Tablet"),
        ];
        var call = patient.Call("order-sign", patient.Prefetch(), extraContext: new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(drafts) });

        var body = await Cds.AnsweredAsync(fixture.Server.Client, call, Ct);

        var cards = Cds.Cards(body);
        Assert.Equal(3, cards.Count);
        // No kidney function is recorded: every draft's card or line says its check could not be made.
        var all = string.Join("\n", cards.Select(c => $"{c!["summary"]}\n{c["detail"]}"));
        foreach (var draft in drafts)
        {
            Assert.Contains(((CodeableConcept)draft.Medication).Text!, all, StringComparison.Ordinal);
        }

        Assert.Equal("order-summary", (string)cards[2]!["source"]!["topic"]!["code"]!);
        Assert.Contains("3 more draft orders need attention", (string)cards[2]!["summary"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenADiabeticWithoutKidneyFunction_WhenTheRecordIsViewed_ThenMetforminIsNotSuggestedAndTheCardSaysWhy()
    {
        PatientFixture Diabetic() => new PatientFixture("male", 62).Condition("44054006", "Diabetes mellitus type 2", 700)
            .Lab("4548-4", 8.4m, "%", 20).Lab("4548-4", 8.1m, "%", 300).Lab("39156-5", 31, "kg/m2", 20).BloodPressure(128, 80, 20).Visit(20).Visit(300);
        var without = Diabetic();
        var with = Diabetic().Lab("33914-3", 82, "mL/min/{1.73_m2}", 20);

        var (status, body, text) = await Cds.PatientViewAsync(fixture.Server.Client, without.Call(prefetch: without.Prefetch()), Ct);
        var (withStatus, withBody, withText) = await Cds.PatientViewAsync(fixture.Server.Client, with.Call(prefetch: with.Prefetch()), Ct);

        Assert.True(status == 200, text);
        CardRules.AssertValidResponse(body);
        var card = Cds.Card(Cds.Cards(body), "recommendations");
        Assert.Contains("Not offered: **Start metformin** — safety not established: kidney function (eGFR) not checked for metformin hydrochloride 500 MG Oral Tablet: no eGFR or serum creatinine recorded",
            (string)card["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain(card["suggestions"]?.AsArray() ?? [], s => ((string)s!["label"]!).Contains("metformin", StringComparison.OrdinalIgnoreCase));
        Assert.True(withStatus == 200, withText);
        Assert.DoesNotContain("Not offered: **Start metformin**", withText, StringComparison.Ordinal);
    }

    private static void AssertExpected(ExpectedCard? expected, MedicationRequest draft, int status, JsonNode? body, string text)
    {
        Assert.True(status == 200, text);
        CardRules.AssertValidResponse(body);
        var mine = Cds.Cards(body).Where(c => ((string?)c!["detail"] ?? "").Contains($"(draft order MedicationRequest/{draft.Id})", StringComparison.Ordinal)).ToList();
        if (expected is null)
        {
            Assert.True(mine.Count == 0, $"expected no card, got: {text}");
            return;
        }

        var card = Assert.Single(mine)!;
        var said = $"{card["summary"]}\n{card["detail"]}";
        Assert.True(expected.Topic == (string)card["source"]!["topic"]!["code"]!, $"topic {card["source"]!["topic"]!["code"]} ≠ {expected.Topic}: {said}");
        Assert.True(expected.Indicator == (string)card["indicator"]!, $"indicator {card["indicator"]} ≠ {expected.Indicator}: {said}");
        Assert.True(said.Contains(expected.Says, StringComparison.Ordinal), $"'{expected.Says}' not in: {said}");
        // What a check found is never the part of the summary that is cut.
        Assert.False(((string)card["summary"]!).EndsWith('…'), $"summary cut: {card["summary"]}");
        Assert.True(expected.SummaryEnds is null || ((string)card["summary"]!).EndsWith(expected.SummaryEnds, StringComparison.Ordinal),
            $"summary does not end '{expected.SummaryEnds}': {card["summary"]}");
        // The summary names the first finding and counts the others ("(+1 more)"), each a line of the detail: a second check
        // not made is never hidden behind the first.
        var more = System.Text.RegularExpressions.Regex.Match((string)card["summary"]!, @" \(\+(\d+) more\)$");
        var findings = ((string)card["detail"]!).Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^- (\*\*[A-Za-z ]+\*\*|Caution): "));
        Assert.True((more.Success ? 1 + int.Parse(more.Groups[1].Value, CultureInfo.InvariantCulture) : 1) == findings, $"{findings} findings in the detail: {said}");
        if (expected.Indicator != "info")
        {
            // A warning always offers to remove the draft.
            Assert.Contains(card["suggestions"]!.AsArray(), s => ((string)s!["label"]!).StartsWith("Remove the ", StringComparison.Ordinal));
        }
    }
}

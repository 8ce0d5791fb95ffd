namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// Medication safety on records this project never generated: the twenty Synthea patients of <c>../shared</c>, their
/// dates moved so that each one's latest observation was a month ago (as an EHR integrator would test them), each
/// ordered metformin at order-sign with their record prefetched as an EHR holds it. What each card must say is worked
/// out here from the raw resources: the latest eGFR in whatever unit Synthea wrote it, or that none was recorded.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed partial class SyntheaSafetyTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private const string MetforminName = "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet";

    [Fact]
    public async Task GivenTheSyntheaPatients_WhenMetforminIsSigned_ThenLowEgfrInAnyUnitIsACardAndNoKidneyFunctionIsACardNeverSilence()
    {
        var files = Directory.GetFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json");
        Assert.Equal(20, files.Length);
        int contraindicated = 0, notChecked = 0, inMlPerMinute = 0;
        foreach (var file in files)
        {
            var (patientId, resources) = Shifted(await File.ReadAllTextAsync(file, Ct));
            var latest = LatestEgfr(resources);
            var call = Call(patientId, resources);

            var (status, body, text) = await Cds.OrderCheckAsync(fixture.Server.Client, call, Ct);

            Assert.True(status == 200, $"{Path.GetFileName(file)}: {text}");
            CardRules.AssertValidResponse(body);
            var card = Cds.Cards(body).SingleOrDefault(c => ((string?)c!["detail"] ?? "").Contains("(draft order MedicationRequest/draft-metformin)", StringComparison.Ordinal));
            var said = card is null ? "" : $"{card["summary"]}\n{card["detail"]}";
            var hasCreatinine = resources.Any(r => Code(r) is "2160-0" or "38483-4" or "14682-9");
            if (latest is { Value: < 30 } low)
            {
                contraindicated++;
                Assert.True(card is not null && (string)card["indicator"]! == "warning" && (string)card["source"]!["topic"]!["code"]! == "order-contraindication",
                    $"{Path.GetFileName(file)}: eGFR {low.Value} {low.Unit}, expected a contraindication card: {said}");
                Assert.Contains($"contraindicated: eGFR {Math.Round(low.Value).ToString(CultureInfo.InvariantCulture)} mL/min/1.73 m²", said, StringComparison.Ordinal);
                if (low.Unit == "mL/min")
                {
                    inMlPerMinute++;
                    Assert.Contains("reported in mL/min and read as mL/min/1.73 m²", said, StringComparison.Ordinal);
                }
            }
            else if (latest is null && !hasCreatinine)
            {
                notChecked++;
                Assert.True(card is not null && (string)card["source"]!["topic"]!["code"]! == "order-not-checked",
                    $"{Path.GetFileName(file)}: no kidney function recorded, expected a 'could not check' card: {said}");
                Assert.Contains("kidney function (eGFR) not checked: no eGFR or serum creatinine recorded", said, StringComparison.Ordinal);
            }
            else
            {
                // A readable eGFR, or one HealthRec computed from creatinine: the check was made.
                Assert.DoesNotContain("kidney function (eGFR) not checked", said, StringComparison.Ordinal);
                if (latest is null && said.Contains("eGFR", StringComparison.Ordinal))
                {
                    Assert.Contains("computed by HealthRec from serum creatinine", said, StringComparison.Ordinal);
                }
            }
        }

        // The data hold three eGFRs below 30, all in mL/min, and patients with no kidney function recorded at all.
        Assert.Equal(3, contraindicated);
        Assert.Equal(3, inMlPerMinute);
        Assert.True(notChecked >= 3, $"{notChecked} patients without kidney function");
    }

    [Fact]
    public async Task GivenTheSyntheaPatients_WhenPatientViewIsCalled_ThenEveryAscvdFigureIsWithinTwofoldOfPreventFromTheRawRecord_OrTheCardSaysWhyNone()
    {
        var files = Directory.GetFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json");
        Assert.Equal(20, files.Length);
        int figures = 0, none = 0;
        foreach (var file in files)
        {
            var (patientId, resources) = Shifted(await File.ReadAllTextAsync(file, Ct));
            var call = Call(patientId, resources);
            call["hook"] = "patient-view";
            ((JsonObject)call["context"]!).Remove("draftOrders");

            var (status, body, text) = await Cds.PatientViewAsync(fixture.Server.Client, call, Ct);

            Assert.True(status == 200, $"{Path.GetFileName(file)}: {text}");
            CardRules.AssertValidResponse(body);
            var card = Cds.Cards(body).SingleOrDefault(c => Cds.Topic(c) == "risk-ascvd-10y");
            if (card is null)
            {
                continue;
            }

            var summary = (string)card["summary"]!;
            if (summary.Contains("not estimated", StringComparison.Ordinal))
            {
                none++;
                Assert.Matches(@"gives no number for this patient:\n\n- \S", (string)card["detail"]!);
                continue;
            }

            figures++;
            var shown = double.Parse(PercentRegex().Match(summary).Groups[1].Value, CultureInfo.InvariantCulture) / 100;
            var independent = PreventFromRaw(resources);
            Assert.True(independent is not null, $"{Path.GetFileName(file)}: a figure ({summary}) where the raw record lacks PREVENT's inputs");
            Assert.InRange(shown / independent!.Value, 0.5, 2.0);
        }

        // On these records: one figure shown (the others low, or without the equation's inputs: those say so).
        Assert.True(figures >= 1 && figures + none >= 3, $"{figures} figures, {none} not estimated: the check would be nearly empty");
    }

    // PREVENT (ASCVD) worked out here from the raw resources, without HealthRec's reading of them: the latest total and HDL
    // cholesterol (LOINC 2093-3, 2085-9), systolic pressure (8480-6, in the blood-pressure panel), eGFR (33914-3, either
    // unit), current smoking (72166-2), type 2 diabetes (SNOMED 44054006); treatment is left out (it moves the risk far
    // less than twofold).
    private static double? PreventFromRaw(List<JsonNode> resources)
    {
        var patient = resources.Single(r => (string)r["resourceType"]! == "Patient");
        var now = DateTimeOffset.UtcNow;
        var age = (now - Parse((string)patient["birthDate"]!)).TotalDays / 365.25;
        double? Latest(string code)
        {
            var values = new List<(DateTimeOffset At, double Value)>();
            foreach (var r in resources.Where(r => (string)r["resourceType"]! == "Observation" && r["effectiveDateTime"] is not null))
            {
                var at = Parse((string)r["effectiveDateTime"]!);
                if (Code(r) == code && r["valueQuantity"] is { } q)
                {
                    values.Add((at, (double)q["value"]!));
                }

                foreach (var component in r["component"]?.AsArray() ?? [])
                {
                    if ((string?)component!["code"]?["coding"]?[0]?["code"] == code && component["valueQuantity"] is { } cq)
                    {
                        values.Add((at, (double)cq["value"]!));
                    }
                }
            }

            return values.Count == 0 ? null : values.MaxBy(v => v.At).Value;
        }

        if (Latest("2093-3") is not { } tc || Latest("2085-9") is not { } hdl || Latest("8480-6") is not { } sbp || Latest("33914-3") is not { } egfr)
        {
            return null;
        }

        var smoking = resources.Where(r => Code(r) == "72166-2" && r["effectiveDateTime"] is not null)
            .MaxBy(r => Parse((string)r["effectiveDateTime"]!))?["valueCodeableConcept"]?["coding"]?[0]?["code"]?.ToString();
        var diabetic = resources.Any(r => (string)r["resourceType"]! == "Condition" && (string?)r["code"]?["coding"]?[0]?["code"] == "44054006");
        return Clinical.Risk.PreventEquations.TenYearRisk(Clinical.Risk.PreventOutcome.Ascvd, new Clinical.Risk.PreventInputs(
            (string)patient["gender"]! == "female", age, tc, hdl, sbp, 25, egfr, false, false, smoking is "449868002" or "428041000124106", diabetic));
    }

    [GeneratedRegex(@"(\d+(?:\.\d)?)%")]
    private static partial Regex PercentRegex();

    private static JsonObject Call(string patientId, List<JsonNode> resources)
    {
        JsonNode? Searchset(Func<JsonNode, bool> matches)
        {
            var found = resources.Where(matches).ToList();
            return found.Count == 0 ? null : new JsonObject
            {
                ["resourceType"] = "Bundle",
                ["type"] = "searchset",
                ["entry"] = new JsonArray([.. found.Select(r => (JsonNode)new JsonObject { ["resource"] = r.DeepClone() })]),
            };
        }

        bool Of(JsonNode r, string type) => (string)r["resourceType"]! == type;
        var draft = new JsonObject
        {
            ["resourceType"] = "MedicationRequest",
            ["id"] = "draft-metformin",
            ["status"] = "draft",
            ["intent"] = "order",
            ["medicationCodeableConcept"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm", ["code"] = "860975", ["display"] = MetforminName }),
                ["text"] = MetforminName,
            },
            ["subject"] = new JsonObject { ["reference"] = $"Patient/{patientId}" },
        };
        return new JsonObject
        {
            ["hook"] = "order-sign",
            ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject
            {
                ["userId"] = "Practitioner/example",
                ["patientId"] = patientId,
                ["draftOrders"] = new JsonObject { ["resourceType"] = "Bundle", ["type"] = "collection", ["entry"] = new JsonArray(new JsonObject { ["resource"] = draft }) },
            },
            ["prefetch"] = new JsonObject
            {
                ["patient"] = resources.Single(r => Of(r, "Patient")).DeepClone(),
                ["observations"] = Searchset(r => Of(r, "Observation")),
                ["conditions"] = Searchset(r => Of(r, "Condition")),
                ["medicationStatements"] = null,
                ["medicationRequests"] = Searchset(r => Of(r, "MedicationRequest")),
                ["encounters"] = Searchset(r => Of(r, "Encounter")),
                ["questionnaireResponses"] = null,
                ["allergies"] = Searchset(r => Of(r, "AllergyIntolerance")),
            },
        };
    }

    private static string? Code(JsonNode resource) =>
        (string?)resource["resourceType"] == "Observation" ? (string?)resource["code"]?["coding"]?[0]?["code"] : null;

    // The latest eGFR (LOINC 33914-3) as Synthea wrote it: value, unit, date.
    private static (double Value, string Unit, string At)? LatestEgfr(List<JsonNode> resources) => resources
        .Where(r => Code(r) == "33914-3")
        .Select(r => ((double)r["valueQuantity"]!["value"]!, (string)r["valueQuantity"]!["code"]!, (string)r["effectiveDateTime"]!))
        .OrderBy(o => DateTimeOffset.Parse(o.Item3, CultureInfo.InvariantCulture))
        .Select(o => ((double, string, string)?)o)
        .LastOrDefault();

    // The bundle's resources with every date moved by whole days so that the latest observation was 30 days ago.
    private static (string PatientId, List<JsonNode> Resources) Shifted(string bundle)
    {
        var latest = JsonNode.Parse(bundle)!["entry"]!.AsArray().Select(e => e!["resource"]!)
            .Where(r => (string)r["resourceType"]! == "Observation" && r["effectiveDateTime"] is not null)
            .Select(r => Parse((string)r["effectiveDateTime"]!)).DefaultIfEmpty(DateTimeOffset.UtcNow.AddDays(-30)).Max();
        var days = Math.Floor((DateTimeOffset.UtcNow.AddDays(-30) - latest).TotalDays);
        var shifted = DateRegex().Replace(bundle, m =>
        {
            var value = m.Groups[1].Value;
            var moved = Parse(value).AddDays(days);
            return value.Length == 10
                ? $"\"{moved.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}\""
                : $"\"{moved.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}\"";
        });
        var resources = JsonNode.Parse(shifted)!["entry"]!.AsArray().Select(e => e!["resource"]!.DeepClone()).ToList();
        return ((string)resources.Single(r => (string)r["resourceType"]! == "Patient")["id"]!, resources);
    }

    private static DateTimeOffset Parse(string value) => value.Length == 10
        ? new DateTimeOffset(DateTime.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture), TimeSpan.Zero)
        : DateTimeOffset.Parse(value, CultureInfo.InvariantCulture);

    // A JSON string holding a full date or date-time (every dated element Synthea writes).
    [GeneratedRegex("\"(\\d{4}-\\d{2}-\\d{2}(?:T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2}))?)\"")]
    private static partial Regex DateRegex();
}

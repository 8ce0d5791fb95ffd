using Hl7.Fhir.Model;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// The CDS Hooks 2.0 rules for a service response, checked on the JSON as a client receives it: no null or empty
/// value anywhere; a cards array; each card with a uuid, a summary under 140 characters, an indicator of info, warning
/// or critical, a source with a label; selectionBehavior exactly when there are suggestions; suggestions with a label,
/// a uuid and actions of a known type (create with a resource that is valid FHIR R4 against the base profiles, delete
/// with a resourceId); override reasons as Codings with a display; links with a label, an absolute url and a type of
/// absolute or smart, appContext only on smart links.
/// </summary>
internal static class CardRules
{
    // The core definitions and the profiles resources claim (AI Transparency's, for what a model influenced).
    private static Lazy<Validator> FhirValidator => ProfileValidation.Validator;

    public static void AssertValidResponse(JsonNode? body)
    {
        Assert.NotNull(body);
        AssertNoNullOrEmpty(body, "$");
        var cards = Assert.IsType<JsonArray>(body["cards"]);
        Assert.True(cards.Count <= 3, $"{cards.Count} cards: at most three per call");
        foreach (var card in cards)
        {
            AssertValidCard(card!);
        }
    }

    private static void AssertValidCard(JsonNode card)
    {
        Assert.True(Guid.TryParse((string?)card["uuid"], out _), "card.uuid");
        var summary = (string)card["summary"]!;
        Assert.InRange(summary.Length, 1, 139);
        Assert.Contains((string)card["indicator"]!, new[] { "info", "warning", "critical" });
        Assert.False(string.IsNullOrWhiteSpace((string?)card["source"]?["label"]), "card.source.label");
        if (card["source"]!["url"] is { } sourceUrl)
        {
            Assert.True(Uri.TryCreate((string)sourceUrl!, UriKind.Absolute, out _), "card.source.url is absolute");
        }

        var suggestions = card["suggestions"]?.AsArray();
        Assert.Equal(suggestions is not null, card["selectionBehavior"] is not null);
        if (suggestions is not null)
        {
            Assert.Contains((string)card["selectionBehavior"]!, new[] { "at-most-one", "any" });
            foreach (var suggestion in suggestions)
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)suggestion!["label"]), "suggestion.label");
                Assert.True(Guid.TryParse((string?)suggestion["uuid"], out _), "suggestion.uuid");
                foreach (var action in suggestion["actions"]!.AsArray())
                {
                    AssertValidAction(action!);
                }
            }
        }

        foreach (var reason in card["overrideReasons"]?.AsArray() ?? [])
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)reason!["display"]), "overrideReason.display");
            Assert.False(string.IsNullOrWhiteSpace((string?)reason["code"]), "overrideReason.code");
        }

        foreach (var link in card["links"]?.AsArray() ?? [])
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)link!["label"]), "link.label");
            Assert.True(Uri.TryCreate((string?)link["url"], UriKind.Absolute, out _), "link.url is absolute");
            var type = (string)link["type"]!;
            Assert.Contains(type, new[] { "absolute", "smart" });
            Assert.True(type == "smart" || link["appContext"] is null, "appContext only on smart links");
        }
    }

    private static void AssertValidAction(JsonNode action)
    {
        var type = (string)action["type"]!;
        Assert.Contains(type, new[] { "create", "update", "delete" });
        Assert.False(string.IsNullOrWhiteSpace((string?)action["description"]), "action.description");
        if (type == "delete")
        {
            Assert.Matches("^[A-Za-z]+/[A-Za-z0-9\\-.]{1,64}$", (string)action["resourceId"]!);
            return;
        }

        var resource = AssertValidFhir(action["resource"]!);
        if (resource is MedicationRequest request)
        {
            Assert.Equal(MedicationRequest.MedicationRequestIntent.Proposal, request.Intent);
        }
        else
        {
            Assert.Equal(RequestIntent.Proposal, Assert.IsType<ServiceRequest>(resource).Intent);
        }
    }

    /// <summary>Parses the resource strictly and validates it against the R4 base profiles and those it claims: no errors.</summary>
    public static Resource AssertValidFhir(JsonNode json)
    {
        var report = new IngestionReport();
        var resource = FhirJson.TryParse(json.ToJsonString(), "action.resource", report, FhirParsing.Strict);
        Assert.True(resource is not null, string.Join("; ", report.AllExamples.Select(p => p.Message)));
        var errors = FhirValidator.Value.Validate(resource).Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal).ToList();
        Assert.True(errors.Count == 0, string.Join(" | ", errors.Select(e => $"{e.Details?.Text} at {string.Join(",", e.Expression)}")));
        return resource;
    }

    // CDS Hooks 2.0, "Use of JSON": null, "", [] and {} are prohibited except the response's empty cards array.
    private static void AssertNoNullOrEmpty(JsonNode? node, string path)
    {
        switch (node)
        {
            case null:
                Assert.Fail($"{path} is null");
                break;
            case JsonObject obj:
                Assert.True(obj.Count > 0 || path.Contains(".resource", StringComparison.Ordinal), $"{path} is an empty object");
                foreach (var (name, value) in obj)
                {
                    AssertNoNullOrEmpty(value, $"{path}.{name}");
                }

                break;
            case JsonArray array:
                Assert.True(array.Count > 0 || path == "$.cards", $"{path} is an empty array");
                for (var i = 0; i < array.Count; i++)
                {
                    AssertNoNullOrEmpty(array[i], $"{path}[{i}]");
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                Assert.False(string.IsNullOrEmpty((string?)value), $"{path} is an empty string");
                break;
        }
    }
}
